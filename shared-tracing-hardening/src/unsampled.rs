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
//! Edge spans are left to the SDK: it asks the same sampler, and an edge span it drops is never
//! recorded; what is saved here is the bridge's and the registry's work for every `tracing` span.
//!
//! Only for an unsampled parent: a root, or a sampled parent's child, goes to the bridge and the
//! SDK as usual (the SDK's sampler sees the span's name, kind and attributes there). The samplers
//! `OTEL_TRACES_SAMPLER` can name decide from the parent and the trace id alone, so asking with
//! the span's name and no attributes gives the answer the SDK would give; `always_on`, which
//! records the children of an unsampled parent, still gets every span.

use opentelemetry::{
    Context as OtelContext,
    trace::{SpanKind, TraceContextExt as _},
};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
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
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;

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
}
