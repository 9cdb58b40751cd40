//! The `tracectl` binary against a Jaeger played by this test: an HTTP server answering the
//! `/api/v3` endpoints with recorded traces, and with 404s, 500s and garbage.
//!
//! The fixtures are real traces of this project's services (a checkout, and one with
//! payment-service stopped), captured as the services exported them and re-encoded as the
//! OTLP/JSON that Jaeger 2.x's `/api/v3` answers with: `{"result": {"resourceSpans": […]}}`.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use serde_json::Value;
use tokio::process::Command;

const CHECKOUT: &str = "2e389428c42695f1cc9bc29de4740a6e";
const PAYMENT_DOWN: &str = "fa520ba336e2396288eb7de5a1cdf87f";
const BROKEN: &str = "5000000000000000000000000000000b";
const GARBAGE: &str = "6a7ba6e000000000000000000000000b";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[derive(Clone, Default)]
struct FakeJaeger {
    last_search: Arc<Mutex<Option<String>>>,
}

async fn get_trace(Path(id): Path<String>) -> impl IntoResponse {
    match id.as_str() {
        CHECKOUT => (StatusCode::OK, fixture("jaeger-trace-checkout.json")),
        PAYMENT_DOWN => (StatusCode::OK, fixture("jaeger-trace-payment-down.json")),
        BROKEN => (StatusCode::INTERNAL_SERVER_ERROR, "storage backend exploded".to_owned()),
        GARBAGE => (StatusCode::OK, "<html>proxy login page</html>".to_owned()),
        _ => (StatusCode::NOT_FOUND, r#"{"error":{"httpCode":404,"message":"trace not found"}}"#.to_owned()),
    }
}

async fn search(State(fake): State<FakeJaeger>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let query = query.unwrap_or_default();
    *fake.last_search.lock().unwrap() = Some(query.clone());
    if query.contains("query.service_name=nobody") {
        (StatusCode::NOT_FOUND, r#"{"error":{"httpCode":404,"message":"trace not found"}}"#.to_owned())
    } else {
        (StatusCode::OK, fixture("jaeger-search-gateway.json"))
    }
}

/// Starts the fake Jaeger; returns its URL and its recorder.
async fn jaeger() -> (String, FakeJaeger) {
    let fake = FakeJaeger::default();
    let app = Router::new()
        .route("/api/v3/traces/{id}", get(get_trace))
        .route("/api/v3/traces", get(search))
        .route(
            "/api/v3/services",
            get(|| async { r#"{"services":["payment-service","gateway","stripe","order-service"]}"# }),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fake)
}

struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn tracectl(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(args)
        .env_remove("JAEGER_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    Run {
        ok: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn show_draws_the_recorded_checkout_as_a_nested_waterfall_without_colour_when_piped() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["show", CHECKOUT, "--jaeger", &url]).await;
    assert!(run.ok, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("trace {CHECKOUT} · 9 spans · 4 services · ")), "{}", run.stdout);
    let expected = [
        ("gateway", "POST /api/checkout"),
        ("gateway", "└─ POST /orders"),
        ("order-service", "   └─ POST /orders"),
        ("order-service", "      ├─ validate_order"),
        ("order-service", "      ├─ inventory_and_pricing"),
        ("order-service", "      └─ POST /payments"),
        ("payment-service", "         └─ POST /payments"),
        ("payment-service", "            ├─ fraud_check"),
        ("stripe", "            └─ POST /v1/charges"),
    ];
    assert_eq!(lines.len(), 1 + expected.len(), "{}", run.stdout);
    for (line, (service, label)) in lines[1..].iter().zip(expected) {
        assert!(line.starts_with(service) && line.contains(label), "{line:?} should be {service} {label:?}");
    }
    assert!(!run.stdout.contains('\x1b'), "no ANSI colour when stdout is not a terminal");
}

#[tokio::test]
async fn show_json_prints_the_spans() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["--json", "show", CHECKOUT, "--jaeger", &url]).await;
    assert!(run.ok, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["trace_id"], CHECKOUT);
    assert_eq!(doc["spans"].as_array().unwrap().len(), 9);
    assert!(
        doc["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_name"] == "stripe" && s["kind"] == "client")
    );
}

#[tokio::test]
async fn analyze_finds_the_critical_path_and_the_bottleneck_of_the_checkout() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["--json", "analyze", CHECKOUT, "--jaeger", &url]).await;
    assert!(run.ok, "{}", run.stderr);
    let a: Value = serde_json::from_str(&run.stdout).unwrap();
    // The services call each other one at a time, so the critical path covers the whole trace
    // exactly once, starts and ends in the gateway, and passes through every span.
    let path = a["critical_path"].as_array().unwrap();
    let covered: u64 =
        path.iter().map(|s| s["end_nanos"].as_u64().unwrap() - s["start_nanos"].as_u64().unwrap()).sum();
    assert_eq!(covered, a["duration_nanos"].as_u64().unwrap());
    assert_eq!(path.first().unwrap()["span"]["service"], "gateway");
    assert_eq!(path.last().unwrap()["span"]["service"], "gateway");
    let on_path: std::collections::BTreeSet<&str> =
        path.iter().map(|s| s["span"]["name"].as_str().unwrap()).collect();
    for name in ["validate_order", "inventory_and_pricing", "fraud_check", "POST /v1/charges"] {
        assert!(on_path.contains(name), "{name} is on the path: {on_path:?}");
    }
    // The simulated fraud check (~100 ms) is the biggest single cost.
    assert_eq!(a["bottlenecks"][0]["name"], "payment-service fraud_check");
    assert_eq!(a["self_time_by_service"][0]["name"], "payment-service");
    assert_eq!(a["error_origins"].as_array().unwrap().len(), 0);

    let text = tracectl(&["analyze", CHECKOUT, "--jaeger", &url]).await;
    assert!(text.ok);
    for heading in ["critical path", "bottlenecks", "self time by service", "errors: none"] {
        assert!(text.stdout.contains(heading), "{heading}: {}", text.stdout);
    }
}

#[tokio::test]
async fn analyze_names_where_the_payment_down_failure_began() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["--json", "analyze", PAYMENT_DOWN, "--jaeger", &url]).await;
    assert!(run.ok, "{}", run.stderr);
    let a: Value = serde_json::from_str(&run.stdout).unwrap();
    let origins = a["error_origins"].as_array().unwrap();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert_eq!(origins[0]["span"]["service"], "order-service");
    assert_eq!(origins[0]["span"]["name"], "POST /payments");
    assert_eq!(origins[0]["error_type"], "connection_error");
    assert!(origins[0]["message"].as_str().unwrap().contains("payment-service is unreachable"));
}

#[tokio::test]
async fn search_lists_traces_slowest_first_and_sends_the_query_jaeger_expects() {
    let (url, fake) = jaeger().await;
    let run = tracectl(&[
        "--json",
        "search",
        "--service",
        "gateway",
        "--operation",
        "POST /api/checkout",
        "--min-duration",
        "50ms",
        "--lookback",
        "2h",
        "--jaeger",
        &url,
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["trace_id"], CHECKOUT, "the checkout (≈300 ms) is slower than the failed one");
    assert!(rows[0]["duration_nanos"].as_u64() >= rows[1]["duration_nanos"].as_u64());
    assert_eq!(
        (rows[0]["root_service"].as_str(), rows[0]["root_operation"].as_str()),
        (Some("gateway"), Some("POST /api/checkout"))
    );
    assert_eq!((rows[0]["error"].as_bool(), rows[1]["error"].as_bool()), (Some(false), Some(true)));
    let query = fake.last_search.lock().unwrap().clone().unwrap();
    for part in [
        "query.service_name=gateway",
        "query.operation_name=POST+%2Fapi%2Fcheckout",
        "query.duration_min=50ms",
        "query.start_time_min=",
        "query.start_time_max=",
        "query.search_depth=20",
    ] {
        assert!(query.contains(part), "{part} in {query}");
    }

    let errors_only = tracectl(&["search", "--service", "gateway", "--errors", "--jaeger", &url]).await;
    assert!(errors_only.ok);
    assert!(
        errors_only.stdout.contains(PAYMENT_DOWN) && !errors_only.stdout.contains(CHECKOUT),
        "{}",
        errors_only.stdout
    );

    let nothing = tracectl(&["search", "--service", "nobody", "--jaeger", &url]).await;
    assert!(nothing.ok, "no match is not an error: {}", nothing.stderr);
    assert_eq!(nothing.stdout, "no traces found\n");
}

#[tokio::test]
async fn a_reader_that_leaves_early_is_not_a_failure() {
    // `tracectl show … | head -1`: stdout closes after the first line.
    let (url, _) = jaeger().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["show", CHECKOUT, "--events", "--jaeger", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{:?}: {}", output.status, String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn services_are_listed_sorted() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["services", "--jaeger", &url]).await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.stdout, "gateway\norder-service\npayment-service\nstripe\n");
}

#[tokio::test]
async fn every_failure_is_one_line_on_stderr_and_exit_code_1() {
    let (url, _) = jaeger().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let closed_url = format!("http://{closed}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["show", "0af7651916cd43dd8448eb211c80319c", "--jaeger", &url], "was not found in Jaeger"),
        (vec!["show", BROKEN, "--jaeger", &url], "Jaeger answered 500"),
        (vec!["analyze", GARBAGE, "--jaeger", &url], "is not the expected JSON"),
        (vec!["show", CHECKOUT, "--jaeger", &closed_url], "cannot reach Jaeger"),
        (vec!["services", "--jaeger", &closed_url], "cannot reach Jaeger"),
        (vec!["show", "not-a-trace-id", "--jaeger", &url], "is not a trace id"),
        (vec!["show", CHECKOUT, "--jaeger", "localhost:16686"], "is not a usable Jaeger URL"),
    ];
    for (args, needle) in cases {
        let run = tracectl(&args).await;
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {:?}", run.stderr);
        assert!(
            run.stderr.starts_with("tracectl: ") && run.stderr.contains(needle),
            "{args:?}: {:?}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn listen_json_analyze_prints_one_line_per_trace_and_exits_0_on_sigterm() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["--json", "listen", "--addr", &format!("127.0.0.1:{port}"), "--quiet-ms", "100", "--analyze"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // With --json the banner is a log line on stderr: once it is written, the receiver listens.
    let mut log = BufReader::new(listen.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("receiving OTLP/HTTP traces") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(ready, Ok(true)), "tracectl listen did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });

    // Send the recorded checkout as an OTLP/JSON export.
    let export =
        serde_json::from_str::<Value>(&fixture("jaeger-trace-checkout.json")).unwrap()["result"].to_string();
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/traces"))
        .header("content-type", "application/json")
        .body(export)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let doc: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["trace_id"], CHECKOUT);
    assert_eq!(doc["spans"].as_array().unwrap().len(), 9);
    assert_eq!(doc["analysis"]["bottlenecks"][0]["name"], "payment-service fraud_check");

    nix_kill(listen.id().unwrap());
    let status =
        tokio::time::timeout(std::time::Duration::from_secs(10), listen.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

fn nix_kill(pid: u32) {
    use nix::{sys::signal, unistd::Pid};
    signal::kill(Pid::from_raw(pid as i32), signal::Signal::SIGTERM).unwrap();
}

#[tokio::test]
async fn listen_stats_counts_spans_per_trace_and_prints_them_at_exit() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["listen", "--stats", "--addr", &format!("127.0.0.1:{port}"), "--quiet-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    let banner =
        tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap();
    assert!(banner.unwrap().contains("receiving OTLP/HTTP traces"));

    // The 9 spans of one checkout, sent as two exports (as two services would send them).
    let export: Value =
        serde_json::from_str::<Value>(&fixture("jaeger-trace-checkout.json")).unwrap()["result"].clone();
    let resources = export["resourceSpans"].as_array().unwrap();
    let (first, second) = resources.split_at(resources.len() / 2);
    for part in [first, second] {
        let body = serde_json::json!({"resourceSpans": part}).to_string();
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/v1/traces"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    nix_kill(listen.id().unwrap());
    let mut last = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        last = line;
    }
    let stats: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(
        stats["received"],
        serde_json::json!({"spans": 9, "traces": 1, "min_spans_per_trace": 9, "max_spans_per_trace": 9})
    );
    assert!(listen.wait().await.unwrap().success());
}
