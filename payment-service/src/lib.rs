//! payment-service: charges an order's total through a simulated Stripe.
//!
//! `POST /payments` → event "Processing payment" → `fraud_check` span → Stripe CLIENT span
//! (exported as `service.name=stripe`, so Jaeger shows Stripe as its own node) → event
//! "Payment succeeded" → `201`.
//!
//! # Layout
//! - [`config`]: settings from the environment, read once in `main`.
//! - [`startup`]: the router, and [`startup::build`], which binds it into a ready server.
//! - [`state`]: [`state::AppState`], what every handler can reach (built by `startup`).
//! - [`payments`]: the `POST /payments` handler and its request/response types.
//! - [`stripe`]: the simulated Stripe API client.
//! - [`ledger`]: Stripe's record of its charges, one per idempotency key, in a file of its own.
//! - [`error`]: [`error::AppError`], how every failure becomes a JSON answer.

pub mod config;
pub mod error;
pub mod ledger;
pub mod payments;
pub mod startup;
pub mod state;
pub mod stripe;

pub use config::Config;
pub use startup::{build, router};

/// This service's `service.name`.
pub const SERVICE_NAME: &str = "payment-service";
