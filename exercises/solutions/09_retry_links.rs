//! # Exercise 9: link a retry to the attempt it replaces (a solution)
//!
//! The link holds the replaced attempt's context, and says why.

use opentelemetry::{
    Context, KeyValue, global,
    trace::{Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _},
};

/// Charges the card, trying up to three times; `attempt(n)` makes the `n`th call (from 1).
pub fn charge(attempt: impl Fn(u32) -> Result<(), String>) -> Result<(), String> {
    let tracer = global::tracer("payment-service");
    let mut replaced: Option<SpanContext> = None;
    let mut outcome = Err("no attempt was made".to_owned());
    for n in 1..=3 {
        let span = tracer
            .span_builder("POST /v1/charges")
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("http.request.resend_count", i64::from(n - 1))])
            .with_links(links(replaced.as_ref()))
            .start(&tracer);
        let cx = Context::current().with_span(span);
        outcome = attempt(n);
        if let Err(e) = &outcome {
            cx.span().set_status(Status::error(e.clone()));
        }
        replaced = Some(cx.span().span_context().clone());
        cx.span().end();
        if outcome.is_ok() {
            break;
        }
    }
    outcome
}

/// The links of an attempt's span: to the attempt it replaces, if there was one.
fn links(replaced: Option<&SpanContext>) -> Vec<Link> {
    let why = || vec![KeyValue::new("retry.reason", "the previous attempt failed")];
    replaced.map(|context| Link::new(context.clone(), why(), 0)).into_iter().collect()
}
