//! Load shedding as a sampler: while the export queue refuses spans (it is full, or the collector
//! is failing: see [`super::export_queue`]), a new trace is not sampled.
//!
//! A span that starts while the queue refuses could only be dropped when it ends: its attributes,
//! events and clock reads would be work thrown away, and a trace that loses spans at random tells
//! a false story. So the decision is made where the SDK makes it, when a *trace* starts: the root
//! is not sampled, and with the default `parentbased_*` samplers none of its children are, in this
//! service or any behind it (the `traceparent` they receive says "not sampled"). A span whose
//! parent is known follows its parent, so a trace that was sampled stays whole where there is
//! room for it; where there is not, the queue drops and counts what does not fit.

use std::sync::Arc;

use opentelemetry::{
    Context, KeyValue,
    trace::{Link, SpanKind, TraceContextExt as _, TraceId, TraceState},
};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::export_queue::QueueGauge;

/// The service's sampler (`OTEL_TRACES_SAMPLER`), with new traces shed while `queue` refuses spans.
#[derive(Debug, Clone)]
pub struct Shedding {
    inner: Box<dyn ShouldSample>,
    queue: Arc<QueueGauge>,
}

impl Shedding {
    /// `inner`, except that a root span is dropped while `queue` refuses spans.
    pub fn new(inner: Box<dyn ShouldSample>, queue: Arc<QueueGauge>) -> Self {
        Self { inner, queue }
    }
}

impl ShouldSample for Shedding {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let is_root = parent.is_none_or(|cx| !cx.span().span_context().is_valid());
        if is_root && self.queue.is_refusing() {
            // Counted with the dropped spans: the trace's root is one span that is not exported.
            self.queue.shed();
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: TraceState::default(),
            };
        }
        self.inner.should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;

    fn decide(sampler: &Shedding, parent: Option<&Context>) -> SamplingDecision {
        let trace_id = TraceId::from(7_u128);
        sampler.should_sample(parent, trace_id, "span", &SpanKind::Server, &[], &[]).decision
    }

    fn sampled_parent() -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(3_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn while_the_queue_refuses_new_traces_are_dropped_and_children_follow_their_parent() {
        let queue = QueueGauge::new("shop", 0);
        let sampler =
            Shedding::new(Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))), queue.clone());

        assert_eq!(decide(&sampler, None), SamplingDecision::Drop, "a new trace is shed");
        assert_eq!(decide(&sampler, Some(&Context::new())), SamplingDecision::Drop);
        assert_eq!(
            decide(&sampler, Some(&sampled_parent())),
            SamplingDecision::RecordAndSample,
            "a sampled trace stays whole"
        );
        assert_eq!(queue.dropped(), 2, "each shed root is counted");
    }

    #[test]
    fn with_room_in_the_queue_the_services_sampler_decides() {
        let queue = QueueGauge::new("shop", 10);
        let sampler = Shedding::new(Box::new(Sampler::AlwaysOff), queue.clone());
        assert_eq!(decide(&sampler, None), SamplingDecision::Drop);
        let sampler = Shedding::new(Box::new(Sampler::AlwaysOn), queue.clone());
        assert_eq!(decide(&sampler, None), SamplingDecision::RecordAndSample);
        assert_eq!(queue.dropped(), 0);
    }
}
