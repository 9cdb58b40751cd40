//! The OTLP/HTTP receiver over real HTTP: protobuf and OTLP/JSON exports in, spans out.

use std::time::Duration;

use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind, status::StatusCode},
};
use prost::Message as _;
use tracectl::{
    model::{self, Kind, Value},
    receiver::{self, SpanStore},
};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn request() -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: vec![0x4b; 16],
        span_id: vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        parent_span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        name: "POST /orders".into(),
        kind: SpanKind::Server as i32,
        // The SDK's flags for a SERVER span whose caller sent `traceparent`: the parent is
        // remote (bits 8 and 9), and the trace flags' sampled bit.
        flags: 0x301,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_250_000_000,
        attributes: vec![
            kv("http.route", any_value::Value::StringValue("/orders".into())),
            kv("http.response.status_code", any_value::Value::IntValue(503)),
            kv("ratio", any_value::Value::DoubleValue(0.5)),
            kv("retry", any_value::Value::BoolValue(true)),
            kv("raw", any_value::Value::BytesValue(vec![1, 2])),
            kv(
                "list",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue { value: Some(any_value::Value::IntValue(1)) }],
                }),
            ),
            kv(
                "map",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv("nested", any_value::Value::StringValue("yes".into()))],
                }),
            ),
        ],
        status: Some(Status {
            message: "payment-service is unavailable".into(),
            code: StatusCode::Error as i32,
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", any_value::Value::StringValue("order-service".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn assert_decoded(spans: &[model::Span]) {
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.trace_id, "4b".repeat(16));
    assert_eq!(span.span_id, "00f067aa0ba902b7");
    assert_eq!(span.parent_span_id.as_deref(), Some("0102030405060708"));
    assert!(span.parent_is_remote);
    assert_eq!(
        (span.kind, span.service_name.as_str(), span.name.as_str()),
        (Kind::Server, "order-service", "POST /orders")
    );
    assert_eq!(span.duration_nanos(), 250_000_000);
    assert_eq!(span.str_attribute("http.route"), Some("/orders"));
    assert_eq!(span.attribute("http.response.status_code"), Some(&Value::Int(503)));
    assert_eq!(span.attribute("ratio"), Some(&Value::Double(0.5)));
    assert_eq!(span.attribute("retry"), Some(&Value::Bool(true)));
    assert_eq!(span.attribute("raw"), Some(&Value::Bytes(vec![1, 2])));
    assert_eq!(span.attribute("list"), Some(&Value::Array(vec![Value::Int(1)])));
    let nested = std::collections::BTreeMap::from([("nested".to_owned(), Value::Str("yes".into()))]);
    assert_eq!(span.attribute("map"), Some(&Value::Map(nested)));
    assert_eq!(span.status, model::StatusCode::Error);
    assert_eq!(span.status_message, "payment-service is unavailable");
}

async fn post(body: Vec<u8>, content_type: &str) -> (u16, SpanStore) {
    let (status, _, store) = post_encoded(body, content_type, None).await;
    (status, store)
}

/// Posts `body` with `Content-Encoding: encoding`; returns the status, the response and the store.
async fn post_encoded(
    body: Vec<u8>,
    content_type: &str,
    encoding: Option<&str>,
) -> (u16, reqwest::Response, SpanStore) {
    let running = receiver::spawn("127.0.0.1:0".parse().unwrap(), SpanStore::default()).await.unwrap();
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/traces", running.endpoint()))
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response, running.store.clone())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_deflate_or_zstd_compressed_export_is_decompressed_then_decoded() {
    // gzip is what every OTLP server must accept (opentelemetry-proto docs/specification.md).
    let (status, _, store) =
        post_encoded(gzip(&request().encode_to_vec()), "application/x-protobuf", Some("gzip")).await;
    assert_eq!(status, 200);
    assert_decoded(&store.spans());
    let json = serde_json::to_vec(&request()).unwrap();
    let (status, _, store) = post_encoded(deflate(&json), "application/json", Some("deflate")).await;
    assert_eq!(status, 200);
    assert_decoded(&store.spans());
    // zstd: what the Collector's exporters and the Rust SDK's `zstd-http` feature can send.
    let zstd = zstd::encode_all(&request().encode_to_vec()[..], 3).unwrap();
    let (status, _, store) = post_encoded(zstd, "application/x-protobuf", Some("zstd")).await;
    assert_eq!(status, 200);
    assert_decoded(&store.spans());
    let (status, _, _) = post_encoded(b"not zstd".to_vec(), "application/x-protobuf", Some("zstd")).await;
    assert_eq!(status, 400, "not zstd at all");
}

/// The request's span, and beside it spans whose ids the OTLP trace proto calls invalid.
fn with_invalid_ids() -> ExportTraceServiceRequest {
    let mut request = request();
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    let good = spans[0].clone();
    spans.push(Span { trace_id: vec![0; 16], ..good.clone() });
    spans.push(Span { span_id: vec![1, 2, 3, 4], ..good.clone() });
    spans.push(Span { trace_id: Vec::new(), ..good });
    request
}

#[tokio::test]
async fn spans_with_invalid_ids_are_refused_and_the_answer_is_a_partial_success_that_counts_them() {
    // OTLP/HTTP "Partial Success": 200, with `partial_success` saying how many and why.
    let (status, response, store) =
        post_encoded(with_invalid_ids().encode_to_vec(), "application/x-protobuf", None).await;
    assert_eq!(status, 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    let partial = answer.partial_success.expect("a partial success");
    assert_eq!(partial.rejected_spans, 3);
    assert!(partial.error_message.contains("trace id must be 16 bytes"), "{}", partial.error_message);
    assert_decoded(&store.spans());

    let json = serde_json::to_vec(&with_invalid_ids()).unwrap();
    let (status, response, store) = post_encoded(json, "application/json", None).await;
    assert_eq!(status, 200);
    let answer: ExportTraceServiceResponse =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success.map(|p| p.rejected_spans), Some(3));
    assert_decoded(&store.spans());

    // Everything taken: no partial success at all.
    let (_, response, _) = post_encoded(request().encode_to_vec(), "application/x-protobuf", None).await;
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success, None);
}

#[tokio::test]
async fn an_unknown_encoding_is_a_415_that_lists_the_accepted_ones_and_a_corrupt_or_bomb_body_is_refused() {
    let body = request().encode_to_vec();
    let (status, response, store) = post_encoded(body.clone(), "application/x-protobuf", Some("br")).await;
    assert_eq!(status, 415);
    assert_eq!(response.headers()["accept-encoding"], "gzip, deflate, zstd");
    assert!(response.text().await.unwrap().contains("\"br\" is not supported"));
    assert!(store.spans().is_empty());

    let (status, _, _) = post_encoded(body, "application/x-protobuf", Some("gzip")).await;
    assert_eq!(status, 400, "not gzip at all");

    // 40 MiB of zeros compress to about 40 KiB: past the decompressed limit, so a 413.
    let bomb = gzip(&vec![0_u8; receiver::MAX_DECOMPRESSED + (8 << 20)]);
    assert!(bomb.len() < 1 << 20);
    let (status, _, _) = post_encoded(bomb, "application/x-protobuf", Some("gzip")).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn a_protobuf_export_is_decoded_into_spans() {
    let (status, store) = post(request().encode_to_vec(), "application/x-protobuf").await;
    assert_eq!(status, 200);
    assert_decoded(&store.spans());
}

#[tokio::test]
async fn an_otlp_json_export_with_hex_ids_and_string_nanos_is_decoded_into_spans() {
    let json = serde_json::to_string(&request()).unwrap();
    assert!(json.contains("\"traceId\":\"4b4b"), "OTLP/JSON uses hex ids: {json}");
    assert!(
        json.contains("\"startTimeUnixNano\":\"1700000000000000000\""),
        "and nanoseconds as strings: {json}"
    );
    let (status, store) = post(json.into_bytes(), "application/json").await;
    assert_eq!(status, 200);
    assert_decoded(&store.spans());
}

#[tokio::test]
async fn garbage_is_a_400_and_an_unknown_content_type_a_415() {
    assert_eq!(post(b"\xff\xfe not protobuf".to_vec(), "application/x-protobuf").await.0, 400);
    assert_eq!(post(b"{".to_vec(), "application/json").await.0, 400);
    assert_eq!(post(b"x".to_vec(), "text/plain").await.0, 415);
}

#[tokio::test]
async fn the_store_keeps_at_most_its_capacity_dropping_the_oldest() {
    let store = SpanStore::with_capacity(2);
    let mut spans = model::spans_from_request(&request());
    let mut newer = spans[0].clone();
    newer.span_id = "ffffffffffffffff".into();
    spans.push(spans[0].clone());
    spans.push(newer);
    assert_eq!(store.push(spans), 1);
    let kept = store.spans();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1].span_id, "ffffffffffffffff");
}

#[tokio::test]
async fn wait_for_returns_what_arrived_when_the_condition_never_holds() {
    let store = SpanStore::default();
    store.push(model::spans_from_request(&request()));
    let outcome = store.wait_for(Duration::from_millis(20), |spans| spans.len() > 1).await;
    assert_eq!(outcome.unwrap_err().len(), 1);
}
