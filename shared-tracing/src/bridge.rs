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
/// Every setting that differs from the crate's defaults turns an attribute or a clock read off,
/// and each was measured with `scripts/bench-instructions.sh` (instructions per request of the
/// benchmark, fully sampled; BENCHMARKS.md has the runs): with these settings about 1.06 M, with
/// the crate's defaults about 1.2 M.
/// - **no source location** (`code.file.path`, `code.module.name`, `code.line.number`) and **no
///   `target`**: together about 85 k instructions per request (7%), mostly the exporter turning
///   four more attributes per span into protobuf. An `#[instrument]`ed span is named after its
///   function already; turn `with_location` back on to send a reader of the trace to the line;
/// - **no thread attributes** (`thread.id`, `thread.name`) and **no inactivity tracking**
///   (`busy_ns`, `idle_ns`): together about 60 k instructions per request (5%). An async task
///   moves between worker threads, so the thread a span started on says little; inactivity
///   tracking reads the clock on every poll of an instrumented future, and a span's duration
///   already says how long it took.
///
/// Context activation stays on (the crate's default): it is what makes an edge span started
/// inside a `tracing` span that span's child.
pub fn layer<S>(tracer: SdkTracer) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_target(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
}
