//! The terminal and Jaeger tell one story: every scenario's and every mistake's trace, as
//! `tracectl show` draws it from the store `tracectl listen` writes and as it reads it back from
//! the real Jaeger, has the same spans, parents, kinds, statuses and attributes; and `tracectl
//! lint` finds the same over Jaeger as over the store.
//!
//! The services export to a receiver run by the test, which keeps each export request as
//! `listen --store` does (OTLP/JSON, a line each); those very requests are then sent to Jaeger's
//! OTLP/HTTP receiver as JSON, so both views hold the same spans. (The services' own export to
//! Jaeger, over http/protobuf and gRPC, is `sampling.rs`'s and `search.rs`'s.)

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
};

use checkout_domain::{mistake::Mistake, scenario::Scenario};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;
use tracectl::{
    receiver::{self, Sink, SpanStore},
    store::FileStore,
};

use super::{Jaeger, tool};
use crate::support::*;

/// What `listen --store` keeps, and the spans, as they arrive.
#[derive(Clone)]
struct Kept {
    file: FileStore,
    spans: SpanStore,
}

impl Sink for Kept {
    fn accept(&self, request: &ExportTraceServiceRequest) -> u64 {
        self.file.append(request);
        self.spans.accept(request)
    }
}

/// `tracectl --json <args>`'s answer (a nonzero exit is fine: lint exits 1 when it finds).
fn tracectl(args: &[&str]) -> Value {
    let output = Command::new(binary("tracectl")).arg("--json").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("tracectl {args:?}: {e}: {stdout}{}", String::from_utf8_lossy(&output.stderr))
    })
}

/// A trace as `show --json` prints it, each span keyed by its id.
fn spans_by_id(trace: &Value) -> BTreeMap<String, Value> {
    let spans = trace["spans"].as_array().unwrap_or_else(|| panic!("no spans: {trace}"));
    spans.iter().map(|s| (s["span_id"].as_str().unwrap().to_owned(), s.clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scenario_and_mistake_reads_the_same_from_the_store_and_from_the_real_jaeger() {
    let Some(jaeger) = tool("jaeger") else { return };
    let store = Jaeger::start(&jaeger, "config.yaml", &[]).await;
    let path = fresh_db_path().with_file_name("traces.jsonl");
    let kept = Kept { file: FileStore::open(&path, 64 << 20).unwrap(), spans: SpanStore::default() };
    let receiver = receiver::spawn("127.0.0.1:0".parse().unwrap(), kept.clone()).await.unwrap();
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let queries = Scenario::ALL
        .iter()
        .map(|s| format!("scenario={}", s.name()))
        .chain(Mistake::ALL.iter().map(|m| format!("mistake={}", m.name())));
    let mut traces = Vec::new();
    for query in queries {
        let url = format!("{}?{query}", stack.gateway.url() + "/api/checkout");
        let answer: Value =
            http().post(url).json(&checkout_body()).send().await.unwrap().json().await.unwrap();
        traces.push((query, trace_id_of(&answer)));
    }
    stack.stop().await; // every span flushed to the receiver

    // The store's export requests, as they are, to Jaeger.
    // Then everything Jaeger accepted is stored (its own counts agree) before it is read.
    relay(&path, &store.url("JAEGER_OTLP_HTTP_PORT")).await;
    store.wait_stored().await;
    let query = store.url("JAEGER_QUERY_HTTP_PORT");
    let file = path.to_string_lossy().into_owned();
    for (what, trace_id) in &traces {
        // A span exported twice (an export retried) is one span in either view.
        let sent: BTreeSet<String> = kept
            .spans
            .spans()
            .iter()
            .filter(|s| s.trace_id == *trace_id)
            .map(|s| s.span_id.clone())
            .collect();
        let from_store = spans_by_id(&tracectl(&["show", trace_id, "--file", &file]));
        let mut from_jaeger = spans_by_id(&tracectl(&["show", trace_id, "--jaeger", &query]));
        // Jaeger's own notes, added when it reads a trace back (its clock-skew adjuster:
        // `cmd/query/app/querysvc/v2/adjuster/clockskew.go` at v2.12.0), are not what was sent.
        for span in from_jaeger.values_mut() {
            if let Some(attributes) = span["attributes"].as_object_mut() {
                attributes.remove("@jaeger@warnings");
            }
        }
        assert_eq!(from_store.len(), sent.len(), "{what}");
        assert_eq!(differences(&from_store, &from_jaeger), Vec::<String>::new(), "{what}");
    }

    let mut over_store = tracectl(&["lint", "--file", &file]).as_array().unwrap().clone();
    let services = ["gateway", "order-service", "payment-service", "stripe"];
    let mut args = vec!["lint", "--limit", "100", "--jaeger", &query];
    for service in &services {
        args.extend(["--service", service]);
    }
    let mut over_jaeger = tracectl(&args).as_array().unwrap().clone();
    let key = |finding: &Value| finding.to_string();
    over_store.sort_by_key(key);
    over_jaeger.sort_by_key(key);
    assert!(!over_store.is_empty(), "the mistakes are found");
    assert_eq!(over_store, over_jaeger, "lint over the store and over Jaeger");
    store.stop().await;
}

/// POSTs each line of the store `path` (an OTLP/JSON export request) to Jaeger's OTLP/HTTP receiver.
async fn relay(path: &Path, otlp: &str) {
    let client = http();
    for line in std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.is_empty()) {
        let response = client
            .post(format!("{otlp}/v1/traces"))
            .header("content-type", "application/json")
            .body(line.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    }
}

/// Each field of a span that differs between the two views: `span name: field: store ≠ Jaeger`.
fn differences(store: &BTreeMap<String, Value>, jaeger: &BTreeMap<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    for (id, span) in store {
        let Some(other) = jaeger.get(id) else {
            found.push(format!("{}: not in Jaeger", span["name"]));
            continue;
        };
        for (field, value) in span.as_object().unwrap() {
            if other[field] != *value {
                found.push(format!("{}: {field}: {value} ≠ {}", span["name"], other[field]));
            }
        }
    }
    found.extend(
        jaeger.keys().filter(|id| !store.contains_key(*id)).map(|id| format!("{id}: only in Jaeger")),
    );
    found
}
