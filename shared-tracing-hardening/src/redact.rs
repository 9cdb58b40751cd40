//! Hardening (a first reading can skip this file): a redaction rule applied to everything that
//! leaves the process, every finished span before it is queued for export and every log line.
//!
//! What counts as sensitive is the service's to say (the checkout masks card numbers and tokens);
//! this module only applies the rule everywhere, so that no attribute, event or status message
//! escapes it. The rule borrows when there is nothing to mask, which is nearly always: it runs on
//! every string of every span.

use std::borrow::Cow;

use opentelemetry::{Array, KeyValue, StringValue, Value, trace::Status};
use opentelemetry_sdk::trace::SpanData;

/// A redaction rule: `text` with what must not leave the process masked (borrowed when clean).
pub type Redactor = fn(&str) -> Cow<'_, str>;

fn redact_string(s: &mut StringValue, rule: Redactor) {
    if let Cow::Owned(clean) = rule(s.as_str()) {
        *s = StringValue::from(clean);
    }
}

fn redact_attributes(attributes: &mut [KeyValue], rule: Redactor) {
    for kv in attributes {
        match &mut kv.value {
            Value::String(s) => redact_string(s, rule),
            Value::Array(Array::String(items)) => items.iter_mut().for_each(|s| redact_string(s, rule)),
            _ => {}
        }
    }
}

fn redact_cow(text: &mut Cow<'static, str>, rule: Redactor) {
    if let Cow::Owned(clean) = rule(text) {
        *text = Cow::Owned(clean);
    }
}

/// Applies `rule` to a finished span: its name, attributes, events and status message.
pub fn redact_span(span: &mut SpanData, rule: Redactor) {
    redact_cow(&mut span.name, rule);
    redact_attributes(&mut span.attributes, rule);
    for event in &mut span.events.events {
        redact_cow(&mut event.name, rule);
        redact_attributes(&mut event.attributes, rule);
    }
    if let Status::Error { description } = &mut span.status {
        redact_cow(description, rule);
    }
}

/// The rule that masks nothing: the default, for a service with nothing to hide.
pub fn nothing(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind};
    use opentelemetry_sdk::trace::SpanEvents;

    use super::*;

    fn mask_hunter2(text: &str) -> Cow<'_, str> {
        if text.contains("hunter2") { text.replace("hunter2", "***").into() } else { text.into() }
    }

    #[test]
    fn the_rule_reaches_the_name_every_attribute_every_event_and_the_status_message() {
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "login hunter2",
            std::time::SystemTime::UNIX_EPOCH,
            vec![KeyValue::new("password", "hunter2")],
            0,
        ));
        let mut span = SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "GET /hunter2".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: vec![
                KeyValue::new("url.path", "/login?p=hunter2"),
                KeyValue::new("tags", Value::Array(Array::String(vec!["a".into(), "hunter2".into()]))),
                KeyValue::new("count", 7),
            ],
            dropped_attributes_count: 0,
            events,
            links: Default::default(),
            status: Status::error("bad password hunter2"),
            instrumentation_scope: Default::default(),
        };

        redact_span(&mut span, mask_hunter2);

        let text = format!("{span:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(span.name, "GET /***");
        assert_eq!(span.attributes[2], KeyValue::new("count", 7), "non-strings are left alone");
    }
}
