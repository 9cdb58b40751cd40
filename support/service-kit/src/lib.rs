//! The HTTP plumbing every checkout service shares, none of it tracing: serving with graceful
//! shutdown, settings from the environment, the JSON error body, a JSON extractor whose rejections
//! use it, mapping a failed downstream call to 502/503/504, and idempotency keys.
//!
//! # Layout
//! - [`server`]: a hardened serve loop (header timeout, body limit, request timeout) that drains
//!   on SIGTERM / Ctrl-C, and [`server::Server`], what a service's `build` returns.
//! - [`linger`]: a body left unread by an early answer is read after it (lingering close).
//! - [`settings`]: a service's typed settings, read once from the environment.
//! - [`error_body`]: `{"error": {"code", "message", "trace_id"}}`, the shape of every error.
//! - [`json`]: [`json::ApiJson`], axum's JSON extractor with rejections in that shape.
//! - [`downstream`]: a failed or refused call to another service, as the answer to give.
//! - [`idempotency`]: the `Idempotency-Key` header.
//! - [`exit`]: the exit status a service binary ends with.
//!
//! Depends on shared-tracing (the error body carries the trace id; downstream errors come from
//! its traced client) and on nothing of the checkout.

pub mod downstream;
pub mod error_body;
pub mod exit;
pub mod idempotency;
pub mod json;
pub mod linger;
pub mod server;
pub mod settings;
