//! Hardening (a first reading can skip this file): a `tracing` span that the sampler would drop
//! is not bridged at all.
//!
//! tracing-opentelemetry makes an OpenTelemetry span for every `tracing` span it is given, and
//! only then does the SDK's sampler say whether it is recorded. For a span whose parent is not
//! sampled, the default `parentbased_*` samplers always say no, and the bridge's work (a span
//! builder, its attributes, a non-recording span) is thrown away: with 10% sampling that is 90%
//! of the internal spans, and while the collector is down (new traces are not sampled: see
//! [`super::shedding`]) all of them. This per-layer filter asks the sampler first, before the
//! `tracing` span reaches the bridge, exactly as the SDK would ask it: the bridge then never sees
//! the span, the current context stays the unsampled parent's, and so do the spans inside.
//!
//! Only for an unsampled parent: a root, or a sampled parent's child, goes to the bridge and the
//! SDK as usual (the SDK's sampler sees the span's name, kind and attributes there). The samplers
//! `OTEL_TRACES_SAMPLER` can name decide from the parent and the trace id alone, so asking with
//! the span's name and no attributes gives the answer the SDK would give; `always_on`, which
//! records the children of an unsampled parent, still gets every span.

use opentelemetry::trace::{SpanKind, TraceContextExt as _};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use tracing::{Metadata, subscriber::Interest};
use tracing_subscriber::layer::{Context, Filter};

/// Lets through every event, and every span the sampler would not drop for its parent's sake.
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
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let parent = span.span_context();
            parent.is_valid()
                && !parent.is_sampled()
                && self
                    .sampler
                    .should_sample(Some(cx), parent.trace_id(), name, &SpanKind::Internal, &[], &[])
                    .decision
                    == SamplingDecision::Drop
        })
    }
}

impl<S> Filter<S> for SampledOnly {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        !meta.is_span() || !self.dropped(meta.name())
    }

    /// Asked span by span: the answer depends on the context the span starts in.
    fn callsite_enabled(&self, _meta: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;

    fn under(flags: TraceFlags) -> opentelemetry::ContextGuard {
        opentelemetry::Context::new()
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
