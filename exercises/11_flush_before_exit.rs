//! # Exercise 11: a short-lived program flushes before it exits
//!
//! Practises: `README.md`, "Trace your own axum service" (the flush last, `Telemetry::shutdown`).
//!
//! A batch processor exports spans from a queue every few seconds, so a request never waits for
//! the network. A program that runs once and exits (a job, a CLI, a Lambda) can exit before the
//! queue is sent: its root span, which ends last, is the one always lost
//! (open-telemetry/opentelemetry-rust#888). The tracer provider here is the global one, as in a
//! service: nothing drops it at exit for you.
//!
//! Check it: `scripts/exercise.sh 11`. Start again: `scripts/exercise.sh --reset 11`.

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
    // YOUR PART: the process ends right after this line. What must happen to the spans still
    // waiting in `provider`'s batch processor?
    let _ = provider;
}
