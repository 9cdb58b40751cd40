//! The repository's checks, as rust-analyzer keeps `xtask/src/tidy.rs`: tests that start nothing
//! and only read files, each keeping one document or config true. `cargo test --workspace` runs
//! them with everything else; `cargo test -p checks` runs them alone, in seconds.
//!
//! # Layout
//! - [`compose`]: docker-compose.yml read as Docker Compose reads it (also used by the
//!   end-to-end docs test, which checks the pages' `docker compose` commands against it).
//! - `architecture`: ARCHITECTURE.md against the workspace (`cargo metadata`) and the modules.
//! - `compose_file`: docker-compose.yml and the Dockerfile against the services' contract.
//! - `jaeger_config`: `jaeger/*.yaml` against the pinned Jaeger's components and compose.
//! - `kubernetes`: `deploy/kubernetes/` rendered and validated, then against compose.
//! - `workflow`: the hosted-runner workflow against GitHub's schema, its scripts shellchecked.
//!
//! The tests that start the real binaries are the `e2e` crate's; each service's own are in the
//! service.

// Test support: a file that is not where it should be is the failure, and a panic reports it.
#![allow(clippy::unwrap_used)]

pub mod compose;

#[cfg(test)]
mod architecture;
#[cfg(test)]
mod compose_file;
#[cfg(test)]
mod jaeger_config;
#[cfg(test)]
mod kubernetes;
#[cfg(test)]
mod workflow;

use std::path::PathBuf;

/// The repository's root (this crate's parent directory).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}
