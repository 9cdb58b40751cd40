//! # Exercise 5: record a failure where it happened, and only a failure (a solution)
//!
//! `record_error` adds the `exception` event (`exception.type`, `exception.message`); the status
//! says ERROR with the same description. A SERVER span is ERROR for a 5xx only.

use http::StatusCode;
use opentelemetry::trace::{SpanRef, Status};

/// Records on the CLIENT span `span` that its call got no answer at all, because of `error`.
pub fn record_failed_call(span: &SpanRef<'_>, error: &(dyn std::error::Error + 'static)) {
    span.record_error(error);
    span.set_status(Status::error(error.to_string()));
}

/// Records on the SERVER span `span` the status its request was answered with.
pub fn record_answer(span: &SpanRef<'_>, status: StatusCode) {
    span.set_attribute(opentelemetry::KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
    if status.is_server_error() {
        span.set_status(Status::error(""));
    }
}
