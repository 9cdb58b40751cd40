//! Exercise 9: each retry's span linked to the attempt it replaces.

use opentelemetry::{
    Context, KeyValue, global,
    trace::{Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _},
};
use tracectl::model::Span;

use super::{Exercise, Variant, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "09_retry_links.rs",
    title: "link a retry to the attempt it replaces",
    expected: "payment-service  POST /payments\n  payment-service  POST /v1/charges  (attempt 1: timed out)\n  \
               payment-service  POST /v1/charges  (attempt 2: timed out; link → attempt 1)\n  \
               payment-service  POST /v1/charges  (attempt 3; link → attempt 2)",
    hint: "`replaced.map(|context| Link::with_context(context.clone())).into_iter().collect()`; \
           `Link::new(context, attributes, 0)` to say why",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("payment-service");
    let tracer = global::tracer("payment-service");
    let payment = Context::new()
        .with_span(tracer.span_builder("POST /payments").with_kind(SpanKind::Server).start(&tracer));
    let _current = payment.clone().attach();
    let stripe = |n: u32| {
        if n < 3 { Err(format!("Stripe did not answer within 400 ms (attempt {n})")) } else { Ok(()) }
    };
    let links = match variant {
        Variant::Yours => yours::retry_links::links,
        Variant::Solution => solutions::retry_links::links,
    };
    let charged = charge(stripe, links);
    assert!(charged.is_ok(), "the third attempt succeeds");
    span_end(payment);
    lab
}

/// payment-service's charge: up to three calls to Stripe, `attempt(n)` the `n`th (from 1), each
/// a CLIENT span of its own with the `links` of the attempt it replaces.
fn charge(
    attempt: impl Fn(u32) -> Result<(), String>,
    links: fn(Option<&SpanContext>) -> Vec<Link>,
) -> Result<(), String> {
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

fn judge(spans: &[Span]) -> Result<(), String> {
    let attempts: Vec<&Span> = spans.iter().filter(|s| s.name == "POST /v1/charges").collect();
    if attempts.len() != 3 {
        return Err(format!("{} attempt spans where three calls were made", attempts.len()));
    }
    if !attempts[0].links.is_empty() {
        return Err("the first attempt has a link: it replaces nothing".to_owned());
    }
    let unlinked: Vec<String> = (1..3)
        .filter(|&n| !attempts[n].links.iter().any(|l| l.span_id == attempts[n - 1].span_id))
        .map(|n| format!("attempt {}", n + 1))
        .collect();
    if unlinked.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} {} no link to the attempt {} replaces: the trace shows three calls to Stripe side by side, \
         and nothing says the later ones are retries of the earlier",
        unlinked.join(" and "),
        if unlinked.len() == 1 { "has" } else { "have" },
        if unlinked.len() == 1 { "it" } else { "each" },
    ))
}
