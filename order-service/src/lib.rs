//! order-service: prices an order against a small catalog and charges it through payment-service.
//!
//! `POST /orders` → `validate_order` span (event "Validating order") → `inventory_and_pricing`
//! span → CLIENT span `POST /payments` (context injected) → `201` with the order.
//!
//! # Layout
//! - [`config`]: settings from the environment, read once in `main`.
//! - [`startup`]: the router, and [`startup::build`], which binds it into a ready server.
//! - [`state`]: [`state::AppState`], what every handler can reach (built by `startup`).
//! - [`orders`]: the `POST /orders` handler and its request/response types.
//! - [`catalog`]: the built-in product catalog (sku → price in cents).
//! - [`db`]: the SQLite order store, its connection pool and its query spans.
//! - [`in_flight`]: which orders this process is working on: an order still in progress from one
//!   whose attempt died.
//! - [`error`]: [`error::AppError`], how every failure becomes a JSON answer.
//! - [`mistakes`]: the instrumentation mistakes it makes on purpose, only for a request whose
//!   baggage asks for one (`mistake=<name>`), each called from where the right code is.

pub mod catalog;
pub mod config;
pub mod db;
pub mod error;
pub mod in_flight;
pub mod mistakes;
pub mod orders;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::{build, router};

/// This service's `service.name`.
pub const SERVICE_NAME: &str = "order-service";
