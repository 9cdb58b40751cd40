//! # Exercise 11: a short-lived program flushes before it exits (a solution)
//!
//! `shutdown` exports what the batch processor still holds and stops it; a failure is said, not
//! swallowed (`force_flush` would do as well, for a program that goes on).

use opentelemetry::{global, trace::Tracer as _};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The nightly report: sums three days, then the program exits as soon as this returns.
pub fn nightly_report(provider: &SdkTracerProvider) {
    let tracer = global::tracer("nightly-report");
    tracer.in_span("nightly-report", |_| {
        for day in ["monday", "tuesday", "wednesday"] {
            tracer.in_span(format!("sum {day}"), |_| ());
        }
    });
    if let Err(e) = provider.shutdown() {
        eprintln!("the last spans were not exported: {e}");
    }
}
