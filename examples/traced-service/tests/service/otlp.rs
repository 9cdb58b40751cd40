//! The example exporting over OTLP to a receiver run by the test: `GET /relay` calls the service's
//! own `/hello`, so one request makes a trace that crosses a call, as two services would.

use std::time::Duration;

use tracectl::{
    model::Kind,
    receiver::{self, SpanStore},
};

use crate::{start, stop};

#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_request_is_one_trace_server_span_call_and_the_callees_spans_each_under_the_last() {
    // Arrange: a receiver, and the example exporting to it.
    let otlp = receiver::spawn("127.0.0.1:0".parse().unwrap(), SpanStore::default()).await.unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_traced-service"));
    let (mut child, _lines, address) =
        start(binary, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.endpoint())]).await;

    // Act: one request, then SIGTERM; the spans arrive during the shutdown flush at the latest.
    let response = reqwest::get(format!("http://{address}/relay")).await.unwrap();
    assert_eq!(response.status(), 200);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap().to_owned();
    let body = response.text().await.unwrap();
    assert!(stop(&mut child).await.success(), "exit 0 after SIGTERM");

    // Assert
    assert_eq!(body, "downstream said: hello, world\n");
    let spans = otlp.store.wait_for(Duration::from_secs(10), |spans| spans.len() >= 5).await.unwrap();
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let find = |name: &str, kind: Kind| {
        let found = spans.iter().find(|s| s.name == name && s.kind == kind);
        found.unwrap_or_else(|| panic!("no {kind:?} {name}: {spans:#?}"))
    };
    let relay = find("GET /relay", Kind::Server);
    let ask = find("ask_downstream", Kind::Internal);
    let call = find("GET /hello", Kind::Client);
    let callee = find("GET /hello", Kind::Server);
    let greet = find("greet", Kind::Internal);
    assert!(spans.iter().all(|s| s.trace_id == relay.trace_id && s.service_name == "traced-service"));
    let parent = |span: &tracectl::model::Span| span.parent_span_id.clone().unwrap_or_default();
    assert_eq!(relay.parent_span_id, None, "the trace starts here");
    assert_eq!(parent(ask), relay.span_id, "ask_downstream (a tracing span) under the SERVER span");
    assert_eq!(parent(call), ask.span_id, "the call under ask_downstream");
    assert_eq!(parent(callee), call.span_id, "the callee's SERVER span under the CLIENT span");
    assert!(callee.parent_is_remote, "its parent came in traceparent");
    assert_eq!(parent(greet), callee.span_id, "greet under the callee's SERVER span");
    assert_eq!(greet.events.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["Greeting"]);
    assert_eq!(greet.attributes.get("name").and_then(|v| v.as_str()), Some("world"));
    assert_eq!(
        traceresponse,
        format!("00-{}-{}-01", relay.trace_id, relay.span_id),
        "sampled; the SDK's propagator sets no Level 2 `random` flag (opentelemetry-rust#3270)"
    );
}
