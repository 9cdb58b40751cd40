//! Hardening (a first reading can skip this file): the OTLP/protobuf body of a batch of spans,
//! written straight from the spans.
//!
//! The SDK's exporter first turns every span into the generated protobuf types
//! (`opentelemetry-proto`: a `String` for every attribute key and value, a `Vec` for every id),
//! then lets prost encode them (prost works out each nested message's length again at every level
//! above it), then frees it all. That is half of what tracing costs a checkout here (see
//! BENCHMARKS.md). This writes the same bytes (the same `ExportTraceServiceRequest`, field for
//! field: a test compares it, byte for byte, with what the SDK's conversion and prost make) into
//! one buffer, borrowing every string from the spans. Other OpenTelemetry SDKs made the same move
//! for the same reason: .NET's OTLP exporter replaced Google.Protobuf with a serializer of its own
//! (opentelemetry-dotnet issue #5730, PRs #5910 onwards, tested against Google.Protobuf's bytes),
//! JavaScript's did for logs (opentelemetry-js PR #6390), and Java's exporter has always written
//! OTLP with marshalers of its own (`exporters/otlp/common`).
//!
//! Protobuf's wire format (<https://protobuf.dev/programming-guides/encoding/>): a field is a tag
//! (`field number << 3 | wire type`) then its value; a nested message is a length-delimited field
//! whose length comes first. The length is not known until the message is written, so
//! [`Writer::message`] leaves one byte for it and, for the rare message of 128 bytes or more, moves
//! what it wrote to make room for the longer varint.
//!
//! Field numbers are those of opentelemetry-proto 1.x (`opentelemetry/proto/trace/v1/trace.proto`,
//! `common/v1/common.proto`, `resource/v1/resource.proto`), as opentelemetry-proto 0.33 generates
//! them.

use std::time::UNIX_EPOCH;

use opentelemetry::{
    Array, InstrumentationScope, KeyValue, Value,
    trace::{SpanContext, SpanId, SpanKind, Status},
};
use opentelemetry_sdk::{Resource, trace::SpanData};

/// The `ExportTraceServiceRequest` for `batch`, from a service described by `resource`: one
/// `ResourceSpans`, then one `ScopeSpans` per instrumentation scope, in the order each scope first
/// appears in the batch (as the SDK's exporter groups them).
pub fn encode(batch: &[SpanData], resource: &Resource) -> Vec<u8> {
    // A service has one or two scopes (its edge tracer's, the bridge's): a list beats a map.
    let mut scopes: Vec<(&InstrumentationScope, Vec<&SpanData>)> = Vec::new();
    for span in batch {
        let scope = &span.instrumentation_scope;
        match scopes.iter_mut().find(|(known, _)| *known == scope) {
            Some((_, spans)) => spans.push(span),
            None => scopes.push((scope, vec![span])),
        }
    }

    let mut w = Writer(Vec::with_capacity(256 + batch.len() * 512));
    // ExportTraceServiceRequest.resource_spans = 1
    w.message(1, |w| {
        // ResourceSpans.resource = 1
        w.message(1, |w| {
            for (key, value) in resource.iter() {
                w.message(1, |w| w.key_value(key.as_str(), value)); // Resource.attributes = 1
            }
        });
        for (scope, spans) in &scopes {
            // ResourceSpans.scope_spans = 2
            w.message(2, |w| {
                w.message(1, |w| w.scope(scope)); // ScopeSpans.scope = 1
                for span in spans {
                    w.message(2, |w| w.span(span)); // ScopeSpans.spans = 2
                }
                w.string(3, scope.schema_url().unwrap_or_default()); // ScopeSpans.schema_url = 3
            });
        }
        w.string(3, resource.schema_url().unwrap_or_default()); // ResourceSpans.schema_url = 3
    });
    w.0
}

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;
const FIXED32: u32 = 5;

/// Span flags (trace.proto `SpanFlags`): the W3C trace flags in the low byte, then whether the
/// parent's remoteness is known (always, here) and whether it is remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// A protobuf message being written. Scalar fields that hold their default value are left out,
/// as proto3 (and prost) leave them out.
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    /// A nested message (or any length-delimited field) that `write` writes, always present.
    fn message(&mut self, field: u32, write: impl FnOnce(&mut Self)) {
        self.tag(field, LENGTH_DELIMITED);
        self.0.push(0);
        let start = self.0.len();
        write(self);
        let len = self.0.len() - start;
        if len < 0x80 {
            self.0[start - 1] = len as u8;
            return;
        }
        let mut prefix = [0_u8; 10];
        let mut n = 0;
        let mut rest = len as u64;
        while rest >= 0x80 {
            prefix[n] = (rest as u8) | 0x80;
            rest >>= 7;
            n += 1;
        }
        prefix[n] = rest as u8;
        n += 1;
        self.0.splice(start - 1..start, prefix[..n].iter().copied());
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.tag(field, LENGTH_DELIMITED);
            self.varint(bytes.len() as u64);
            self.0.extend_from_slice(bytes);
        }
    }

    fn string(&mut self, field: u32, text: &str) {
        self.bytes(field, text.as_bytes());
    }

    fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value);
        }
    }

    fn fixed64(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, FIXED64);
            self.0.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn fixed32(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, FIXED32);
            self.0.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// `KeyValue { key = 1, value = 2 }`.
    fn key_value(&mut self, key: &str, value: &Value) {
        self.string(1, key);
        self.message(2, |w| w.any_value(value));
    }

    fn attributes(&mut self, field: u32, attributes: &[KeyValue]) {
        for kv in attributes {
            self.message(field, |w| w.key_value(kv.key.as_str(), &kv.value));
        }
    }

    /// `AnyValue`, a oneof: the field set is written even when it holds its default (`""`, `0`).
    fn any_value(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.any_string(s.as_str()),
            Value::Bool(b) => {
                self.tag(2, VARINT);
                self.varint(u64::from(*b));
            }
            Value::I64(i) => {
                self.tag(3, VARINT);
                self.varint(*i as u64); // int64: two's complement, ten bytes when negative
            }
            Value::F64(f) => {
                self.tag(4, FIXED64);
                self.0.extend_from_slice(&f.to_le_bytes());
            }
            // AnyValue.array_value = 5, ArrayValue.values = 1
            Value::Array(array) => self.message(5, |w| match array {
                Array::Bool(items) => {
                    items.iter().for_each(|b| w.message(1, |w| w.any_value(&Value::Bool(*b))))
                }
                Array::I64(items) => {
                    items.iter().for_each(|i| w.message(1, |w| w.any_value(&Value::I64(*i))))
                }
                Array::F64(items) => {
                    items.iter().for_each(|f| w.message(1, |w| w.any_value(&Value::F64(*f))))
                }
                Array::String(items) => items.iter().for_each(|s| w.message(1, |w| w.any_string(s.as_str()))),
                // `Array` is non-exhaustive; a kind added later is sent as its text.
                other => w.message(1, |w| w.any_string(&other.to_string())),
            }),
            // `Value` is non-exhaustive too.
            other => self.any_string(&other.to_string()),
        }
    }

    /// `AnyValue.string_value = 1`.
    fn any_string(&mut self, text: &str) {
        self.tag(1, LENGTH_DELIMITED);
        self.varint(text.len() as u64);
        self.0.extend_from_slice(text.as_bytes());
    }

    /// `InstrumentationScope { name = 1, version = 2, attributes = 3 }`.
    fn scope(&mut self, scope: &InstrumentationScope) {
        self.string(1, scope.name());
        self.string(2, scope.version().unwrap_or_default());
        for kv in scope.attributes() {
            self.message(3, |w| w.key_value(kv.key.as_str(), &kv.value));
        }
    }

    fn ids(&mut self, context: &SpanContext) {
        self.bytes(1, &context.trace_id().to_bytes()); // trace_id = 1
        self.bytes(2, &context.span_id().to_bytes()); // span_id = 2
        let state = context.trace_state().header();
        self.string(3, &state); // trace_state = 3
    }

    /// `Span`, its fields in the order of their numbers, as prost writes them.
    fn span(&mut self, span: &SpanData) {
        self.ids(&span.span_context);
        if span.parent_span_id != SpanId::INVALID {
            self.bytes(4, &span.parent_span_id.to_bytes());
        }
        self.string(5, &span.name);
        self.uint(6, kind(&span.span_kind));
        self.fixed64(7, nanos(span.start_time));
        self.fixed64(8, nanos(span.end_time));
        self.attributes(9, &span.attributes);
        self.uint(10, u64::from(span.dropped_attributes_count));
        for event in span.events.iter() {
            // Span.events = 11: Event { time_unix_nano = 1, name = 2, attributes = 3, dropped = 4 }
            self.message(11, |w| {
                w.fixed64(1, nanos(event.timestamp));
                w.string(2, &event.name);
                w.attributes(3, &event.attributes);
                w.uint(4, u64::from(event.dropped_attributes_count));
            });
        }
        self.uint(12, u64::from(span.events.dropped_count));
        for link in span.links.iter() {
            // Span.links = 13: Link { ids 1-3, attributes = 4, dropped = 5, flags = 6 }
            self.message(13, |w| {
                w.ids(&link.span_context);
                w.attributes(4, &link.attributes);
                w.uint(5, u64::from(link.dropped_attributes_count));
                w.fixed32(6, flags(&link.span_context, link.span_context.is_remote()));
            });
        }
        self.uint(14, u64::from(span.links.dropped_count));
        // Span.status = 15: Status { message = 2, code = 3 }
        self.message(15, |w| match &span.status {
            Status::Unset => {}
            Status::Ok => w.uint(3, 1),
            Status::Error { description } => {
                w.string(2, description);
                w.uint(3, 2);
            }
        });
        self.fixed32(16, flags(&span.span_context, span.parent_span_is_remote)); // Span.flags = 16
    }
}

/// trace.proto's `SpanKind` numbers.
fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn flags(context: &SpanContext, remote: bool) -> u32 {
    let flags = u32::from(context.trace_flags().to_u8()) | CONTEXT_HAS_IS_REMOTE;
    if remote { flags | CONTEXT_IS_REMOTE } else { flags }
}

fn nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use std::{
        borrow::Cow,
        time::{Duration, SystemTime},
    };

    use opentelemetry::trace::{Event, Link, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::{
        common::tonic::ResourceAttributesWithSchema, trace::tonic::group_spans_by_resource_and_scope,
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message as _;

    use super::*;

    /// What the SDK's exporter sends for `batch`: its conversion, then prost.
    fn sdk_body(batch: &[SpanData], resource: &Resource) -> Vec<u8> {
        let resource_spans =
            group_spans_by_resource_and_scope(batch.to_vec(), &ResourceAttributesWithSchema::from(resource));
        ExportTraceServiceRequest { resource_spans }.encode_to_vec()
    }

    fn context(trace: u128, span: u64, flags: TraceFlags, remote: bool, state: &str) -> SpanContext {
        let state = if state.is_empty() { TraceState::NONE } else { state.parse().unwrap() };
        SpanContext::new(TraceId::from(trace), SpanId::from(span), flags, remote, state)
    }

    /// Every value type, at its edges: empty and long strings, negative and zero numbers, arrays.
    fn every_kind_of_value() -> Vec<KeyValue> {
        vec![
            KeyValue::new("http.route", "/orders"),
            KeyValue::new("empty", ""),
            KeyValue::new("unicode", "café ☕"),
            KeyValue::new("long", "x".repeat(200)),
            KeyValue::new("longer", "y".repeat(20_000)),
            KeyValue::new("count", 7_i64),
            KeyValue::new("negative", -42_i64),
            KeyValue::new("zero", 0_i64),
            KeyValue::new("min", i64::MIN),
            KeyValue::new("ratio", 0.25_f64),
            KeyValue::new("zero_f", 0.0_f64),
            KeyValue::new("yes", true),
            KeyValue::new("no", false),
            KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
            KeyValue::new("ids", Value::Array(Array::I64(vec![1, -1, 0]))),
            KeyValue::new("weights", Value::Array(Array::F64(vec![0.5, 0.0]))),
            KeyValue::new("tags", Value::Array(Array::String(vec!["a".into(), "".into()]))),
            KeyValue::new("none", Value::Array(Array::String(vec![]))),
        ]
    }

    fn span(context: SpanContext, scope: &InstrumentationScope) -> SpanData {
        let start = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_590_000_123_456_789);
        SpanData {
            span_context: context,
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("check_stock"),
            start_time: start,
            end_time: start + Duration::from_micros(1_234),
            attributes: vec![KeyValue::new("product.sku", "SKU-1")],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: scope.clone(),
        }
    }

    /// Spans of every shape the services make, and a few they do not, under two scopes.
    fn batch() -> (Vec<SpanData>, Resource) {
        let edge = InstrumentationScope::builder("shared-tracing").with_version("0.1.0").build();
        let other = InstrumentationScope::builder("other")
            .with_version("2")
            .with_schema_url("https://opentelemetry.io/schemas/1.38.0")
            .with_attributes([KeyValue::new("scope.attr", 1_i64)])
            .build();
        let trace = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

        let mut server = span(
            context(trace, 1, TraceFlags::SAMPLED, false, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            &edge,
        );
        server.name = Cow::Owned("POST /orders".to_owned());
        server.span_kind = SpanKind::Server;
        server.parent_span_id = SpanId::from(0x00f0_67aa_0ba9_02b7);
        server.parent_span_is_remote = true;
        server.attributes = every_kind_of_value();
        server.dropped_attributes_count = 3;
        server.events.events.push(Event::new(
            "Validating order",
            server.start_time,
            every_kind_of_value(),
            2,
        ));
        server.events.events.push(Event::new("", SystemTime::UNIX_EPOCH, vec![], 0));
        server.events.dropped_count = 4;
        server.status = Status::error("payment-service is unavailable");

        let mut client = span(context(trace, 2, TraceFlags::SAMPLED, false, ""), &edge);
        client.span_kind = SpanKind::Client;
        client.parent_span_id = SpanId::from(1);
        client.status = Status::Ok;
        client.links.links.push(Link::new(
            context(0x1234, 0x99, TraceFlags::SAMPLED, true, "vendor=x"),
            vec![KeyValue::new("demo.waited_for", "the write lock")],
            1,
        ));
        client.links.links.push(Link::new(
            context(0x5678, 0x77, TraceFlags::default(), false, ""),
            vec![],
            0,
        ));
        client.links.dropped_count = 5;

        let mut producer = span(context(trace, 3, TraceFlags::default(), false, ""), &other);
        producer.span_kind = SpanKind::Producer;
        producer.status = Status::error("");
        let mut consumer = span(context(trace, 4, TraceFlags::SAMPLED, false, ""), &edge);
        consumer.span_kind = SpanKind::Consumer;
        consumer.start_time = SystemTime::UNIX_EPOCH;
        consumer.end_time = SystemTime::UNIX_EPOCH;
        consumer.name = Cow::Borrowed("");
        consumer.attributes.clear();
        let internal = span(context(trace, 5, TraceFlags::SAMPLED, false, ""), &other);

        let resource = Resource::builder_empty()
            .with_schema_url(
                [KeyValue::new("service.name", "order-service")],
                "https://opentelemetry.io/schemas/1.38.0",
            )
            .with_attributes([
                KeyValue::new("service.version", "0.1.0"),
                KeyValue::new("process.pid", 42_i64),
            ])
            .build();
        (vec![server, client, producer, consumer, internal], resource)
    }

    #[test]
    fn the_body_is_byte_for_byte_what_the_sdk_exporter_sends() {
        let (batch, resource) = batch();
        let ours = encode(&batch, &resource);
        let theirs = sdk_body(&batch, &resource);
        // Decoded first, so that a difference shows as a field, not as a byte offset.
        assert_eq!(
            ExportTraceServiceRequest::decode(ours.as_slice()).unwrap(),
            ExportTraceServiceRequest::decode(theirs.as_slice()).unwrap()
        );
        assert_same_bytes(&ours, &theirs);
    }

    /// Byte equality, a difference shown as its offset and the bytes around it.
    fn assert_same_bytes(ours: &[u8], theirs: &[u8]) {
        if let Some(at) = (0..ours.len().max(theirs.len())).find(|&i| ours.get(i) != theirs.get(i)) {
            let around = |bytes: &[u8]| bytes[at.saturating_sub(16)..(at + 16).min(bytes.len())].to_vec();
            panic!(
                "bytes differ at {at} of {}/{}: ours {:?}, the SDK's {:?}",
                ours.len(),
                theirs.len(),
                around(ours),
                around(theirs)
            );
        }
    }

    #[test]
    fn each_span_alone_and_an_empty_batch_too() {
        let (batch, resource) = batch();
        for span in &batch {
            assert_same_bytes(
                &encode(std::slice::from_ref(span), &resource),
                &sdk_body(std::slice::from_ref(span), &resource),
            );
        }
        assert_same_bytes(&encode(&[], &resource), &sdk_body(&[], &resource));
        let empty = Resource::builder_empty().build();
        assert_same_bytes(&encode(&batch, &empty), &sdk_body(&batch, &empty));
    }
}
