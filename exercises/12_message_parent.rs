//! # Exercise 12: continue a trace from a message: set the parent before the span starts
//!
//! Practises: `lessons/concepts.md`, "Parent and context" and "Span kinds" (a PRODUCER and its
//! CONSUMER), with `tracing` spans instead of the OpenTelemetry API.
//!
//! order-service publishes an order to a queue; fulfilment takes it from there. The message
//! carries the producer's context in its headers, as a request carries `traceparent`. The
//! consumer's span is a `tracing` span, whose OpenTelemetry parent `set_parent` sets, but only
//! until the span has started: entering it starts it, and from then on tracing-opentelemetry
//! refuses ("Span has already been started, cannot set parent"). The refusal is a `Result`, and
//! `let _ =` drops it: the consumer's span quietly starts a trace of its own.
//!
//! Check it: `scripts/exercise.sh 12`. Start again: `scripts/exercise.sh --reset 12`.

use opentelemetry::global;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::lab::Message;

/// Fulfils the order in `message`, in a CONSUMER span of the producer's trace.
pub fn process(message: &Message) {
    let span = tracing::info_span!("process order", otel.kind = "consumer", order.id = %message.order_id);
    let _entered = span.enter();
    tracing::info!("fulfilling the order");
    // YOUR PART: the span above must continue the producer's trace. This sets its parent too
    // late, and drops the refusal: move it to where it is taken, and say it when it is refused.
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&message.headers));
    let _ = span.set_parent(parent);
}
