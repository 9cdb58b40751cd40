//! Log lines that point into the trace: every event written inside a traced request carries the
//! `trace_id` and `span_id` of the span it happened in, so a log line found by grep leads straight
//! to its trace in Jaeger (and a span in Jaeger to its log lines).
//!
//! How the ids are found: a request's code runs with its edge span's context attached (see
//! [`crate::edge`]), and entering a `tracing` span attaches its context too ([`crate::bridge`]),
//! so `opentelemetry::Context::current()` is the innermost span the event happened in. No span,
//! or telemetry disabled → no ids, and the fields are left out.
//!
//! Every line passes through a [`LineRule`] before it is written: as it is by default, or with
//! what a service must not log masked (see [`crate::telemetry::Extension::log_rule`]).

use std::{borrow::Cow, fmt};

use opentelemetry::trace::TraceContextExt as _;
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::Writer,
        time::{FormatTime as _, SystemTime},
    },
    registry::LookupSpan,
};

use crate::config::LogFormat;

/// A rule a log line passes through before it is written: the line, changed (owned) or not
/// (borrowed). `Cow::Borrowed` leaves every line as it is.
pub type LineRule = fn(&str) -> Cow<'_, str>;

/// A `tracing-subscriber` event formatter that adds trace correlation ids, as text or JSON.
#[derive(Debug, Clone, Copy)]
pub struct TraceAwareFormat {
    format: LogFormat,
    rule: LineRule,
}

impl TraceAwareFormat {
    /// A formatter writing `format`, every line passed through `rule`.
    pub fn new(format: LogFormat, rule: LineRule) -> Self {
        Self { format, rule }
    }
}

/// The ids of the span that is current on this thread, as lowercase hex, if it is a real span.
fn current_ids() -> Option<(String, String)> {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    })
}

/// RFC 3339 UTC, from tracing-subscriber's own timer (the same one its default format uses).
fn timestamp() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; an error here would only mean a clock before 1970.
    let _ = SystemTime.format_time(&mut Writer::new(&mut out));
    out
}

impl<S, N> FormatEvent<S, N> for TraceAwareFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        // The line is built first, so the rule sees all of it before anything is written. The ids
        // are added after the rule: they are identifiers, and must match the trace in Jaeger digit
        // for digit, even when a run of their hex digits happens to look like something a rule
        // would mask (16 decimal digits, say).
        let ids = current_ids();
        let mut line = String::new();
        self.format_line(ctx, Writer::new(&mut line), event)?;
        // tracing-subscriber's JSON formatter ends its line; the ids go before the end.
        let line = (self.rule)(line.trim_end_matches('\n'));
        match (self.format, ids) {
            (_, None) => writer.write_str(&line)?,
            (LogFormat::Text, Some((trace_id, span_id))) => {
                write!(writer, "{line} trace_id={trace_id} span_id={span_id}")?;
            }
            (LogFormat::Json, Some((trace_id, span_id))) => {
                // The line is one JSON object: the ids go in as its last members (hex: no escaping).
                let members = line.strip_suffix('}').ok_or(fmt::Error)?;
                write!(writer, r#"{members},"trace_id":"{trace_id}","span_id":"{span_id}"}}"#)?;
            }
        }
        writeln!(writer)
    }
}

impl TraceAwareFormat {
    /// The line without its trace ids and without its newline.
    fn format_line<S, N>(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let meta = event.metadata();
        match self.format {
            LogFormat::Text => {
                write!(writer, "{} {:>5} {}: ", timestamp(), meta.level(), meta.target())?;
                ctx.field_format().format_fields(writer.by_ref(), event)
            }
            // tracing-subscriber's own JSON lines, the event's fields at the top level beside
            // `timestamp`, `level`, `message` and `target`.
            LogFormat::Json => tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .format_event(ctx, writer, event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Captures what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A rule for the tests: the two secrets they log are masked.
    fn mask_secrets(text: &str) -> std::borrow::Cow<'_, str> {
        const SECRETS: [&str; 2] = ["4111111111111111", "hunter2"];
        if SECRETS.iter().any(|secret| text.contains(secret)) {
            SECRETS.iter().fold(text.to_owned(), |text, secret| text.replace(secret, "[MASKED]")).into()
        } else {
            text.into()
        }
    }

    fn log_line(format: LogFormat, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(TraceAwareFormat::new(format, mask_secrets))
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn what_the_redaction_rule_masks_is_masked_in_text_and_json_lines() {
        for format in [LogFormat::Text, LogFormat::Json] {
            let line = log_line(format, || {
                tracing::info!(referer = "https://x/?card=4111111111111111", password = "hunter2", "paid")
            });
            assert!(line.contains("paid"), "{line}");
            assert!(!line.contains("4111111111111111") && !line.contains("hunter2"), "{format:?}: {line}");
            assert_eq!(line.matches("[MASKED]").count(), 2, "{format:?}: {line}");
        }
    }

    #[test]
    fn trace_ids_are_written_as_they_are_even_when_the_redaction_rule_would_mask_their_digits() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        // A span id the rule would mask (16 digits that pass the Luhn check: a card number, to a scanner).
        let span_id = "4111111111111111";
        let trace_id = "0af7651916cd43dd8448eb211c80319c";
        let cx = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(trace_id).unwrap_or(TraceId::INVALID),
            SpanId::from_hex(span_id).unwrap_or(SpanId::INVALID),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ));
        let _attached = cx.attach();
        let text = log_line(LogFormat::Text, || tracing::info!(pan = "4111111111111111", "paid"));
        assert!(text.contains(r#"pan="[MASKED]""#), "{text}");
        assert!(text.trim_end().ends_with(&format!("trace_id={trace_id} span_id={span_id}")), "{text}");

        let json = log_line(LogFormat::Json, || tracing::info!(pan = "4111111111111111", "paid"));
        let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_default();
        assert_eq!(value["pan"], "[MASKED]", "{json}");
        assert_eq!((&value["trace_id"], &value["span_id"]), (&trace_id.into(), &span_id.into()), "{json}");
    }

    #[test]
    fn json_lines_are_valid_json_with_typed_fields() {
        let line = log_line(LogFormat::Json, || tracing::warn!(attempt = 3, retry = true, "slow"));
        assert_eq!(line.matches('\n').count(), 1, "one line, ended once: {line:?}");
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_default();
        assert_eq!(value["level"], "WARN");
        assert_eq!(value["message"], "slow");
        assert_eq!(value["attempt"], 3);
        assert_eq!(value["retry"], true);
    }
}
