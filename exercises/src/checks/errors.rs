//! Exercise 5: a failure recorded where it happened (status and `exception` event), a 4xx SERVER span left unset.

use http::StatusCode;
use opentelemetry::{
    Context, global,
    trace::{SpanKind, SpanRef, TraceContextExt as _, Tracer as _},
};
use tracectl::model::{Span, StatusCode as SpanStatus};

use super::{Exercise, Variant, find, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "05_errors.rs",
    title: "record a failure where it happened (status and exception event), and only a failure",
    expected: "order-service  POST /orders (SERVER, 503: ERROR)\n  order-service  POST /payments \
               (CLIENT, refused: ERROR, an `exception` event)\norder-service  GET /orders/{id} (SERVER, \
               404: status unset)",
    hint: "`span.record_error(error)` adds the `exception` event; `span.set_status(Status::error(..))` \
           the status; `StatusCode::is_server_error` tells a 5xx",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("order-service");
    type FailedCall = fn(&SpanRef<'_>, &(dyn std::error::Error + 'static));
    let (failed_call, answer): (FailedCall, fn(&SpanRef<'_>, StatusCode)) = match variant {
        Variant::Yours => (yours::errors::record_failed_call, yours::errors::record_answer),
        Variant::Solution => (solutions::errors::record_failed_call, solutions::errors::record_answer),
    };
    let tracer = global::tracer("order-service");
    let request = Context::new()
        .with_span(tracer.span_builder("POST /orders").with_kind(SpanKind::Server).start(&tracer));
    let call = request.with_span(
        tracer
            .span_builder("POST /payments")
            .with_kind(SpanKind::Client)
            .start_with_context(&tracer, &request),
    );
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    failed_call(&call.span(), &refused);
    span_end(call);
    answer(&request.span(), StatusCode::SERVICE_UNAVAILABLE);
    span_end(request);
    let missing = Context::new()
        .with_span(tracer.span_builder("GET /orders/{id}").with_kind(SpanKind::Server).start(&tracer));
    answer(&missing.span(), StatusCode::NOT_FOUND);
    span_end(missing);
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let call = find(spans, "order-service", "POST /payments").ok_or("no CLIENT span was exported")?;
    let failed = find(spans, "order-service", "POST /orders").ok_or("no `POST /orders` span was exported")?;
    let missing =
        find(spans, "order-service", "GET /orders/{id}").ok_or("no `GET /orders/{id}` span was exported")?;
    if call.status != SpanStatus::Error || call.status_message.is_empty() {
        return Err(format!(
            "the CLIENT span `POST /payments`, whose call was refused, has status {:?}{}: Jaeger would \
             draw it as a success; its status must be ERROR, with a description",
            call.status,
            if call.status_message.is_empty() { " and no description" } else { "" }
        ));
    }
    let exception = call.events.iter().find(|e| e.name == "exception");
    if exception.is_none_or(|e| !e.attributes.contains_key("exception.message")) {
        return Err(
            "the CLIENT span `POST /payments` has no `exception` event with `exception.message`: the \
                    trace says it failed, not how"
                .to_owned(),
        );
    }
    if failed.status != SpanStatus::Error {
        return Err(
            "the SERVER span `POST /orders`, answered 503, is not ERROR: a 5xx is the server's own failure"
                .to_owned(),
        );
    }
    if missing.status != SpanStatus::Unset {
        return Err(format!(
            "the SERVER span `GET /orders/{{id}}`, answered 404, is {:?}: a 4xx is the client's mistake, \
             and the HTTP semantic conventions leave a SERVER span's status unset for it (error \
             searches would fill with every mistyped order id)",
            missing.status
        ));
    }
    Ok(())
}
