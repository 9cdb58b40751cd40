//! The console exporter's output, read back: the spans `OTEL_TRACES_EXPORTER=console` printed.
//!
//! The format is opentelemetry-stdout 0.33.1's (`src/trace/exporter.rs`, `print_spans`): per
//! batch a `Spans` line (the first batch then a `Resource` block of `\t ->  key=value` lines),
//! then per span a `Span #n` line, its fields as `\tName         : value` lines (the span's first;
//! each event repeats `\tName      : …` after an `\tEvent #n` line), and its attributes as
//! `\t\t ->  key: Debug(value)` lines.

use std::collections::HashMap;

/// One span as the console exporter printed it.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSpan {
    /// `Name`, `TraceId`, `SpanId`, `ParentSpanId`, `Kind`, `Status`, … as printed.
    pub fields: HashMap<String, String>,
    /// The span's attributes, as `key: Debug(value)` (`http.response.status_code: I64(200)`).
    pub attributes: Vec<String>,
    /// The names of its events, in order.
    pub events: Vec<String>,
}

impl ConsoleSpan {
    /// The field `key` (`"SpanId"`), if printed.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Every span in `lines` (a process's stdout, log lines and all), in the order printed, and every
/// resource attribute line (`service.name=…`) of the `Resource` blocks.
pub fn spans(lines: &[String]) -> (Vec<ConsoleSpan>, Vec<String>) {
    let (mut spans, mut resource): (Vec<ConsoleSpan>, Vec<String>) = (Vec::new(), Vec::new());
    // Inside an event or a link: its `Name` and attributes are not the span's.
    let mut nested = false;
    for line in lines {
        if line.starts_with("Span #") {
            spans.push(ConsoleSpan::default());
            nested = false;
        } else if let Some(attribute) = line.strip_prefix("\t ->  ") {
            resource.push(attribute.to_owned());
        } else if let Some(span) = spans.last_mut().filter(|_| line.starts_with('\t')) {
            if line.starts_with("\tEvent #") || line.starts_with("\tLink #") {
                nested = true;
            } else if let Some(attribute) = line.strip_prefix("\t\t ->  ") {
                if !nested {
                    span.attributes.push(attribute.to_owned());
                }
            } else if let Some((key, value)) = line.strip_prefix('\t').and_then(|l| l.split_once(" : ")) {
                // (`\t\tName …` is the instrumentation scope's.)
                let (key, value) = (key.trim_end(), value.trim());
                if nested && key == "Name" {
                    span.events.push(value.to_owned());
                } else if !nested && !key.starts_with('\t') {
                    span.fields.entry(key.to_owned()).or_insert_with(|| value.to_owned());
                }
            }
        }
    }
    (spans, resource)
}
