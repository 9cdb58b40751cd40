//! gateway: the public edge of the checkout demo.
//!
//! `POST /api/checkout` → parse the body into domain types (bad input stops here with a 4xx) →
//! CLIENT span `POST /orders` to order-service → `201` with the order, its `trace_id` and a
//! `trace_url` that opens the trace in Jaeger. Every answer carries a `traceresponse` header.
//!
//! # Layout
//! - [`config`]: settings from the environment, read once in `main`.
//! - [`startup`]: the router, and [`startup::build`], which binds it into a ready server.
//! - [`edge`]: the caller's context at the edge: allow-listed baggage only, `?scenario=` as baggage.
//! - [`state`]: [`state::AppState`], what every handler can reach (built by `startup`).
//! - [`domain`]: parse-don't-validate newtypes for a checkout (`CustomerId`, `Sku`, `Quantity`…).
//! - [`checkout`]: the `POST /api/checkout` handler.
//! - [`error`]: [`error::AppError`], how every failure becomes a JSON answer.
//! - [`page`]: `GET /`, the teaching page (a button per scenario, a row and a trace link per click).

pub mod checkout;
pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod page;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::{build, router};

/// This service's `service.name`.
pub const SERVICE_NAME: &str = "gateway";
