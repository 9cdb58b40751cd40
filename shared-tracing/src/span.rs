//! Making spans: the OpenTelemetry tracing API, used directly.
//!
//! Every span of the checkout (SERVER, CLIENT, database and INTERNAL spans) is an OpenTelemetry
//! span made here, and a request's code runs with its span's [`Context`] attached, so
//! `Context::current()` is always the innermost span. That one fact is what everything else
//! builds on: log lines take their `trace_id` from it ([`crate::logging`]), `tracing::info!`
//! events inside a request become events of that span ([`crate::span_events`]), and outgoing
//! calls inject it ([`crate::outbound`]).
//!
//! Why not `tracing` spans and the tracing-opentelemetry bridge? They work, and the first version
//! of this project used them. But every bridged span is made twice (a `tracing` span in the
//! subscriber's registry, then an OpenTelemetry span from it) and costs a clock read on every
//! poll; measured, the bridge was 30% of what tracing cost a checkout (see BENCHMARKS.md). Using
//! the OpenTelemetry API directly costs one span, and a reader sees the API that every
//! OpenTelemetry SDK shares.
//!
//! Three more things keep spans cheap: a span's name and attributes are built by a closure that
//! only runs when the span will be recorded; a span the sampler would drop (its parent is not
//! sampled) is not built at all; and while the export queue is full or the collector is failing,
//! a span is *shed*, not built either (see `Gate` and [`ActiveSpan::start`]).
//!
//! ```
//! use opentelemetry::{KeyValue, trace::SpanBuilder};
//! use shared_tracing::span;
//!
//! # async fn check_stock() {}
//! # async fn example() {
//! let check = || SpanBuilder::from_name("check_stock").with_attributes([KeyValue::new("product.sku", "SKU-1")]);
//! span::in_span(check, check_stock()).await;
//! # }
//! ```

use std::{future::Future, sync::Arc, sync::OnceLock};

use opentelemetry::{
    Context, KeyValue,
    context::{FutureExt as _, WithContext},
    trace::{
        SpanBuilder, SpanContext, SpanKind, SpanRef, Status, TraceContextExt as _, TraceFlags, Tracer as _,
    },
};
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, SamplingDecision, SdkTracer, ShouldSample,
};

use crate::export_queue::QueueGauge;

/// The tracer of this service, set once by [`crate::init`]. A process-wide tracer is what the
/// OpenTelemetry API itself offers (`global::tracer`); this one skips the global's per-call lock
/// and boxing. Unset (telemetry disabled, or `init` not called) means spans are not recorded.
static TRACER: OnceLock<ServiceTracer> = OnceLock::new();

#[derive(Debug)]
struct ServiceTracer {
    tracer: SdkTracer,
    gate: Gate,
}

/// Makes `tracer` the one every span of this process is started with, and `gate` what decides
/// which spans are not built. Only the first call counts.
pub(crate) fn install(tracer: SdkTracer, gate: Gate) {
    let _ = TRACER.set(ServiceTracer { tracer, gate });
}

/// Decides, before a span is built, that it will not be recorded, so that it need not be built:
/// no name, no attributes, no clock reads, no allocation beyond its context.
///
/// Two reasons, both known before the span exists:
/// - **Unsampled.** The parent is not sampled and the sampler drops its children. With the
///   default `parentbased_*` samplers that is every span of a trace the caller did not sample:
///   90% of the spans with `parentbased_traceidratio` at 0.1. The SDK would make a non-recording
///   span; the gate makes the same context (parent's trace id, a new span id, flags `00`, the
///   parent's `tracestate`) without the builder, the sampler's full call and the SDK's span.
/// - **Shed.** The export queue refuses spans (full, or the collector failing: see
///   [`crate::export_queue`]): the span could only be dropped when it ends. It is counted as
///   dropped, and keeps its parent's sampling flag so the services behind go on tracing.
#[derive(Debug)]
pub(crate) struct Gate {
    queue: Arc<QueueGauge>,
    /// The provider's own sampler (the same `OTEL_TRACES_SAMPLER` the provider was built with).
    sampler: Box<dyn ShouldSample>,
}

/// Why a span is not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotBuilt {
    Unsampled,
    Shed,
}

impl Gate {
    pub(crate) fn new(queue: Arc<QueueGauge>, sampler: Box<dyn ShouldSample>) -> Self {
        Self { queue, sampler }
    }

    /// `Some` when a span starting in `parent` is not to be built (a shed one is counted here).
    fn decide(&self, parent: &Context) -> Option<NotBuilt> {
        if self.sampler_drops(parent) {
            Some(NotBuilt::Unsampled)
        } else if self.queue.is_refusing() {
            self.queue.shed();
            Some(NotBuilt::Shed)
        } else {
            None
        }
    }

    /// Whether the sampler drops a child of `parent`, asked before the span exists. Only for an
    /// unsampled parent: a root or a sampled parent's child goes to the SDK, whose sampler sees the
    /// span's name, kind and attributes. The samplers `OTEL_TRACES_SAMPLER` can name decide from
    /// the parent and the trace id alone, so the empty name and attributes asked with here give
    /// the answer the SDK would give.
    fn sampler_drops(&self, parent: &Context) -> bool {
        let span = parent.span();
        let sc = span.span_context();
        sc.is_valid()
            && !sc.is_sampled()
            && self
                .sampler
                .should_sample(Some(parent), sc.trace_id(), "", &SpanKind::Internal, &[], &[])
                .decision
                == SamplingDecision::Drop
    }

    /// `decide`, and the context standing for the span that is not built.
    pub(crate) fn skip(&self, parent: &Context) -> Option<Context> {
        self.decide(parent).map(|why| parent.with_remote_span_context(not_built_context(parent, why)))
    }
}

/// A started span, and the context that holds it. The span ends when this is dropped, so a
/// request cancelled half-way (its future dropped) still ends its spans.
#[derive(Debug)]
#[must_use = "the span ends as soon as this is dropped"]
pub struct ActiveSpan {
    cx: Context,
    /// False when telemetry is off (then `cx` is the parent's context, passed on unchanged, as the
    /// OpenTelemetry API does without an SDK) and for a shed span: there is nothing to end.
    owned: bool,
}

impl ActiveSpan {
    /// Starts a span as a child of the span in `parent`; baggage in `parent` travels on in the new
    /// span's context. `builder` names the span and gives its first attributes; it is only called
    /// when telemetry is on, so with telemetry off a span costs no formatting and no allocation.
    ///
    /// A span that would not be recorded is not built (see `Gate`): a child the sampler drops
    /// because its parent is not sampled, and, while the export queue refuses spans (it is full,
    /// or exports are failing: the collector is down or far behind), a *shed* one, counted as
    /// dropped (see [`crate::export_queue`]). The trace still travels on: such a span gets ids like
    /// any other, and is injected into outgoing calls. A shed span keeps its parent's sampling flag
    /// (a trace that would start here is not sampled), so the services behind go on tracing.
    pub fn start(parent: &Context, builder: impl FnOnce() -> SpanBuilder) -> Self {
        let Some(service) = TRACER.get() else {
            return Self { cx: parent.clone(), owned: false };
        };
        if let Some(cx) = service.gate.skip(parent) {
            return Self { cx, owned: false };
        }
        Self { cx: parent.with_span(service.tracer.build_with_context(builder(), parent)), owned: true }
    }

    /// Starts a span as a child of the current span.
    pub fn start_in_current(builder: impl FnOnce() -> SpanBuilder) -> Self {
        Self::start(&Context::current(), builder)
    }

    /// The context holding this span (to attach, or to inject into an outgoing request).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The span itself.
    pub fn span(&self) -> SpanRef<'_> {
        self.cx.span()
    }

    /// Adds an attribute.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Marks the span failed: status ERROR with `description`, and the low-cardinality
    /// `error.type` the semantic conventions ask for.
    pub fn fail(&self, error_type: impl Into<opentelemetry::Value>, description: impl Into<String>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", error_type));
        span.set_status(Status::error(description.into()));
    }

    /// `future`, run with this span as the current one (attached on every poll).
    pub fn scope<F: Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.cx.clone())
    }

    /// Runs `future` in this span, then ends it.
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        self.scope(future).await
    }
}

impl Drop for ActiveSpan {
    fn drop(&mut self) {
        if self.owned {
            self.cx.span().end();
        }
    }
}

/// The context of a span that is not built, child of `parent`: a new span id in the parent's
/// trace (or, for a shed root, a new unsampled trace, so that no service records a trace without
/// its root). An unsampled span gets flags `00`, as the SDK gives it; a shed one keeps its
/// parent's, so the services behind still record the trace. It is marked local, not remote: it
/// stands for a span of this process.
fn not_built_context(parent: &Context, why: NotBuilt) -> SpanContext {
    let ids = RandomIdGenerator::default();
    let span = parent.span();
    let parent = span.span_context();
    if parent.is_valid() {
        let flags = if why == NotBuilt::Shed { parent.trace_flags() } else { TraceFlags::default() };
        SpanContext::new(parent.trace_id(), ids.new_span_id(), flags, false, parent.trace_state().clone())
    } else {
        SpanContext::new(
            ids.new_trace_id(),
            ids.new_span_id(),
            TraceFlags::default(),
            false,
            Default::default(),
        )
    }
}

/// Runs `future` inside a new span, child of the current one: the `#[instrument]` of this crate.
pub async fn in_span<F: Future>(builder: impl FnOnce() -> SpanBuilder, future: F) -> F::Output {
    match TRACER.get() {
        // Telemetry off: the current context (and its baggage) is already attached around us.
        None => future.await,
        // Not built (unsampled or shed): an INTERNAL span needs no ids of its own (nothing is
        // sent under them), so the future simply runs in the current span.
        Some(service) if Context::map_current(|cx| service.gate.decide(cx)).is_some() => future.await,
        Some(_) => ActiveSpan::start_in_current(builder).run(future).await,
    }
}

/// `attributes` as a span's first attributes, with room for the ones added later (the scenario
/// stamp, the outcome) so that adding them does not move the whole list.
pub fn attributes<const N: usize>(attributes: [KeyValue; N]) -> Vec<KeyValue> {
    let mut list = Vec::with_capacity(N + 4);
    list.extend(attributes);
    list
}

/// Adds an attribute to the current span (the request's SERVER span in a handler), if there is one.
pub fn set_attribute(attribute: KeyValue) {
    Context::map_current(|cx| cx.span().set_attribute(attribute));
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId, TraceState};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn remote_parent(flags: TraceFlags) -> Context {
        let state = TraceState::from_key_value([("vendor", "x")]).unwrap_or_default();
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(TRACE).unwrap_or(TraceId::INVALID),
            SpanId::from_hex(SPAN).unwrap_or(SpanId::INVALID),
            flags,
            true,
            state,
        ))
    }

    fn gate(capacity: usize, sampler: Sampler) -> Gate {
        Gate::new(QueueGauge::new("shop", capacity), Box::new(sampler))
    }

    fn ids(cx: &Context) -> (String, String, TraceFlags, String) {
        let span = cx.span();
        let sc = span.span_context();
        (sc.trace_id().to_string(), sc.span_id().to_string(), sc.trace_flags(), sc.trace_state().header())
    }

    #[test]
    fn a_child_of_an_unsampled_parent_is_not_built_and_carries_the_trace_on_unsampled() {
        let gate = gate(10, Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let cx = gate.skip(&remote_parent(TraceFlags::default())).expect("not built");
        let (trace, span, flags, state) = ids(&cx);
        assert_eq!((trace.as_str(), flags, state.as_str()), (TRACE, TraceFlags::default(), "vendor=x"));
        assert_ne!(span, SPAN, "a span id of its own");
        assert!(!cx.span().span_context().is_remote(), "it stands for a span of this process");
        assert_eq!(gate.queue.dropped(), 0, "an unsampled span is not a dropped one");
    }

    #[test]
    fn the_sdk_decides_for_roots_sampled_parents_and_samplers_that_ignore_the_parent() {
        let parent_based = gate(10, Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))));
        assert!(parent_based.skip(&Context::new()).is_none(), "a root: the ratio decides, in the SDK");
        assert!(parent_based.skip(&remote_parent(TraceFlags::SAMPLED)).is_none());
        // `always_on` samples a child of an unsampled parent: it must be built.
        let always_on = gate(10, Sampler::AlwaysOn);
        assert!(always_on.skip(&remote_parent(TraceFlags::default())).is_none());
    }

    #[test]
    fn a_span_starting_while_the_queue_refuses_is_shed_counted_and_keeps_its_parents_flag() {
        let gate = gate(0, Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let cx = gate.skip(&remote_parent(TraceFlags::SAMPLED)).expect("shed");
        let (trace, _, flags, _) = ids(&cx);
        assert_eq!(
            (trace.as_str(), flags),
            (TRACE, TraceFlags::SAMPLED),
            "the services behind still record it"
        );
        // A shed root starts a new trace, unsampled: no service records a trace without its root.
        let root = gate.skip(&Context::new()).expect("shed");
        let (trace, _, flags, _) = ids(&root);
        assert_ne!(trace, TRACE);
        assert_eq!(flags, TraceFlags::default());
        assert_eq!(gate.queue.dropped(), 2);
    }
}
