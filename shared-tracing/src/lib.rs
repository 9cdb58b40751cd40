//! Telemetry for the checkout services: everything that knows about OpenTelemetry lives here,
//! so the services themselves only start spans and log events.
//!
//! # Layout
//! - [`config`]: the standard `OTEL_*` variables, parsed once.
//! - [`telemetry`]: [`init`] (logs + propagation + OTLP export) and the [`Telemetry`] handle whose
//!   [`Telemetry::shutdown`] flushes every finished span.
//! - [`edge`]: edge spans (SERVER, CLIENT, a remote system's) with the OpenTelemetry API, and
//!   which API makes which span.
//! - [`bridge`]: `tracing` spans (the services' internal work) as OpenTelemetry spans, through
//!   tracing-opentelemetry.
//! - [`span_events`]: `tracing` events right under an edge span become that span's events.
//! - [`logging`]: log lines that carry `trace_id` and `span_id`.
//! - [`propagation`]: W3C `traceparent` / `tracestate` / `baggage` (the only module that touches them).
//! - [`inbound`]: an axum layer making one SERVER span per request.
//! - [`outbound`]: a reqwest client making one CLIENT span per call and injecting its context.
//! - [`hardening`] (a first reading can skip it): the export queue watched, new traces shed while it
//!   is full or the collector fails, a redaction rule applied to every span and log line.
//! - [`card_data`]: the rule that masks card numbers and tokens.
//! - [`remote`]: spans for a simulated remote system under its own `service.name` (the fake Stripe).
//! - [`scenario`]: teaching scenarios chosen per request by W3C baggage, stamped on every span.
//! - [`server`]: serving with graceful shutdown on SIGTERM / Ctrl-C.
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

pub mod bridge;
pub mod card_data;
pub mod config;
pub mod downstream;
pub mod edge;
pub mod error_body;
pub mod hardening;
pub mod idempotency;
pub mod inbound;
pub mod json;
pub mod logging;
pub mod outbound;
pub mod propagation;
pub mod remote;
pub mod scenario;
pub mod sensitive;
pub mod server;
pub mod settings;
pub mod simulate;
pub mod span_events;
pub mod telemetry;

pub use config::TelemetryConfig;
pub use edge::EdgeTracer;
pub use telemetry::{NextProcessor, Telemetry, TelemetryBuilder, TelemetryError, init};
