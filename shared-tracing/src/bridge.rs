//! `tracing` spans as OpenTelemetry spans: the `tracing-opentelemetry` layer, set up once.
//!
//! Internal work in a service is an ordinary `tracing` span (`#[tracing::instrument]`,
//! `info_span!`); this layer makes each one an OpenTelemetry span of the same trace, with the
//! span's fields as attributes and the `tracing` events inside it as span events. The services
//! never see OpenTelemetry for their internal spans: this is how a codebase that is already full
//! of `tracing` joins a distributed trace.
//!
//! How context crosses between the two kinds of span (tracing-opentelemetry 0.34, `layer.rs`):
//! - a new `tracing` span takes `opentelemetry::Context::current()` as its parent, so one opened
//!   in a handler (which runs with the SERVER span attached: see [`crate::inbound`]) is the SERVER
//!   span's child;
//! - entering a `tracing` span attaches its OpenTelemetry context ("context activation"), so an
//!   edge span started inside it ([`crate::outbound`]'s CLIENT span, say) is *its* child, and log
//!   lines inside it carry its ids.
//!
//! Special fields say what the attributes cannot: `otel.name`, `otel.kind` (`"client"` for a
//! database query), `otel.status_code` and `otel.status_description`. Fields declared
//! `tracing::field::Empty` can be filled in later with `Span::record`.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// The layer, making spans with `tracer`. Give it [`crate::telemetry::span_filter`] (or a filter
/// of your own) so that only your spans become OpenTelemetry spans.
///
/// The settings that differ from the crate's defaults, each measured (BENCHMARKS.md):
/// - **no thread attributes** (`thread.id`, `thread.name`): an async task moves between worker
///   threads, so the thread a span started on says little, and the name costs an allocation per span;
/// - **no inactivity tracking** (`busy_ns`, `idle_ns`): two clock reads on every poll of an
///   instrumented future, and a span's duration already says how long it took;
/// - source locations stay on (`code.file.path`, `code.line.number`): they send a reader of the
///   trace straight to the line that opened the span.
pub fn layer<S>(tracer: SdkTracer) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(tracer).with_threads(false).with_tracked_inactivity(false)
}
