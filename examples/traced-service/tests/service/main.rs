//! The example service, run for real: its binary started as a process, exporting to an OTLP
//! receiver run by the test, called over HTTP, stopped with SIGTERM. What the README promises a
//! reader who copies it: one trace, SERVER → `greet` (a `tracing` span) → CLIENT, whose context
//! the downstream service receives, and every span flushed at shutdown.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::{process::Stdio, time::Duration};

use axum::{Router, http::HeaderMap, routing::get};
use nix::{sys::signal, unistd::Pid};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::Command,
    sync::mpsc,
};
use tracectl::{
    model::Kind,
    receiver::{self, SpanStore},
};

/// A downstream service that answers `/whoami` and hands the test the `traceparent` it was sent.
async fn downstream() -> (String, mpsc::UnboundedReceiver<String>) {
    let (sent, received) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/whoami",
        get(move |headers: HeaderMap| async move {
            let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let _ = sent.send(traceparent.to_owned());
            "a reader"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_service_makes_one_trace_server_then_its_tracing_span_then_client_and_flushes_it() {
    // Arrange: a receiver, a downstream service, and the example exporting to the one and calling
    // the other. It learns its port from the OS; the test reads it from the "listening" log line.
    let otlp = receiver::spawn("127.0.0.1:0".parse().unwrap(), SpanStore::default()).await.unwrap();
    let (downstream_url, mut traceparents) = downstream().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_traced-service"))
        .env("PORT", "0")
        .env("DOWNSTREAM_URL", &downstream_url)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next_line().await.unwrap().expect("the service exited before listening");
        if let Some((_, rest)) = line.split_once("address=") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    // Act: one request, then SIGTERM; the exported spans arrive during the shutdown flush at the latest.
    let response = reqwest::get(format!("http://{address}/hello")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    signal::kill(Pid::from_raw(child.id().unwrap() as i32), signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().await.unwrap().success(), "exit 0 after SIGTERM");

    // Assert
    assert_eq!(body, "hello, a reader");
    let spans = otlp.store.wait_for(Duration::from_secs(10), |spans| spans.len() >= 3).await.unwrap();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let find =
        |name: &str| spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name}: {spans:#?}"));
    let (server, greet, client) = (find("GET /hello"), find("greet"), find("GET /whoami"));
    assert_eq!((server.kind, greet.kind, client.kind), (Kind::Server, Kind::Internal, Kind::Client));
    assert!(spans.iter().all(|s| s.trace_id == server.trace_id && s.service_name == "traced-service"));
    assert_eq!(greet.parent_span_id.as_deref(), Some(server.span_id.as_str()), "greet under the SERVER span");
    assert_eq!(client.parent_span_id.as_deref(), Some(greet.span_id.as_str()), "the call under greet");
    assert_eq!(
        greet.events.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["Asking downstream who is there"]
    );
    let traceparent = traceparents.recv().await.unwrap();
    assert_eq!(
        traceparent,
        format!("00-{}-{}-03", server.trace_id, client.span_id),
        "downstream told the CLIENT span (sampled, and random: W3C Level 2, the trace began here)"
    );
}
