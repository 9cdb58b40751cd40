//! In-process tests of the spans shared-tracing makes: a router and a client running in the test,
//! spans caught by an in-memory exporter, no process started.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod context_crossing;
mod lesson_path;
