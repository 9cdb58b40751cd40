//! Exercise 8: a parent-based ratio sampler: a quarter of new traces, and every trace whole.

use http::HeaderMap;
use opentelemetry::{
    Context,
    trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use tracectl::model::Span;

use super::{Exercise, Variant, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "08_sampler.rs",
    title: "sample a quarter of new traces, and keep every trace whole (a parent-based sampler)",
    expected: "every request the gateway sampled: its span and order-service's, one trace\nevery request \
               it did not: no span from order-service\nnew traces order-service starts: about a quarter kept",
    hint: "`Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)))`: the parent's decision \
           for a span with one, the ratio for a root",
    run,
    judge,
};

/// Requests of each kind the lab sends.
const EACH: usize = 12;
/// New traces order-service starts.
const ROOTS: usize = 40;

fn run(variant: Variant) -> Lab {
    let sampler = match variant {
        Variant::Yours => yours::sampler::sampler(),
        Variant::Solution => solutions::sampler::sampler(),
    };
    let mut lab = Lab::sampled("order-service", sampler);
    let gateway = lab.other("gateway").tracer("gateway");
    let tracer = lab.provider().tracer("order-service");
    let serve = |headers: &HeaderMap, name: &'static str| {
        let parent = solutions::caller_context::caller_context(headers);
        let span = tracer.span_builder(name).with_kind(SpanKind::Server).start_with_context(&tracer, &parent);
        span_end(parent.with_span(span));
    };
    for i in 0..EACH {
        // Sampled by the gateway: its CLIENT span is recorded, and its flags say so.
        let call = Context::new()
            .with_span(gateway.span_builder("POST /orders").with_kind(SpanKind::Client).start(&gateway));
        let mut headers = HeaderMap::new();
        solutions::call_context::inject(&call, &mut headers);
        serve(&headers, "POST /orders");
        span_end(call);
        // Not sampled by the gateway: a `traceparent` whose flags are 00.
        let mut headers = HeaderMap::new();
        let unsampled = format!("00-{:032x}-{:016x}-00", 0xfeed_0000_u128 + i as u128, 0xbeef_u64);
        headers.insert("traceparent", unsampled.parse().expect("a header value"));
        serve(&headers, "POST /orders (unsampled caller)");
    }
    for _ in 0..ROOTS {
        serve(&HeaderMap::new(), "GET /health/deep");
    }
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let calls: Vec<&Span> = spans.iter().filter(|s| s.service_name == "gateway").collect();
    let children = |call: &&Span| {
        spans
            .iter()
            .any(|s| s.service_name == "order-service" && s.parent_span_id.as_deref() == Some(&call.span_id))
    };
    let holes = calls.iter().filter(|call| !children(call)).count();
    if holes > 0 {
        return Err(format!(
            "{holes} of {EACH} requests the gateway sampled have no span from order-service: its \
             sampler decided again instead of following the caller's decision, and those traces \
             arrive with a hole"
        ));
    }
    let fragments = spans.iter().filter(|s| s.name == "POST /orders (unsampled caller)").count();
    if fragments > 0 {
        return Err(format!(
            "order-service recorded {fragments} of {EACH} requests the gateway chose not to sample: \
             fragments of traces whose root is nowhere"
        ));
    }
    let kept = spans.iter().filter(|s| s.name == "GET /health/deep").count();
    if kept == 0 || kept * 2 > ROOTS {
        return Err(format!(
            "order-service kept {kept} of the {ROOTS} traces it started itself: a quarter was asked for"
        ));
    }
    Ok(())
}
