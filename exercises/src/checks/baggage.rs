//! Exercise 7: a baggage entry from two hops away, as an attribute of the SERVER span.

use axum::{Router, routing::post};
use http::HeaderMap;
use opentelemetry::{
    Context, KeyValue,
    baggage::BaggageExt as _,
    trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use tracectl::model::Span;

use super::{Exercise, Variant, find, post_in, runtime, serve, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "07_baggage.rs",
    title: "carry a baggage entry across services into a span attribute",
    expected: "gateway        POST /api/checkout (baggage customer.tier=gold)\n  gateway        POST /orders \
               (CLIENT)\n    order-service  POST /orders (SERVER, customer.tier=gold)",
    hint: "`request.baggage().get(TIER)` is the entry, if the caller sent one; \
           `request.span().set_attribute(KeyValue::new(TIER, tier.to_string()))` puts it on the span",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let mut lab = Lab::new("order-service");
    let gateway = lab.other("gateway").tracer("gateway");
    let tracer = lab.provider().tracer("order-service");
    let tag = match variant {
        Variant::Yours => yours::baggage::tag_customer,
        Variant::Solution => solutions::baggage::tag_customer,
    };
    let orders = Router::new().route(
        "/orders",
        post(move |headers: HeaderMap| async move {
            let parent = solutions::caller_context::caller_context(&headers);
            let span = tracer
                .span_builder("POST /orders")
                .with_kind(SpanKind::Server)
                .start_with_context(&tracer, &parent);
            let request = parent.with_span(span);
            tag(&request);
            span_end(request);
        }),
    );
    runtime().block_on(async {
        let url = serve(orders).await;
        // The gateway: its SERVER span, the customer's tier put in baggage, and the call.
        let checkout = gateway.span_builder("POST /api/checkout").with_kind(SpanKind::Server).start(&gateway);
        let checkout =
            Context::new().with_span(checkout).with_baggage([KeyValue::new(yours::baggage::TIER, "gold")]);
        let call = gateway
            .span_builder("POST /orders")
            .with_kind(SpanKind::Client)
            .start_with_context(&gateway, &checkout);
        let call = checkout.with_span(call);
        post_in(&format!("{url}/orders"), &call, solutions::call_context::inject).await;
        span_end(call);
        span_end(checkout);
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let server = find(spans, "order-service", "POST /orders").ok_or("order-service made no SERVER span")?;
    match server.str_attribute(yours::baggage::TIER) {
        Some("gold") => Ok(()),
        Some(other) => Err(format!(
            "order-service's SERVER span says customer.tier={other:?}; the baggage said \"gold\""
        )),
        None => Err("order-service's SERVER span has no customer.tier attribute: the request carried \
                     `baggage: customer.tier=gold`, but baggage is on no span until a service puts it there"
            .to_owned()),
    }
}
