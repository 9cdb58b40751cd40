//! Exercise 12: a CONSUMER `tracing` span continues the producer's trace (its parent set before
//! it started).

use std::collections::HashMap;

use opentelemetry::{
    Context,
    trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use tracectl::model::{Kind, Span};

use super::{Exercise, Variant, find, span_end};
use crate::{
    lab::{Lab, Message},
    solutions, yours,
};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "12_message_parent.rs",
    title: "continue a trace from a message: set a span's parent before it starts",
    expected: "order-service  publish orders (PRODUCER)\n  fulfilment     process order (CONSUMER)",
    hint: "`span.set_parent(parent)` right after `info_span!`, before `span.enter()`; \
           `if let Err(refused) = ...` says a refusal instead of dropping it",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let mut lab = Lab::new("fulfilment");
    let producer = lab.other("order-service").tracer("order-service");
    let publish = producer.span_builder("publish orders").with_kind(SpanKind::Producer).start(&producer);
    let publish = Context::new().with_span(publish);
    let mut headers = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&publish, &mut headers));
    span_end(publish);
    let order_id = "ord-12".to_owned();
    let process = match variant {
        Variant::Yours => yours::message_parent::process,
        Variant::Solution => solutions::message_parent::process,
    };
    process(&Message { order_id, headers });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let publish = find(spans, "order-service", "publish orders").ok_or("the producer made no span")?;
    let process =
        find(spans, "fulfilment", "process order").ok_or("fulfilment made no `process order` span")?;
    if process.kind != Kind::Consumer {
        return Err(format!(
            "`process order` is a span of kind {:?}: taking a message is CONSUMER",
            process.kind
        ));
    }
    if process.trace_id == publish.trace_id && process.parent_span_id.as_deref() == Some(&publish.span_id) {
        return Ok(());
    }
    Err(format!(
        "fulfilment's `process order` started trace {} of its own, apart from the producer's {}: its \
         parent was set after the span had started (entering it starts it), which tracing-opentelemetry \
         refuses (\"Span has already been started, cannot set parent\"), and `let _ =` dropped the refusal",
        process.trace_id, publish.trace_id
    ))
}
