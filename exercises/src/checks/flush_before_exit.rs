//! Exercise 11: a short-lived program flushes its spans before it exits.

use tracectl::model::Span;

use super::{Exercise, Variant, find};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "11_flush_before_exit.rs",
    title: "a short-lived program flushes its spans before it exits",
    expected: "nightly-report  nightly-report\n  nightly-report  sum monday, sum tuesday, sum wednesday",
    hint: "`SdkTracerProvider::shutdown` (or `force_flush`) exports what the batch processor still holds",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let lab = Lab::batched("nightly-report");
    match variant {
        Variant::Yours => yours::flush_before_exit::nightly_report(&lab.provider()),
        Variant::Solution => solutions::flush_before_exit::nightly_report(&lab.provider()),
    }
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let root = find(spans, "nightly-report", "nightly-report");
    let days = spans.iter().filter(|s| s.name.starts_with("sum ")).count();
    match (root, days) {
        (Some(_), 3) => Ok(()),
        (None, 0) => Err("no span reached the exporter: the program ended with all of them, the root \
                          `nightly-report` too, still in the batch processor's queue \
                          (open-telemetry/opentelemetry-rust#888)"
            .to_owned()),
        (None, n) => {
            Err(format!("{n} `sum` spans arrived but not their root `nightly-report`, which ended last"))
        }
        (Some(_), n) => Err(format!("the root arrived with {n} of its 3 `sum` spans")),
    }
}
