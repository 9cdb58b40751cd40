//! Exercise 2: the context a call sends is its CLIENT span's.

use opentelemetry::{
    Context, global,
    trace::{SpanKind, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use tracectl::model::Span;

use super::{Exercise, Variant, find, payments, post_in, runtime, serve, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "02_call_context.rs",
    title: "send the context of the call (its CLIENT span), not of its caller",
    expected: "order-service    POST /orders (SERVER)\n  order-service    POST /payments (CLIENT)\n    \
               payment-service  POST /payments (SERVER)",
    hint: "`propagator.inject_context(call, &mut HeaderInjector(headers))` writes the context you \
           give it; `inject` writes the current one, which is the caller's SERVER span here",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let mut lab = Lab::new("order-service");
    let callee = lab.other("payment-service").tracer("payment-service");
    let inject = match variant {
        Variant::Yours => yours::call_context::inject,
        Variant::Solution => solutions::call_context::inject,
    };
    runtime().block_on(async {
        let url = serve(payments(callee, solutions::caller_context::caller_context)).await;
        let tracer = global::tracer("order-service");
        let request = Context::new()
            .with_span(tracer.span_builder("POST /orders").with_kind(SpanKind::Server).start(&tracer));
        let _current = request.clone().attach();
        let call = Context::current().with_span(
            tracer
                .span_builder("POST /payments")
                .with_kind(SpanKind::Client)
                .start_with_context(&tracer, &request),
        );
        post_in(&format!("{url}/payments"), &call, inject).await;
        span_end(call);
        span_end(request);
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let request = find(spans, "order-service", "POST /orders").ok_or("order-service made no SERVER span")?;
    let call = spans.iter().find(|s| s.service_name == "order-service" && s.name == "POST /payments");
    let call = call.ok_or("order-service made no CLIENT span")?;
    let server =
        spans.iter().find(|s| s.service_name == "payment-service").ok_or("payment-service made no span")?;
    match server.parent_span_id.as_deref() {
        Some(parent) if parent == call.span_id && server.trace_id == call.trace_id => Ok(()),
        Some(parent) if parent == request.span_id => Err(format!(
            "payment-service's SERVER span is a sibling of the call: its parent is order-service's \
             SERVER span `POST /orders` ({}), the context that was current when the call was made, \
             not the CLIENT span `POST /payments` ({}) (the mistake of open-telemetry/opentelemetry-demo#1318)",
            request.span_id, call.span_id
        )),
        _ => Err(format!(
            "the CLIENT span `POST /payments` has no child in payment-service, whose SERVER span \
             started trace {} of its own: the `traceparent` was not sent",
            server.trace_id
        )),
    }
}
