//! The W3C Trace Context suite's participant (`examples/w3c_tracecontext.rs`) driven the way the
//! suite drives one (w3c/trace-context `test/README.md`, "Implement Test Service"): a harness
//! POSTs `[{"url", "arguments"}]` to `/test` with the headers of a case, and reads the headers of
//! the callbacks the participant makes to it. Each case below restates one of the suite's
//! (`test/test.py`), by its name there; the rules themselves are tested one by one in
//! `shared_tracing_hardening::w3c`. The participant runs with that strict layer, as its `main` does.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::{Arc, Mutex};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use opentelemetry::trace::SpanKind;
use serde_json::{Value, json};
use shared_tracing_testing::TestTelemetry;

#[allow(dead_code)] // its `main`: the test serves its `app`
#[path = "../../examples/w3c_tracecontext.rs"]
mod participant;

/// What each callback to the harness carried: its `traceparent` and `tracestate` lines.
type Callbacks = Arc<Mutex<Vec<(Vec<String>, Vec<String>)>>>;

struct Harness {
    participant: String,
    harness: String,
    callbacks: Callbacks,
    http: reqwest::Client,
}

impl Harness {
    async fn start(telemetry: &TestTelemetry) -> Self {
        let callbacks = Callbacks::default();
        let record = |State(seen): State<Callbacks>, headers: HeaderMap| async move {
            let lines = |name| headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
            seen.lock().unwrap().push((lines("traceparent"), lines("tracestate")));
        };
        let harness =
            serve(Router::new().route("/callback/{id}", post(record)).with_state(callbacks.clone())).await;
        let participant = serve(participant::app(telemetry.tracer())).await;
        let http = reqwest::Client::new();
        Self { participant, harness, callbacks, http }
    }

    /// Sends the participant `headers` and `calls` callbacks to make; returns each callback's
    /// `traceparent` and `tracestate`, joined.
    async fn case(&self, headers: &[(&str, &str)], calls: usize) -> Vec<(String, String)> {
        let arguments: Vec<Value> = (0..calls)
            .map(|i| json!({"url": format!("{}/callback/{i}", self.harness), "arguments": []}))
            .collect();
        self.send(headers, &Value::Array(arguments)).await;
        self.callbacks.lock().unwrap().drain(..).map(|(tp, ts)| (tp.join("|"), ts.join(","))).collect()
    }

    async fn send(&self, headers: &[(&str, &str)], body: &Value) {
        let mut request = self.http.post(format!("{}/test", self.participant)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";

fn trace_of(traceparent: &str) -> &str {
    &traceparent[3..35]
}

#[tokio::test]
async fn the_participant_passes_the_suites_cases() {
    let telemetry = TestTelemetry::start();
    let strict = shared_tracing_hardening::w3c::propagator(&shared_tracing::config::Propagators::w3c());
    shared_tracing::propagation::install(strict);
    let harness = Harness::start(&telemetry).await;
    let valid = format!("00-{TRACE}-{PARENT}-01");

    // test_both_traceparent_and_tracestate_missing: a valid traceparent of a new trace.
    let [(tp, ts)] = harness.case(&[], 1).await.try_into().unwrap();
    assert!(tp.len() == 55 && tp.starts_with("00-") && trace_of(&tp) != TRACE, "{tp}");
    assert_eq!(ts, "", "no empty tracestate is sent");

    // test_traceparent_included_tracestate_missing: the trace continues, under a new parent id:
    // the participant's CLIENT span.
    let [(tp, _)] = harness.case(&[("traceparent", &valid)], 1).await.try_into().unwrap();
    let client = telemetry.spans().into_iter().filter(|s| s.span_kind == SpanKind::Client).last().unwrap();
    assert_eq!(tp, format!("00-{TRACE}-{}-01", client.span_context.span_id()));

    // test_traceparent_duplicated: two traceparents, a new trace.
    let [(tp, _)] =
        harness.case(&[("traceparent", &valid), ("traceparent", &valid)], 1).await.try_into().unwrap();
    assert_ne!(trace_of(&tp), TRACE);

    // test_traceparent_version_0xff, with a tracestate that must then not be parsed.
    let ff = format!("ff-{TRACE}-{PARENT}-01");
    let [(tp, ts)] =
        harness.case(&[("traceparent", &ff), ("tracestate", "foo=1")], 1).await.try_into().unwrap();
    assert!(trace_of(&tp) != TRACE && ts.is_empty(), "{tp} {ts}");

    // test_traceparent_version_0xcc: the future version's ids are used, sent on as version 00.
    let cc = format!("cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like");
    let [(tp, _)] = harness.case(&[("traceparent", &cc)], 1).await.try_into().unwrap();
    assert!(tp.starts_with(&format!("00-{TRACE}-")) && tp.len() == 55, "{tp}");

    // test_tracestate_multiple_headers_different_keys: combined, in order, on one line.
    let lines =
        [("traceparent", valid.as_str()), ("tracestate", "foo=1,bar=2"), ("tracestate", "rojo=1,congo=2")];
    let [(_, ts)] = harness.case(&lines, 1).await.try_into().unwrap();
    assert_eq!(ts, "foo=1,bar=2,rojo=1,congo=2");

    // test_tracestate_member_count_limit: 33 members are not a tracestate.
    let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let m33 = members.join(",");
    let [(tp, ts)] =
        harness.case(&[("traceparent", &valid), ("tracestate", &m33)], 1).await.try_into().unwrap();
    assert!(trace_of(&tp) == TRACE && ts.is_empty(), "{ts}");

    // Level 2's random flag, kept by a participant that continues the trace, sampled or not.
    for flags in ["03", "02"] {
        let random = format!("00-{TRACE}-{PARENT}-{flags}");
        let [(tp, _)] = harness.case(&[("traceparent", &random)], 1).await.try_into().unwrap();
        assert!(tp.ends_with(flags), "{tp}");
    }

    // test_multiple_requests_with_valid_traceparent: three callbacks, one trace, three parents.
    let three = harness.case(&[("traceparent", &valid)], 3).await;
    assert_eq!(three.len(), 3);
    let parents: std::collections::BTreeSet<&str> = three.iter().map(|(tp, _)| &tp[36..52]).collect();
    assert!(three.iter().all(|(tp, _)| trace_of(tp) == TRACE) && parents.len() == 3, "{three:?}");

    // Arguments nest: the participant calls itself, which calls the harness; one trace throughout.
    let nested = json!([{"url": format!("{}/test", harness.participant),
                         "arguments": [{"url": format!("{}/callback/0", harness.harness), "arguments": []}]}]);
    harness.send(&[("traceparent", &valid)], &nested).await;
    let callbacks = harness.callbacks.lock().unwrap().drain(..).collect::<Vec<_>>();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(trace_of(&callbacks[0].0[0]), TRACE);
}
