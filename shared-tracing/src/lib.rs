//! Telemetry for the checkout services: everything that knows about OpenTelemetry lives here,
//! so the services themselves only start spans and log events.
//!
//! # Layout
//! - [`config`]: the standard `OTEL_*` variables, parsed once.
//! - [`telemetry`]: [`init`] (logs + propagation + OTLP export) and the [`Telemetry`] handle whose
//!   [`Telemetry::shutdown`] flushes every finished span.
//! - [`export_queue`]: spans dropped when the collector cannot keep up, counted and reported.
//! - [`span`]: starting spans with the OpenTelemetry API, and running code inside them.
//! - [`span_events`]: `tracing` events inside a span become that span's events.
//! - [`logging`]: log lines that carry `trace_id` and `span_id`.
//! - [`propagation`]: W3C `traceparent` / `tracestate` / `baggage` (the only module that touches them).
//! - [`inbound`]: an axum layer making one SERVER span per request.
//! - [`outbound`]: a reqwest client making one CLIENT span per call and injecting its context.
//! - [`redact`]: card numbers and tokens masked in every exported span and log line.
//! - [`remote`]: spans for a simulated remote system under its own `service.name` (the fake Stripe).
//! - [`scenario`]: teaching scenarios chosen per request by W3C baggage, stamped on every span.
//! - [`server`]: serving with graceful shutdown on SIGTERM / Ctrl-C.
//! - [`service`]: [`service::service_main`], the life of a service binary (telemetry around serving).
//! - [`simulate`], [`settings`]: simulated latency; service settings read from the environment.
//! - [`error_body`], [`downstream`], [`json`], [`sensitive`]: the HTTP conventions every service
//!   shares: the JSON error body (with the trace id), mapping a failed call to 502/503/504, a JSON
//!   extractor whose rejections use the error body, and `CardToken`, which cannot be printed into
//!   a span or a log.
//!
//! # The life of a trace through these pieces
//! ```text
//! gateway   inbound SERVER span ─► outbound CLIENT span ──traceparent──►
//! order     inbound SERVER span (parent = gateway's CLIENT span) ─► … ─► outbound CLIENT span ──►
//! payment   inbound SERVER span ─► remote "stripe" CLIENT span (service.name = stripe)
//! ```

pub mod config;
pub mod downstream;
pub mod error_body;
pub mod export_queue;
pub mod idempotency;
pub mod inbound;
pub mod json;
pub mod logging;
pub mod outbound;
pub mod propagation;
pub mod redact;
pub mod remote;
pub mod scenario;
pub mod sensitive;
pub mod server;
pub mod service;
pub mod settings;
pub mod simulate;
pub mod span;
pub mod span_events;
pub mod telemetry;

pub use config::TelemetryConfig;
pub use telemetry::{Telemetry, TelemetryError, init};
