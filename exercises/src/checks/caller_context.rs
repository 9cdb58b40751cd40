//! Exercise 1: the SERVER span of a request, in the context the caller sent.

use opentelemetry::{
    Context,
    trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use tracectl::model::Span;

use super::{Exercise, Variant, find, payments, post_in, runtime, serve, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "01_caller_context.rs",
    title: "continue the caller's trace: extract the context of an incoming request",
    expected: "order-service    POST /payments (CLIENT)\n  payment-service  POST /payments (SERVER)   one trace",
    hint: "a propagator's `extract` reads a context from a carrier; the global propagator is \
           `opentelemetry::global::get_text_map_propagator(|p| ...)`, and \
           `opentelemetry_http::HeaderExtractor(headers)` is the carrier for an `http::HeaderMap`",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let mut lab = Lab::new("payment-service");
    let caller = lab.other("order-service").tracer("order-service");
    let extract = match variant {
        Variant::Yours => yours::caller_context::caller_context,
        Variant::Solution => solutions::caller_context::caller_context,
    };
    runtime().block_on(async {
        let url = serve(payments(lab.provider().tracer("payment-service"), extract)).await;
        // order-service, as the lab plays it: a CLIENT span, whose context it sends.
        let call = Context::new()
            .with_span(caller.span_builder("POST /payments").with_kind(SpanKind::Client).start(&caller));
        post_in(&format!("{url}/payments"), &call, solutions::call_context::inject).await;
        span_end(call);
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let client = find(spans, "order-service", "POST /payments").ok_or("order-service made no CLIENT span")?;
    let server =
        find(spans, "payment-service", "POST /payments").ok_or("payment-service made no SERVER span")?;
    if server.parent_span_id.as_deref() == Some(&client.span_id) && server.trace_id == client.trace_id {
        return Ok(());
    }
    Err(format!(
        "payment-service's SERVER span `POST /payments` started trace {} of its own, apart from the \
         caller's {}: the request carried a `traceparent` naming order-service's CLIENT span {}, \
         and it was not read",
        server.trace_id, client.trace_id, client.span_id
    ))
}
