//! `tracing::info!` right under an edge span (in a handler, outside any `tracing` span) becomes an
//! event of that span.
//!
//! A span event is a timestamped log entry that travels with the trace: Jaeger shows it under the
//! span's "Logs". The services log with `tracing` (the Rust convention). Inside a `tracing` span,
//! tracing-opentelemetry makes each event an event of that span ([`crate::bridge`]); but it knows
//! nothing of the spans made with the OpenTelemetry API, so an event in a handler, whose current
//! span is the SERVER span, would be lost to the trace. This layer copies such an event into the
//! OpenTelemetry span that is current when it happens, the way the bridge does:
//! - the message becomes the event's name, every other field an attribute (numbers and booleans
//!   keep their type), plus `level` and `target`;
//! - an ERROR event marks the span's status ERROR.
//!
//! Events outside any span (start-up, shutdown) are only logged.

use std::{borrow::Cow, fmt};

use opentelemetry::{
    Context, KeyValue, Value,
    trace::{Status, TraceContextExt as _},
};
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{Layer, layer, registry::LookupSpan};

/// The layer: add it to the subscriber with a filter that keeps the events worth a span event.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpanEvents;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanEvents {
    fn on_event(&self, event: &Event<'_>, ctx: layer::Context<'_, S>) {
        if ctx.event_span(event).is_some() {
            // Inside a `tracing` span: the bridge records it there.
            return;
        }
        Context::map_current(|cx| {
            if !cx.has_active_span() {
                return;
            }
            let span = cx.span();
            if !span.is_recording() {
                return;
            }
            let meta = event.metadata();
            // The message becomes the name, every other field an attribute.
            let attributes =
                vec![KeyValue::new("level", meta.level().as_str()), KeyValue::new("target", meta.target())];
            let mut fields = EventFields { name: None, attributes };
            event.record(&mut fields);
            if *meta.level() == Level::ERROR {
                span.set_status(Status::error(""));
            }
            span.add_event(fields.name.unwrap_or(Cow::Borrowed(meta.name())), fields.attributes);
        });
    }
}

/// An event's fields, as the span event's name and attributes.
struct EventFields {
    name: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.name = Some(value.as_str().into_owned().into());
        } else {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }
}

impl Visit for EventFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.name = Some(text.into());
        } else {
            self.push(field, Value::from(text));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::from(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    // OTLP integers are signed: a u64 that fits stays a number, a larger one becomes its digits.
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::I64));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::{
        error::OTelSdkResult,
        trace::{SdkTracerProvider, SpanData, SpanExporter},
    };
    use tracing_subscriber::layer::SubscriberExt as _;

    /// An exporter that keeps what it is given.
    #[derive(Debug, Clone, Default)]
    struct Kept(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Kept {
        fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(batch);
            std::future::ready(Ok(()))
        }
    }

    /// The finished spans, after `emit` ran inside one span ("request") with the layer installed.
    fn spans_after(emit: impl FnOnce()) -> Vec<SpanData> {
        let kept = Kept::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(kept.clone()).build();
        let tracer = provider.tracer("test");
        tracing::subscriber::with_default(tracing_subscriber::registry().with(SpanEvents), || {
            let cx = Context::current_with_span(tracer.start("request"));
            {
                let _attached = cx.clone().attach();
                emit();
            }
            cx.span().end();
            // Outside every span now: logged, but no span to add it to.
            tracing::info!("after the request");
        });
        kept.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn attribute(event: &opentelemetry::trace::Event, key: &str) -> Option<Value> {
        event.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone())
    }

    #[test]
    fn an_event_in_a_span_becomes_a_span_event_with_typed_attributes() {
        let spans = spans_after(|| {
            tracing::info!(order.id = "ord_1", total_cents = 4200_u64, retry = true, "Checkout complete");
        });

        assert_eq!(spans.len(), 1);
        let events = &spans[0].events.events;
        assert_eq!(events.len(), 1, "only the event inside the span: {events:?}");
        let event = &events[0];
        assert_eq!(event.name, "Checkout complete");
        assert_eq!(attribute(event, "order.id"), Some(Value::from("ord_1")));
        assert_eq!(attribute(event, "total_cents"), Some(Value::I64(4200)));
        assert_eq!(attribute(event, "retry"), Some(Value::Bool(true)));
        assert_eq!(attribute(event, "level"), Some(Value::from("INFO")));
        assert_eq!(spans[0].status, Status::Unset);
    }

    #[test]
    fn an_error_event_marks_the_span_failed() {
        let spans = spans_after(|| tracing::error!(error = "disk full", "The order database failed"));

        assert_eq!(spans[0].status, Status::error(""));
        assert_eq!(spans[0].events.events[0].name, "The order database failed");
    }
}
