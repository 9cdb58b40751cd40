//! `tracectl`'s Jaeger client against the real Jaeger 2.12.0 (whose search parser every release
//! up to 2.18 shares): `services`, `operations` and every `search` flag, each answer checked
//! against the checkouts the test sent.

use std::collections::BTreeSet;

use axum::{Router, extract::RawQuery, routing::get};
use jaeger_stand_in::{Parser, Store, find_traces};
use serde_json::Value;

use super::{Jaeger, poll_json, tool};
use crate::support::*;

/// `tracectl --json <args> --jaeger <url>`'s answer, which must succeed.
fn tracectl(args: &[&str], jaeger: &str) -> (Value, String) {
    let output = std::process::Command::new(binary("tracectl"))
        .arg("--json")
        .args(args)
        .args(["--jaeger", jaeger])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "tracectl {args:?}: {stderr}");
    (serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}")), stderr)
}

fn trace_ids(rows: &Value) -> BTreeSet<String> {
    rows.as_array().unwrap().iter().map(|r| r["trace_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tracectl_search_services_and_operations_answer_what_was_sent_to_the_real_jaeger() {
    let Some(jaeger) = tool("jaeger") else { return };
    let store = Jaeger::start(&jaeger, "config.yaml", &[]).await;
    // Over OTLP/gRPC, as compose's services can too (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`), with
    // each checkout's `trace_url` pointing at this Jaeger.
    let query = store.url("JAEGER_QUERY_HTTP_PORT");
    let settings = [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("JAEGER_UI_URL", &query)];
    let stack = Stack::start(&store.url("JAEGER_OTLP_GRPC_PORT"), &settings).await;
    // Three happy checkouts, one that fails (Stripe down), one slow (Stripe slow, retried).
    let mut sent = Vec::new();
    for baggage in [None, None, None, Some("scenario=stripe-outage"), Some("scenario=slow-stripe")] {
        let response = match baggage {
            Some(value) => post_checkout_with(&stack, "baggage", value).await,
            None => post_checkout(&stack).await,
        };
        let failed = !response.status().is_success();
        let body: Value = response.json().await.unwrap();
        let trace_id = trace_id_of(&body);
        // A confirmed order names the UI's route for its trace (an error, only the trace id); the
        // API holds the trace at /api/v3/traces/<id>, polled below.
        if !failed {
            assert_eq!(body["trace_url"], format!("{query}/trace/{trace_id}"), "{body}");
        }
        sent.push((trace_id, failed, baggage));
    }
    // Every span flushed at exit, and stored by Jaeger (its own counts agree); each trace's root
    // (the gateway's SERVER span) is where its `trace_url` names it, before any search.
    stack.stop().await;
    store.wait_stored().await;
    for (trace_id, _, _) in &sent {
        poll_json(&format!("{query}/api/v3/traces/{trace_id}"), SPANS_TIMEOUT, has_root).await;
    }
    let all: BTreeSet<String> = sent.iter().map(|(id, _, _)| id.clone()).collect();
    let failed: BTreeSet<String> = sent.iter().filter(|(_, f, _)| *f).map(|(id, _, _)| id.clone()).collect();
    assert_eq!(failed.len(), 1, "{sent:?}");

    let (services, _) = tracectl(&["services"], &query);
    let services: BTreeSet<&str> = services.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    // And `jaeger`, its own query API's spans (as under compose), once it has flushed them.
    let ours: BTreeSet<&str> = services.iter().copied().filter(|s| *s != "jaeger").collect();
    assert_eq!(ours, BTreeSet::from(["gateway", "order-service", "payment-service", "stripe"]));
    let (operations, _) = tracectl(&["operations", "--service", "gateway"], &query);
    assert!(operations.to_string().contains("POST /api/checkout"), "{operations}");

    let (rows, _) = tracectl(&["search", "--service", "gateway"], &query);
    assert_eq!(trace_ids(&rows), all, "every checkout");
    let (rows, _) =
        tracectl(&["search", "--service", "gateway", "--operation", "POST /api/checkout"], &query);
    assert_eq!(trace_ids(&rows), all, "every checkout is a POST /api/checkout");
    let (rows, _) = tracectl(&["search", "--service", "gateway", "--operation", "GET /health"], &query);
    assert!(trace_ids(&rows).is_empty(), "no health check was traced: {rows}");
    let (rows, note) = tracectl(&["search", "--service", "gateway", "--errors"], &query);
    assert_eq!(trace_ids(&rows), failed, "only the failed checkout");
    assert!(note.contains("ignores the error filter"), "2.12 has no attribute search over HTTP: {note}");
    let (rows, _) = tracectl(&["search", "--service", "gateway", "--limit", "2"], &query);
    assert_eq!(trace_ids(&rows).len(), 2, "{rows}");
    // The slowest checkout (Stripe slow, retried) is found by a duration just under its own.
    let (rows, _) = tracectl(&["search", "--service", "gateway"], &query);
    let slowest = &rows[0];
    let nanos = slowest["duration_nanos"].as_u64().unwrap();
    let min = format!("{}us", nanos / 1000 - 1);
    let (rows, _) = tracectl(&["search", "--service", "gateway", "--min-duration", &min], &query);
    assert_eq!(trace_ids(&rows), BTreeSet::from([slowest["trace_id"].as_str().unwrap().to_owned()]), "{min}");

    // The stand-in that tracectl's own tests play Jaeger with, holding the very traces the real
    // one holds (read back from it, in the order sent), answers every search above the same,
    // with either of Jaeger's parsers: the one of 2.12 (as the real one) and that of 2.19+.
    // In the order the real one holds them (its memory store keeps traces in the order their
    // first span arrived, which need not be the order sent): its own answer, newest first.
    let mut held = Vec::new();
    for trace_id in arrival_order(&query).await.iter().rev() {
        held.push(poll_json(&format!("{query}/api/v3/traces/{trace_id}"), SPANS_TIMEOUT, has_root).await);
    }
    assert_eq!(held.len(), sent.len());
    let searches: [&[&str]; 6] = [
        &[],
        &["--operation", "POST /api/checkout"],
        &["--operation", "GET /health"],
        &["--errors"],
        &["--limit", "2"],
        &["--min-duration", &min],
    ];
    for parser in [Parser::HttpGateway, Parser::QueryParser] {
        let stand_in = stand_in(parser, Store::of(&held)).await;
        for extra in searches {
            let args: Vec<&str> =
                ["search", "--service", "gateway"].iter().copied().chain(extra.iter().copied()).collect();
            let (real, real_note) = tracectl(&args, &query);
            let (played, played_note) = tracectl(&args, &stand_in);
            assert_eq!(trace_ids(&played), trace_ids(&real), "{parser:?} {extra:?}");
            if matches!(parser, Parser::HttpGateway) {
                assert_eq!(played_note, real_note, "{extra:?}: the same note, or none");
            }
        }
    }
    store.stop().await;
}

/// The gateway's traces the Jaeger at `query` holds, newest first, as its search answers them.
async fn arrival_order(query: &str) -> Vec<String> {
    let url = format!(
        "{query}/api/v3/traces?query.service_name=gateway&query.num_traces=100\
         &query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z"
    );
    let answer: Value = http().get(url).send().await.unwrap().json().await.unwrap();
    let mut order: Vec<String> = Vec::new();
    let resource_spans = answer["result"]["resourceSpans"].as_array().into_iter().flatten();
    let scope_spans = resource_spans.flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten());
    for span in scope_spans.flat_map(|s| s["spans"].as_array().into_iter().flatten()) {
        let id = span["traceId"].as_str().unwrap().to_owned();
        if !order.contains(&id) {
            order.push(id);
        }
    }
    order
}

/// Serves `store` as Jaeger's `/api/v3/traces` search, read by `parser`; its URL.
async fn stand_in(parser: Parser, store: Store) -> String {
    let store = std::sync::Arc::new(store);
    let search = move |RawQuery(query): RawQuery| {
        let store = store.clone();
        async move { find_traces(parser, &store, &query.unwrap_or_default()) }
    };
    let app = Router::new().route("/api/v3/traces", get(search));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Whether an api_v3 answer (OTLP JSON under `result`) holds a span without a parent.
fn has_root(answer: &Value) -> bool {
    let resource_spans = answer["result"]["resourceSpans"].as_array().into_iter().flatten();
    let scope_spans = resource_spans.flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten());
    let mut spans = scope_spans.flat_map(|s| s["spans"].as_array().into_iter().flatten());
    spans.any(|span| span["parentSpanId"].as_str().is_none_or(str::is_empty))
}
