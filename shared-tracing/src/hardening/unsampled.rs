//! Hardening (a first reading can skip this file): a span that the sampler would drop is not
//! made at all, neither a `tracing` span (not bridged) nor an edge span (not built).
//!
//! tracing-opentelemetry makes an OpenTelemetry span for every `tracing` span it is given, and
//! only then does the SDK's sampler say whether it is recorded. For a span whose parent is not
//! sampled, the default `parentbased_*` samplers always say no, and the bridge's work (a span
//! builder, its attributes, a non-recording span) is thrown away: with 10% sampling that is 90%
//! of the internal spans, and while the collector is down (new traces are not sampled: see
//! [`super::shedding`]) all of them. [`SampledOnly`], a layer of its own, is a *global* filter
//! that asks the sampler first, exactly as the SDK would ask it, before the `tracing` span is made:
//! then neither the bridge nor the registry makes it, the current context stays the unsampled
//! parent's, and so do the spans inside. (As a per-layer filter it would only hide the span from
//! the bridge: the registry would still make it and enter and leave it on every poll. Measured:
//! BENCHMARKS.md.)
//!
//! Edge spans get the same question ([`SampledOnly::unsampled_child`], asked by
//! [`crate::EdgeTracer`] before it builds the span): a SERVER or CLIENT span of an unsampled
//! trace is given the context the SDK would give it (the parent's trace id, a new span id,
//! flags `00`, the parent's `tracestate`), so that `traceparent` still travels on, without its
//! name, attributes and SDK span.
//!
//! Only for an unsampled parent: a root, or a sampled parent's child, goes to the bridge and the
//! SDK as usual (the SDK's sampler sees the span's name, kind and attributes there). The samplers
//! `OTEL_TRACES_SAMPLER` can name decide from the parent and the trace id alone, so asking with
//! the span's name and no attributes gives the answer the SDK would give; `always_on`, which
//! records the children of an unsampled parent, still gets every span.

use opentelemetry::{
    Context as OtelContext,
    trace::{SpanContext, SpanKind, TraceContextExt as _},
};
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator, SamplingDecision, ShouldSample};
use tracing::{Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::layer::{Context, Layer};

/// Lets through every event, and every span the sampler would not drop for its parent's sake:
/// add it to the subscriber as a layer of its own.
#[derive(Debug, Clone)]
pub struct SampledOnly {
    sampler: Box<dyn ShouldSample>,
}

impl SampledOnly {
    /// Asks `sampler` (the provider's own) about each span whose parent is not sampled.
    pub fn new(sampler: Box<dyn ShouldSample>) -> Self {
        Self { sampler }
    }

    fn dropped(&self, name: &str) -> bool {
        OtelContext::map_current(|cx| self.drops_child_of(cx, name, SpanKind::Internal))
    }

    /// Whether the sampler drops a span `name` of `kind` started in `parent`, asked only when the
    /// parent is valid and not sampled.
    fn drops_child_of(&self, parent: &OtelContext, name: &str, kind: SpanKind) -> bool {
        let span = parent.span();
        let sc = span.span_context();
        sc.is_valid()
            && !sc.is_sampled()
            && self.sampler.should_sample(Some(parent), sc.trace_id(), name, &kind, &[], &[]).decision
                == SamplingDecision::Drop
    }

    /// For an edge span of `kind` the sampler would drop in `parent`: the context standing for it,
    /// a new span id in the parent's trace, unsampled, as the SDK would make it (but keeping the
    /// parent's `random` flag, which the SDK drops). `None` when the
    /// span is to be built (a root, a sampled parent, a sampler that ignores the parent).
    pub fn unsampled_child(&self, parent: &OtelContext, kind: SpanKind) -> Option<OtelContext> {
        if !self.drops_child_of(parent, "", kind) {
            return None;
        }
        let span = parent.span();
        let sc = span.span_context();
        let child = SpanContext::new(
            sc.trace_id(),
            RandomIdGenerator::default().new_span_id(),
            // Unsampled; W3C Level 2's `random` flag, where the parent has it, is kept.
            sc.trace_flags().with_sampled(false),
            false,
            sc.trace_state().clone(),
        );
        Some(parent.with_remote_span_context(child))
    }
}

/// As a layer of its own, a *global* filter: a span it refuses is not made at all, for any layer.
impl<S: Subscriber> Layer<S> for SampledOnly {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() { Interest::sometimes() } else { Interest::always() }
    }

    fn enabled(&self, meta: &Metadata<'_>, _cx: Context<'_, S>) -> bool {
        !meta.is_span() || !self.dropped(meta.name())
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;

    fn parent(flags: TraceFlags) -> OtelContext {
        OtelContext::new().with_remote_span_context(SpanContext::new(
            TraceId::from(1_u128),
            SpanId::from(2_u64),
            flags,
            true,
            TraceState::from_key_value([("vendor", "x")]).unwrap_or_default(),
        ))
    }

    fn under(flags: TraceFlags) -> opentelemetry::ContextGuard {
        OtelContext::new()
            .with_remote_span_context(SpanContext::new(
                TraceId::from(1_u128),
                SpanId::from(2_u64),
                flags,
                true,
                TraceState::default(),
            ))
            .attach()
    }

    #[test]
    fn a_span_under_an_unsampled_parent_is_not_bridged_unless_the_sampler_ignores_the_parent() {
        let parent_based = SampledOnly::new(Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))));
        let always_on = SampledOnly::new(Box::new(Sampler::AlwaysOn));
        {
            let _unsampled = under(TraceFlags::default());
            assert!(parent_based.dropped("validate_order"));
            assert!(!always_on.dropped("validate_order"), "always_on records it: it must be bridged");
        }
        {
            let _sampled = under(TraceFlags::SAMPLED);
            assert!(!parent_based.dropped("validate_order"));
        }
        assert!(!parent_based.dropped("a_root"), "a root goes to the SDK's sampler");
    }

    #[test]
    fn an_edge_span_under_an_unsampled_parent_gets_an_unsampled_context_of_its_own_in_the_same_trace() {
        let parent_based = SampledOnly::new(Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))));
        let cx = parent_based
            .unsampled_child(&parent(TraceFlags::default()), SpanKind::Client)
            .expect("not built");
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!((sc.trace_id(), sc.trace_flags()), (TraceId::from(1_u128), TraceFlags::default()));
        assert_ne!(sc.span_id(), SpanId::from(2_u64), "a span id of its own, for the next hop's parent");
        assert_eq!(sc.trace_state().header(), "vendor=x");
        // W3C Level 2: a trace continued keeps its `random` flag, sampled or not.
        let random = parent_based
            .unsampled_child(&parent(TraceFlags::new(0x02)), SpanKind::Client)
            .expect("not built");
        assert_eq!(random.span().span_context().trace_flags(), TraceFlags::new(0x02));
        assert!(!sc.is_remote(), "it stands for a span of this process");
        assert!(parent_based.unsampled_child(&parent(TraceFlags::SAMPLED), SpanKind::Client).is_none());
        assert!(
            parent_based.unsampled_child(&OtelContext::new(), SpanKind::Server).is_none(),
            "a root is built"
        );
        let always_on = SampledOnly::new(Box::new(Sampler::AlwaysOn));
        assert!(always_on.unsampled_child(&parent(TraceFlags::default()), SpanKind::Client).is_none());
    }
}
