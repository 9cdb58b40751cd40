//! Context crosses both ways between edge spans (OpenTelemetry API) and internal spans
//! (`tracing`, bridged): a `tracing` span opened in a handler is the SERVER span's child, and a
//! CLIENT span started inside a `tracing` span is *its* child, and is what the next hop is told.

use std::time::Duration;

use axum::{Router, body::Body, http::Request, routing::get};
use opentelemetry::trace::{SpanId, SpanKind};
use shared_tracing::{inbound, outbound::TracedClient};
use tower::ServiceExt as _;
use tracing::Instrument as _;

use shared_tracing_testing::TestTelemetry;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A downstream service that answers with the `traceparent` it was sent.
async fn echo_traceparent() -> String {
    let app = Router::new().route(
        "/echo",
        get(|headers: axum::http::HeaderMap| async move {
            headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_tracing_span_in_a_handler_is_a_child_of_the_server_span_and_a_client_span_inside_it_is_its_child()
{
    // Arrange: a traced router whose handler does its work in a `tracing` span and calls a
    // downstream service from inside it.
    let telemetry = TestTelemetry::start();
    let downstream = echo_traceparent().await;
    let client = TracedClient::new(telemetry.tracer(), "echo", &downstream, Duration::from_secs(5))
        .expect("valid url");
    let handler = move || async move {
        tracing::info!("Handling the request");
        let sent = async {
            tracing::info!("Calling downstream");
            client.get("/echo", "/echo").await.map(|r| String::from_utf8_lossy(&r.body).into_owned())
        }
        .instrument(tracing::info_span!("internal_work", work.kind = "lesson"))
        .await;
        sent.unwrap_or_default()
    };
    let app = inbound::traced(Router::new().route("/work", get(handler)), telemetry.tracer());

    // Act: a request from a caller whose trace it continues.
    let request = Request::get("/work")
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("response");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
    let sent_traceparent = String::from_utf8_lossy(&body).into_owned();

    // Assert: one trace, parent by parent.
    let server = telemetry.span("GET /work");
    let internal = telemetry.span("internal_work");
    let client = telemetry.span("GET /echo");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(internal.span_kind, SpanKind::Internal);
    assert_eq!(client.span_kind, SpanKind::Client);
    for span in [&server, &internal, &client] {
        assert_eq!(span.span_context.trace_id().to_string(), CALLER_TRACE, "{}", span.name);
    }
    assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN, "the SERVER span continues the caller's");
    assert_eq!(internal.parent_span_id, server.span_context.span_id(), "tracing span under the SERVER span");
    assert_eq!(client.parent_span_id, internal.span_context.span_id(), "CLIENT span under the tracing span");
    assert_ne!(client.parent_span_id, SpanId::INVALID);
    assert_eq!(
        sent_traceparent,
        format!("00-{CALLER_TRACE}-{}-01", client.span_context.span_id()),
        "the next hop is told the CLIENT span, the span that called it"
    );

    // Each event is on the span it happened in, once.
    let events = |span: &opentelemetry_sdk::trace::SpanData| {
        span.events.events.iter().map(|e| e.name.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(events(&server), ["Handling the request"]);
    assert_eq!(events(&internal), ["Calling downstream"]);
    assert!(
        internal.attributes.iter().any(|kv| kv.key.as_str() == "work.kind" && kv.value.as_str() == "lesson"),
        "a field of the tracing span is an attribute: {:?}",
        internal.attributes
    );
}

#[tokio::test]
async fn only_the_projects_info_spans_become_spans_not_debug_spans_or_the_http_stacks() {
    // Arrange
    let telemetry = TestTelemetry::start();

    // Act: spans at levels and targets a service's dependencies use.
    tracing::info_span!("ours").in_scope(|| {
        tracing::debug_span!("a_debug_detail").in_scope(|| {});
        tracing::info_span!(target: "hyper::proto", "hyper_internal").in_scope(|| {});
        tracing::info_span!(target: "reqwest::connect", "reqwest_internal").in_scope(|| {});
    });

    // Assert
    let names: Vec<String> = telemetry.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["ours"]);
}
