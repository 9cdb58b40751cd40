//! # Exercise 5: record a failure where it happened, and only a failure
//!
//! Practises: `lessons/error-not-recorded.md`, `lessons/stripe-outage.md` and
//! `lessons/concepts.md`, "Status".
//!
//! A span says it failed with its status (ERROR, with a description) and says *how* with an
//! `exception` event; a trace without them shows a failed checkout whose spans are all fine. But
//! not every error status is the server's failure: the HTTP semantic conventions leave a SERVER
//! span's status unset for a 4xx (the client's mistake: a missing order, a bad request) and set
//! ERROR for a 5xx. (A CLIENT span is ERROR for both: the call did not get what it asked for.)
//!
//! Check it: `scripts/exercise.sh 5`. Start again: `scripts/exercise.sh --reset 5`.

use http::StatusCode;
use opentelemetry::trace::SpanRef;

/// Records on the CLIENT span `span` that its call got no answer at all, because of `error`.
pub fn record_failed_call(span: &SpanRef<'_>, error: &(dyn std::error::Error + 'static)) {
    // YOUR PART: the span's status, and an `exception` event describing `error`
    // (`SpanRef` has a method that makes that event from an error).
    let _ = (span, error);
}

/// Records on the SERVER span `span` the status its request was answered with.
pub fn record_answer(span: &SpanRef<'_>, status: StatusCode) {
    span.set_attribute(opentelemetry::KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
    // YOUR PART: which answers make a SERVER span's status ERROR?
}
