//! The span model: an OTLP span flattened with its resource's `service.name`, ids as lowercase
//! hex (as Jaeger and W3C `traceparent` show them), attribute values typed.

use std::collections::BTreeMap;

use serde::Serialize;

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value},
    trace::v1::{span, status},
};

/// An attribute value, keeping the OTLP type. Serialises as the plain JSON value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A string.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// An array of values.
    Array(Vec<Value>),
    /// A nested map.
    Map(BTreeMap<String, Value>),
    /// No value was set.
    Empty,
}

impl Value {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<&AnyValue> for Value {
    fn from(value: &AnyValue) -> Self {
        match &value.value {
            Some(any_value::Value::StringValue(s)) => Value::Str(s.clone()),
            Some(any_value::Value::IntValue(i)) => Value::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Value::Double(*d),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::BytesValue(b)) => Value::Bytes(b.clone()),
            Some(any_value::Value::ArrayValue(a)) => Value::Array(a.values.iter().map(Value::from).collect()),
            Some(any_value::Value::KvlistValue(kv)) => Value::Map(attributes(&kv.values)),
            // An index into a profiles string table: never used by trace exports.
            Some(any_value::Value::StringValueStrindex(_)) | None => Value::Empty,
        }
    }
}

/// The role of a span in a call (OTLP `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Not specified.
    Unspecified,
    /// Work inside a service.
    Internal,
    /// The server side of a call.
    Server,
    /// The client side of a call.
    Client,
    /// Sending a message.
    Producer,
    /// Receiving a message.
    Consumer,
}

impl From<i32> for Kind {
    fn from(kind: i32) -> Self {
        match span::SpanKind::try_from(kind) {
            Ok(span::SpanKind::Internal) => Kind::Internal,
            Ok(span::SpanKind::Server) => Kind::Server,
            Ok(span::SpanKind::Client) => Kind::Client,
            Ok(span::SpanKind::Producer) => Kind::Producer,
            Ok(span::SpanKind::Consumer) => Kind::Consumer,
            _ => Kind::Unspecified,
        }
    }
}

/// A span's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Not set: the default for success.
    Unset,
    /// Explicitly fine.
    Ok,
    /// Failed.
    Error,
}

/// A timestamped event inside a span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The event's name (for `tracing` events, the message).
    pub name: String,
    /// When it happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
}

/// A link from a span to a span of another (or the same) trace: "this work continues that".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// The linked span's trace, 32 lowercase hex digits.
    pub trace_id: String,
    /// The linked span, 16 lowercase hex digits.
    pub span_id: String,
    /// Why (for a resumed checkout, `checkout.resumed_from`).
    pub attributes: BTreeMap<String, Value>,
}

/// OTLP's span flags: bit 8 says the exporter knew whether the parent is remote, bit 9 that it
/// is (`SpanFlags` in opentelemetry-proto's `trace.proto`).
const REMOTE_PARENT: u32 = 0x100 | 0x200;

/// One span, with the resource of the service that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id, `None` for a root span.
    pub parent_span_id: Option<String>,
    /// Whether the parent is in another process (OTLP's span flags say so: a SERVER span whose
    /// caller sent `traceparent`). `false` when the exporter did not say.
    pub parent_is_remote: bool,
    /// The operation name (`POST /orders`).
    pub name: String,
    /// The span's role.
    pub kind: Kind,
    /// The resource's `service.name` (`unknown_service` if missing).
    pub service_name: String,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// Span attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Resource attributes.
    pub resource: BTreeMap<String, Value>,
    /// Events, in the order recorded.
    pub events: Vec<Event>,
    /// Links to other spans, in the order added.
    pub links: Vec<Link>,
    /// Status code.
    pub status: StatusCode,
    /// Status message (for errors).
    pub status_message: String,
}

impl Span {
    /// A span attribute.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// A string span attribute.
    pub fn str_attribute(&self, key: &str) -> Option<&str> {
        self.attribute(key).and_then(Value::as_str)
    }

    /// Duration in nanoseconds (0 if the clock went backwards).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

/// A span's events in time order. A backend need not keep the order they were recorded in: the
/// real Jaeger 2.12 answers a span's events in another order than the exporter sent (found by
/// `e2e/tests/stack/real_jaeger/views.rs`); the time order is the one both agree on. Stable, so
/// events of one instant keep the order they came in.
fn events(events: &[opentelemetry_proto::tonic::trace::v1::span::Event]) -> Vec<Event> {
    let mut events: Vec<Event> = events
        .iter()
        .map(|e| Event {
            name: e.name.clone(),
            time_unix_nano: e.time_unix_nano,
            attributes: attributes(&e.attributes),
        })
        .collect();
    events.sort_by_key(|e| e.time_unix_nano);
    events
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map(Value::from).unwrap_or(Value::Empty)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flattens an OTLP export request into spans.
pub fn spans_from_request(request: &ExportTraceServiceRequest) -> Vec<Span> {
    accepted_spans(request).0
}

/// Whether a span's ids are ones a trace can be drawn from: the OTLP trace proto
/// (opentelemetry-proto `trace/v1/trace.proto`) calls a trace id of other than 16 bytes, a span id
/// of other than 8, or either all zeros, invalid.
pub fn has_valid_ids(trace_id: &[u8], span_id: &[u8]) -> bool {
    trace_id.len() == 16
        && span_id.len() == 8
        && trace_id.iter().any(|b| *b != 0)
        && span_id.iter().any(|b| *b != 0)
}

/// The spans of an export request that have valid ids ([`has_valid_ids`]), and how many did not.
pub fn accepted_spans(request: &ExportTraceServiceRequest) -> (Vec<Span>, u64) {
    let mut rejected = 0;
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource =
            resource_spans.resource.as_ref().map(|r| attributes(&r.attributes)).unwrap_or_default();
        let service_name =
            resource.get("service.name").and_then(Value::as_str).unwrap_or("unknown_service").to_owned();
        for scope_spans in &resource_spans.scope_spans {
            for s in &scope_spans.spans {
                if !has_valid_ids(&s.trace_id, &s.span_id) {
                    rejected += 1;
                    continue;
                }
                let status = match s.status.as_ref().map(|st| status::StatusCode::try_from(st.code)) {
                    Some(Ok(status::StatusCode::Error)) => StatusCode::Error,
                    Some(Ok(status::StatusCode::Ok)) => StatusCode::Ok,
                    _ => StatusCode::Unset,
                };
                spans.push(Span {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    // An all-zero or empty parent id means "no parent".
                    parent_span_id: (!s.parent_span_id.iter().all(|b| *b == 0))
                        .then(|| hex(&s.parent_span_id)),
                    parent_is_remote: s.flags & REMOTE_PARENT == REMOTE_PARENT,
                    name: s.name.clone(),
                    kind: Kind::from(s.kind),
                    service_name: service_name.clone(),
                    start_unix_nano: s.start_time_unix_nano,
                    end_unix_nano: s.end_time_unix_nano,
                    attributes: attributes(&s.attributes),
                    resource: resource.clone(),
                    events: events(&s.events),
                    links: s
                        .links
                        .iter()
                        .map(|l| Link {
                            trace_id: hex(&l.trace_id),
                            span_id: hex(&l.span_id),
                            attributes: attributes(&l.attributes),
                        })
                        .collect(),
                    status,
                    status_message: s.status.as_ref().map(|st| st.message.clone()).unwrap_or_default(),
                });
            }
        }
    }
    (spans, rejected)
}
/// A span, as analysis results name it: its id, service and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanRef {
    /// The span id.
    pub span_id: String,
    /// Its service.
    pub service: String,
    /// Its operation name.
    pub name: String,
}

impl From<&Span> for SpanRef {
    fn from(span: &Span) -> Self {
        Self { span_id: span.span_id.clone(), service: span.service_name.clone(), name: span.name.clone() }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, span::Event};

    use super::*;

    #[test]
    fn a_spans_events_are_read_in_time_order_whatever_order_they_came_in() {
        let event = |name: &str, time| Event { name: name.into(), time_unix_nano: time, ..Event::default() };
        let span = OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            events: vec![event("second", 20), event("first", 10), event("also second", 20)],
            ..OtlpSpan::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        };
        let (spans, rejected) = accepted_spans(&request);
        assert_eq!(rejected, 0);
        let names: Vec<&str> = spans[0].events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["first", "second", "also second"], "by time, ties as they came");
    }
}
