//! Distributed tracing for an axum service, and nothing else: what any service needs to take part
//! in a trace, from the `OTEL_*` variables to the flush at shutdown. It knows nothing of any one
//! service: a service adds its own span processors, and an [`telemetry::Extension`] such as
//! `shared-tracing-hardening`'s, through [`Telemetry::builder`].
//!
//! # Layout
//! The lesson path, in the order a request meets it:
//! - [`config`]: the standard `OTEL_*` variables, parsed once.
//! - [`telemetry`]: [`init`] / [`Telemetry::builder`] (logs + propagation + OTLP export) and the
//!   [`Telemetry`] handle whose [`Telemetry::shutdown`] flushes every finished span.
//! - [`export`]: where finished spans go (`OTEL_TRACES_EXPORTER`: OTLP, the console, none),
//!   and `tls`, the collector's certificate and the service's (with the `tls` feature).
//! - [`propagation`]: W3C `traceparent` / `tracestate` / `baggage` (the only module that touches them).
//! - [`inbound`]: an axum layer making one SERVER span per request.
//! - [`edge`]: edge spans (SERVER, CLIENT, a remote system's) with the OpenTelemetry API, and
//!   which API makes which span.
//! - [`bridge`]: `tracing` spans (a service's internal work) as OpenTelemetry spans, through
//!   tracing-opentelemetry.
//! - [`span_events`]: `tracing` events right under an edge span become that span's events.
//! - [`outbound`]: a reqwest client making one CLIENT span per call and injecting its context.
//! - [`remote`]: spans for a remote system that does not trace itself, under its own `service.name`.
//! - [`logging`]: log lines that carry `trace_id` and `span_id`.
//!
//! - Its test support is a crate of its own, `shared-tracing-testing`: spans in memory, for
//!   in-process tests of a service's trace.
//!
//! Off the lesson path, in a crate of its own above this one: `shared-tracing-hardening`
//! (the export queue watched, new traces shed while it is full or the collector fails, a
//! redaction rule on every span and log line, the edge's baggage allow-list, W3C headers read as
//! strictly as the official suite asks), which a service switches on with
//! `Telemetry::builder(config).with_extension(Hardening::default())`. This crate does not depend
//! on it: the compiler keeps the lesson path plain.
//!
//! Depends on the OpenTelemetry crates, `tracing`, axum and reqwest; nothing in the workspace
//! depends the other way round on anything but this crate's public API.
//!
//! # The life of a trace through these pieces
//! ```text
//! service A   inbound SERVER span ─► outbound CLIENT span ──traceparent──►
//! service B   inbound SERVER span (parent = A's CLIENT span) ─► `tracing` spans ─► CLIENT span ──►
//! service C   inbound SERVER span ─► remote system's CLIENT span (service.name = the system)
//! ```

pub mod bridge;
pub mod config;
pub mod edge;
pub mod error;
pub mod export;
pub mod inbound;
pub mod logging;
pub mod outbound;
pub mod propagation;
pub mod remote;
pub mod span_events;
pub mod telemetry;
mod tls;

pub use config::TelemetryConfig;
pub use edge::EdgeTracer;
pub use error::TelemetryError;
pub use telemetry::{Telemetry, TelemetryBuilder, init};
