//! Exercise 10: a log line that carries the trace id and span id of the span current when it
//! was written.

use tracectl::model::Span;

use super::{Exercise, Variant};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "10_log_correlation.rs",
    title: "a log line that names its trace",
    expected: "order-service  POST /orders  (event `log`: \"order stored trace_id=<its trace> span_id=<its span>\")",
    hint: "`tracing::Span::current().context()` (with `tracing_opentelemetry::OpenTelemetrySpanExt`), \
           then `.span().span_context()`: its `trace_id()` and `span_id()` print as hex",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("order-service");
    let log_line = match variant {
        Variant::Yours => yours::log_correlation::log_line,
        Variant::Solution => solutions::log_correlation::log_line,
    };
    tracing::info_span!("POST /orders").in_scope(|| {
        let line = log_line("order stored");
        println!("The line your code wrote: {line}\n");
        // Kept on the span, for the check to read beside the span's own ids.
        tracing::info!(line = %line, "log");
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let span =
        spans.iter().find(|s| s.name == "POST /orders").ok_or("no `POST /orders` span was exported")?;
    let event = span.events.iter().find(|e| e.name == "log").ok_or("the log line was not written")?;
    let line = event.attributes.get("line").and_then(|v| v.as_str()).unwrap_or_default();
    let (trace, own) = (format!("trace_id={}", span.trace_id), format!("span_id={}", span.span_id));
    match (line.contains(&trace), line.contains(&own)) {
        (true, true) => Ok(()),
        (false, _) if line.contains("trace_id=") => Err(format!(
            "the log line {line:?} names another trace than the span it was written in ({}): read the \
             ids of the span current when the line is written",
            span.trace_id
        )),
        (false, _) => Err(format!(
            "the log line {line:?} names no trace: among thousands of lines, nothing leads from it to \
             the checkout's trace {}",
            span.trace_id
        )),
        (true, false) => Err(format!("the log line {line:?} names the trace but not its span ({own})")),
    }
}
