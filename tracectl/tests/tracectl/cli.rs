//! The `tracectl` binary against a Jaeger played by this test: an HTTP server answering the
//! `/api/v3` endpoints with recorded traces, and with 404s, 500s and garbage.
//!
//! The fixtures are real traces of this project's services (a checkout, and one with
//! payment-service stopped, and one made with the `unended-span` mistake, taken from run-local's
//! store while its span was kept open), captured as the services exported them and re-encoded as the
//! OTLP/JSON that Jaeger 2.x's `/api/v3` answers with: `{"result": {"resourceSpans": […]}}`.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use jaeger_stand_in::{Parser, Store, find_traces, go_duration, param, query_pairs};
use serde_json::Value;
use tokio::process::Command;

const CHECKOUT: &str = "2e389428c42695f1cc9bc29de4740a6e";
const PAYMENT_DOWN: &str = "fa520ba336e2396288eb7de5a1cdf87f";
const BROKEN: &str = "5000000000000000000000000000000b";
const GARBAGE: &str = "6a7ba6e000000000000000000000000b";
/// A checkout made with the `unended-span` mistake, as run-local's store kept it while the span was
/// kept open: its payment call's parent never arrived.
const UNENDED: &str = "154b6f5accefebc99b6cacb86c217fd5";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Jaeger played over HTTP: searches read by one of its two parsers and answered from its memory
/// store, as `jaeger-stand-in` plays them (written from Jaeger's source; the e2e tests hold it to
/// the real Jaeger 2.12.0), the recorded traces by id, and the last search's query string.
#[derive(Clone)]
struct FakeJaeger {
    parser: Parser,
    store: Arc<Store>,
    last_search: Arc<Mutex<Option<String>>>,
}

async fn get_trace(Path(id): Path<String>) -> impl IntoResponse {
    match id.as_str() {
        CHECKOUT => (StatusCode::OK, fixture("jaeger-trace-checkout.json")),
        PAYMENT_DOWN => (StatusCode::OK, fixture("jaeger-trace-payment-down.json")),
        UNENDED => (StatusCode::OK, fixture("jaeger-trace-unended-span.json")),
        BROKEN => (StatusCode::INTERNAL_SERVER_ERROR, "storage backend exploded".to_owned()),
        GARBAGE => (StatusCode::OK, "<html>proxy login page</html>".to_owned()),
        _ => (StatusCode::NOT_FOUND, r#"{"error":{"httpCode":404,"message":"trace not found"}}"#.to_owned()),
    }
}

async fn search(State(fake): State<FakeJaeger>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let query = query.unwrap_or_default();
    *fake.last_search.lock().unwrap() = Some(query.clone());
    find_traces(fake.parser, &fake.store, &query)
}

/// `/api/v3/operations` (`getOperations`, the same in both generations but for the `spanKind`
/// alias 2.19 added): `service` and `span_kind` select; a span kind left empty by the store is
/// answered as `internal`.
async fn operations(State(fake): State<FakeJaeger>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let pairs = query_pairs(&query.unwrap_or_default());
    let kind_names: &[&str] = match fake.parser {
        Parser::HttpGateway => &["span_kind"],
        Parser::QueryParser => &["spanKind", "span_kind"],
    };
    let service = param(&pairs, &["service"]).map(|(s, _)| s);
    let kind = param(&pairs, kind_names).map(|(k, _)| k);
    let seen = [
        ("gateway", "POST /api/checkout", "server"),
        ("gateway", "POST /orders", "client"),
        ("gateway", "GET /api/orders/{id}", ""),
    ];
    let operations: Vec<Value> = seen
        .iter()
        .filter(|(s, _, k)| Some(*s) == service.as_deref() && kind.as_deref().is_none_or(|kind| kind == *k))
        .map(|(_, name, k)| serde_json::json!({"name": name, "spanKind": if k.is_empty() { "internal" } else { k }}))
        .collect();
    serde_json::json!({ "operations": operations }).to_string()
}

/// Starts a stand-in of the pinned Jaeger (2.22.0, docker-compose.yml: [`Parser::QueryParser`]).
async fn jaeger() -> (String, FakeJaeger) {
    jaeger_with(Parser::QueryParser).await
}

/// Starts a stand-in Jaeger reading searches with `parser`, holding the two recorded traces of
/// `jaeger-search-gateway.json` (the failed checkout after the good one); returns its URL and its
/// recorder.
async fn jaeger_with(parser: Parser) -> (String, FakeJaeger) {
    let store = Store::of(&[serde_json::from_str(&fixture("jaeger-search-gateway.json")).unwrap()]);
    jaeger_holding(parser, store).await
}

/// Starts a stand-in Jaeger reading searches with `parser` and holding `store`.
async fn jaeger_holding(parser: Parser, store: Store) -> (String, FakeJaeger) {
    let fake = FakeJaeger { parser, store: Arc::new(store), last_search: Arc::default() };
    let app = Router::new()
        .route("/api/v3/traces/{id}", get(get_trace))
        .route("/api/v3/traces", get(search))
        .route("/api/v3/operations", get(operations))
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
async fn search_lists_traces_slowest_first_with_the_parameter_names_of_every_jaeger_2() {
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
    // Each under its 2.19+ name and its name up to 2.18 (which 2.19+ keeps as an alias).
    for part in [
        "query.serviceName=gateway",
        "query.service_name=gateway",
        "query.operationName=POST+%2Fapi%2Fcheckout",
        "query.operation_name=POST+%2Fapi%2Fcheckout",
        "query.durationMin=50ms",
        "query.duration_min=50ms",
        "query.searchDepth=20",
        "query.num_traces=20",
        "query.startTimeMin=",
        "query.start_time_min=",
        "query.startTimeMax=",
        "query.start_time_max=",
    ] {
        assert!(query.contains(part), "{part} in {query}");
    }

    // Sub-millisecond bounds are sent exactly: the failed checkout's gateway spans are all longer
    // than 0.5 ms, none of the store's is 400 s.
    let run =
        tracectl(&["--json", "search", "--service", "gateway", "--min-duration", "500us", "--jaeger", &url])
            .await;
    assert!(fake.last_search.lock().unwrap().clone().unwrap().contains("query.durationMin=500us"));
    assert_eq!(serde_json::from_str::<Vec<Value>>(&run.stdout).unwrap().len(), 2, "{}", run.stderr);
    let run =
        tracectl(&["--json", "search", "--service", "gateway", "--min-duration", "400s", "--jaeger", &url])
            .await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&run.stdout).unwrap().len(), 0, "{}", run.stderr);

    let errors_only = tracectl(&["search", "--service", "gateway", "--errors", "--jaeger", &url]).await;
    assert!(errors_only.ok, "{}", errors_only.stderr);
    assert!(
        errors_only.stdout.contains(PAYMENT_DOWN) && !errors_only.stdout.contains(CHECKOUT),
        "{}",
        errors_only.stdout
    );
    let sent = fake.last_search.lock().unwrap().clone().unwrap();
    assert!(sent.contains("query.attributes=%7B%22error%22%3A%22true%22%7D"), "{sent}");

    let nothing = tracectl(&["search", "--service", "nobody", "--jaeger", &url]).await;
    assert!(nothing.ok, "no match is not an error: {}", nothing.stderr);
    assert_eq!(nothing.stdout, "no traces found\n");
}

#[tokio::test]
async fn search_errors_asks_jaeger_for_error_traces_so_one_older_than_the_limit_is_found() {
    // The failed checkout, then 25 good ones after it: the failed one is not among the 20 most
    // recent traces, which is all a search that filtered Jaeger's answer itself could look at.
    let recorded: Value = serde_json::from_str(&fixture("jaeger-search-gateway.json")).unwrap();
    let mut fixtures = vec![only_trace(&recorded, PAYMENT_DOWN)];
    for n in 0..25u64 {
        let copy = only_trace(&recorded, CHECKOUT)
            .to_string()
            .replace(CHECKOUT, &format!("{:032x}", 0xc0de_0000 + n));
        fixtures.push(serde_json::from_str(&copy).unwrap());
    }
    let (url, _) = jaeger_holding(Parser::QueryParser, Store::of(&fixtures)).await;
    let recent = tracectl(&["--json", "search", "--service", "gateway", "--jaeger", &url]).await;
    let rows: Vec<Value> = serde_json::from_str(&recent.stdout).unwrap();
    assert_eq!(rows.len(), 20, "{}", recent.stderr);
    assert!(rows.iter().all(|r| r["trace_id"] != PAYMENT_DOWN && r["error"] == false), "{rows:?}");

    let errors = tracectl(&["--json", "search", "--service", "gateway", "--errors", "--jaeger", &url]).await;
    assert!(errors.ok, "{}", errors.stderr);
    let rows: Vec<Value> = serde_json::from_str(&errors.stdout).unwrap();
    assert_eq!(rows.iter().map(|r| r["trace_id"].as_str().unwrap()).collect::<Vec<_>>(), [PAYMENT_DOWN]);
    assert_eq!(rows[0]["error"], true);
}

/// `recorded`'s resource spans, keeping only the spans of `trace_id`.
fn only_trace(recorded: &Value, trace_id: &str) -> Value {
    let mut kept = recorded.clone();
    for resource in kept["result"]["resourceSpans"].as_array_mut().unwrap() {
        for scope in resource["scopeSpans"].as_array_mut().unwrap() {
            scope["spans"].as_array_mut().unwrap().retain(|span| span["traceId"] == trace_id);
        }
    }
    kept
}

#[tokio::test]
async fn search_finds_the_same_traces_in_a_jaeger_up_to_2_18_and_says_where_errors_were_filtered() {
    let search = |url: &str, extra: &[&str]| {
        let mut args = vec!["--json", "search", "--service", "gateway", "--min-duration", "1ms"];
        args.extend_from_slice(extra);
        args.extend(["--jaeger", url]);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let (old, _) = jaeger_with(Parser::HttpGateway).await;
    let (new, _) = jaeger_with(Parser::QueryParser).await;
    for extra in [&[][..], &["--operation", "POST /api/checkout"], &["--errors"], &["--limit", "1"]] {
        let [up_to_2_18, from_2_19] = [&old, &new].map(|url| search(url, extra));
        let up_to_2_18 = tracectl(&up_to_2_18.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let from_2_19 = tracectl(&from_2_19.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert!(up_to_2_18.ok && from_2_19.ok, "{extra:?}: {} {}", up_to_2_18.stderr, from_2_19.stderr);
        // The same traces (each stand-in moved its recorded traces to end now, so the starts differ).
        let found = |stdout: &str| {
            let rows: Vec<Value> = serde_json::from_str(stdout).unwrap();
            rows.iter()
                .map(|r| (r["trace_id"].clone(), r["spans"].clone(), r["error"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(found(&up_to_2_18.stdout), found(&from_2_19.stdout), "{extra:?}");
        assert!(!found(&up_to_2_18.stdout).is_empty(), "{extra:?}: found something");
        // Only the old one ignores `--errors`' attribute query: filtered here, and said so.
        let note = "this Jaeger ignores the error filter";
        assert_eq!(
            up_to_2_18.stderr.contains(note),
            extra == ["--errors"],
            "{extra:?}: {}",
            up_to_2_18.stderr
        );
        assert!(!from_2_19.stderr.contains(note), "{}", from_2_19.stderr);
    }
}

#[test]
fn the_jaeger_stand_in_refuses_what_the_real_parsers_refuse() {
    let store = Store::of(&[serde_json::from_str(&fixture("jaeger-search-gateway.json")).unwrap()]);
    let find = |parser, query: &str| find_traces(parser, &store, query);
    let hour = |end: &str| {
        let now = SystemTime::now();
        let start = humantime::format_rfc3339(now - Duration::from_secs(3600)).to_string();
        format!("{start}{end}{}", humantime::format_rfc3339(now))
    };
    // The search `tracectl` sent before it sent `query.num_traces`: Jaeger up to 2.18 ignores
    // `query.search_depth`, so the depth stays 0 and the memory store refuses it (the 500 that
    // a stand-in written from memory once hid). 2.19's parser reads the name.
    let old_name = format!(
        "query.service_name=gateway&query.start_time_min={}&query.search_depth=20",
        hour("&query.start_time_max=")
    );
    assert_eq!(find(Parser::HttpGateway, &old_name).0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(find(Parser::QueryParser, &old_name).0, StatusCode::OK);
    // Both require the time range; camelCase names are unknown up to 2.18.
    let no_range = "query.service_name=gateway&query.num_traces=20";
    assert_eq!(find(Parser::HttpGateway, no_range).0, StatusCode::BAD_REQUEST);
    let (status, body) = find(Parser::QueryParser, no_range);
    assert_eq!(
        (status, body.contains("query.startTimeMin and query.startTimeMax are required")),
        (StatusCode::BAD_REQUEST, true)
    );
    let camel = format!("query.serviceName=gateway&query.startTimeMin={}", hour("&query.startTimeMax="));
    let (status, body) = find(Parser::HttpGateway, &camel);
    assert_eq!(
        (status, body.contains("query.start_time_min and query.start_time_max are required")),
        (StatusCode::BAD_REQUEST, true)
    );
    assert_eq!(find(Parser::QueryParser, &camel).0, StatusCode::OK, "2.19's depth defaults to 100");
    // The range outside the traces' times finds nothing; min after max is refused.
    let past = "query.serviceName=gateway&query.startTimeMin=2020-01-01T10:00:00Z&query.startTimeMax=2020-01-01T11:00:00Z";
    assert_eq!(find(Parser::QueryParser, past).0, StatusCode::NOT_FOUND);
    let reversed = "query.serviceName=gateway&query.startTimeMin=2020-01-01T11:00:00Z&query.startTimeMax=2020-01-01T10:00:00Z";
    assert_eq!(find(Parser::QueryParser, reversed).0, StatusCode::BAD_REQUEST);
    let garbage_depth = format!(
        "query.service_name=gateway&query.num_traces=many&query.start_time_min={}",
        hour("&query.start_time_max=")
    );
    assert_eq!(find(Parser::HttpGateway, &garbage_depth).0, StatusCode::BAD_REQUEST);
    let garbage_attributes = format!("{camel}&query.attributes=error%3Dtrue");
    assert_eq!(find(Parser::QueryParser, &garbage_attributes).0, StatusCode::BAD_REQUEST);
    // `error` is the span's status: the failed checkout's gateway spans have it, the good one's not.
    let errors = format!("{camel}&query.attributes=%7B%22error%22%3A%22true%22%7D");
    let (status, body) = find(Parser::QueryParser, &errors);
    assert!(status == StatusCode::OK && body.contains(PAYMENT_DOWN) && !body.contains(CHECKOUT));
    let not_errors = format!("{camel}&query.attributes=%7B%22error%22%3A%22false%22%7D");
    assert!(find(Parser::QueryParser, &not_errors).1.contains(CHECKOUT), "error=false: any other status");
    // Other keys are compared as strings on the span's, resource's or events' attributes.
    let by_tag = format!("{camel}&query.attributes=%7B%22http.response.status_code%22%3A%22201%22%7D");
    let (_, body) = find(Parser::QueryParser, &by_tag);
    assert!(body.contains(CHECKOUT) && !body.contains(PAYMENT_DOWN), "{body}");
    assert_eq!(go_duration("1m30.5s"), Some(Duration::from_millis(90_500)));
    assert_eq!(go_duration("250us"), Some(Duration::from_micros(250)));
    assert_eq!(go_duration("5 ms"), None);
}

#[tokio::test]
async fn operations_lists_a_services_span_names_with_their_kinds_filtered_by_kind() {
    for parser in [Parser::HttpGateway, Parser::QueryParser] {
        let (url, _) = jaeger_with(parser).await;
        let all = tracectl(&["operations", "--service", "gateway", "--jaeger", &url]).await;
        assert!(all.ok, "{parser:?}: {}", all.stderr);
        let lines: Vec<&str> = all.stdout.lines().collect();
        assert_eq!(
            lines,
            ["internal  GET /api/orders/{id}", "server    POST /api/checkout", "client    POST /orders"],
            "sorted by name, the kind first"
        );

        let servers = tracectl(&[
            "--json",
            "operations",
            "--service",
            "gateway",
            "--span-kind",
            "server",
            "--jaeger",
            &url,
        ])
        .await;
        assert!(servers.ok, "{}", servers.stderr);
        let rows: Value = serde_json::from_str(&servers.stdout).unwrap();
        assert_eq!(rows, serde_json::json!([{"name": "POST /api/checkout", "span_kind": "server"}]));

        let none = tracectl(&["operations", "--service", "nobody", "--jaeger", &url]).await;
        assert_eq!((none.ok, none.stdout.as_str()), (true, "no operations found for nobody\n"));
    }
    let bad_kind = tracectl(&["operations", "--service", "gateway", "--span-kind", "sever"]).await;
    assert_eq!(bad_kind.code, Some(2), "a kind Jaeger does not know is a usage error");
    assert!(bad_kind.stderr.contains("server"), "{}", bad_kind.stderr);
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
async fn lint_reads_traces_from_jaeger_by_id_and_by_search_and_exits_1_only_when_it_finds_something() {
    let (url, fake) = jaeger().await;
    // The recorded checkout, and the one with payment-service down: whole traces, nothing to say.
    for id in [CHECKOUT, PAYMENT_DOWN] {
        let run = tracectl(&["lint", id, "--jaeger", &url]).await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (Some(0), "lint: no findings in 1 trace\n"),
            "{}",
            run.stderr
        );
    }
    // The unended span's trace: an orphan, named with its span and cause, and exit 1.
    let run = tracectl(&["lint", UNENDED, "--jaeger", &url]).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("orphan: its parent ") && lines[0].contains(UNENDED), "{}", run.stdout);
    assert!(lines[1].starts_with("  spans: order-service \"POST /payments\""), "{}", run.stdout);
    assert!(lines[2].starts_with("  likely cause: the parent span was kept open"), "{}", run.stdout);
    assert_eq!(lines.last(), Some(&"lint: 1 finding in 1 trace: 1 orphan"));
    let json = tracectl(&["--json", "lint", UNENDED, "--jaeger", &url]).await;
    let findings: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(findings[0]["check"], "orphan");
    assert_eq!(findings[0]["trace_ids"][0], UNENDED);
    // By search: Jaeger's search for the service, as `search` sends it.
    let run = tracectl(&["lint", "--service", "gateway", "--jaeger", &url]).await;
    assert!(run.stdout.starts_with("lint: no findings in "), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(0));
    let sent = fake.last_search.lock().unwrap().clone().unwrap();
    assert!(sent.contains("query.serviceName=gateway") && sent.contains("query.searchDepth=20"), "{sent}");
    // With nothing to read, it says what it needs.
    let run = tracectl(&["lint", "--jaeger", &url]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("lint needs a trace id, --file FILE, or --service SERVICE"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn show_attrs_draws_each_spans_attributes_filtered_by_prefix_and_span_prints_one_whole() {
    let (url, _) = jaeger().await;
    let run = tracectl(&["show", CHECKOUT, "--jaeger", &url, "--attrs", "stripe.,payment."]).await;
    assert!(run.ok, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().map(str::trim_start).collect();
    let at = |service: &str, name: &str| {
        let row = lines.iter().position(|l| l.starts_with(service) && l.contains(name));
        row.unwrap_or_else(|| panic!("{}", run.stdout))
    };
    let fraud = at("payment-service", "fraud_check");
    assert!(lines[fraud + 1].starts_with("·  payment.amount_cents = "), "{}", run.stdout);
    let charge = at("stripe", "POST /v1/charges");
    let keys: Vec<&str> =
        lines[charge + 1..charge + 4].iter().map(|l| l.split(" = ").next().unwrap().trim()).collect();
    assert_eq!(keys, ["·  stripe.amount", "·  stripe.charge_id", "·  stripe.currency"], "{}", run.stdout);
    assert!(!run.stdout.contains("http.request.method"), "only the prefixes asked for");

    let whole = tracectl(&["show", CHECKOUT, "--jaeger", &url, "--span", "POST /v1/charges"]).await;
    assert!(whole.ok, "{}", whole.stderr);
    assert!(whole.stdout.starts_with("stripe \"POST /v1/charges\" (Client span "), "{}", whole.stdout);
    for line in ["  attributes", "    http.response.status_code = 200", "  resource", "    service.name"] {
        assert!(whole.stdout.lines().any(|l| l.starts_with(line)), "{line:?} in {}", whole.stdout);
    }
    let missing = tracectl(&["show", CHECKOUT, "--jaeger", &url, "--span", "nothing"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("no span \"nothing\" in trace"), "{}", missing.stderr);
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
    let (mut listen, port) = listen_json(&["--analyze"]).await;

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

/// Starts `tracectl --json listen --store <store>`; returns it once it listens, and its port.
async fn listen_storing(store: &std::path::Path) -> (tokio::process::Child, u16) {
    listen_json(&["--store", store.to_str().unwrap()]).await
}

/// Starts `tracectl --json listen` on a free port with `extra` arguments; returns it once it
/// listens, and its port.
async fn listen_json(extra: &[&str]) -> (tokio::process::Child, u16) {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut listen = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["--json", "listen", "--addr", &format!("127.0.0.1:{port}"), "--quiet-ms", "100"])
        .args(extra)
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
    (listen, port)
}

#[tokio::test]
async fn listen_stores_every_export_and_show_analyze_search_and_compare_read_the_store() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let store = std::env::temp_dir().join(format!("tracectl-cli-store-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let (mut listen, port) = listen_storing(&store).await;
    for fixture_name in ["jaeger-trace-checkout.json", "jaeger-trace-payment-down.json"] {
        let export = serde_json::from_str::<Value>(&fixture(fixture_name)).unwrap()["result"].to_string();
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/v1/traces"))
            .header("content-type", "application/json")
            .body(export)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Both traces drawn (one JSON line each): both are in the store.
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap();
    }
    nix_kill(listen.id().unwrap());
    assert!(listen.wait().await.unwrap().success());
    let file = store.to_str().unwrap();
    // The OTLP file exporter's format: one OTLP/JSON export per line.
    let text = std::fs::read_to_string(&store).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["resourceSpans"].is_array()));

    let show = tracectl(&["show", CHECKOUT, "--file", file]).await;
    assert!(show.ok, "{}", show.stderr);
    assert!(show.stdout.starts_with(&format!("trace {CHECKOUT} · 9 spans")), "{}", show.stdout);

    let analyze = tracectl(&["--json", "analyze", PAYMENT_DOWN, "--file", file]).await;
    assert!(analyze.ok, "{}", analyze.stderr);
    let a: Value = serde_json::from_str(&analyze.stdout).unwrap();
    assert_eq!(a["error_origins"][0]["span"]["name"], "POST /payments");

    // Jaeger's search over the file: slowest first; --errors keeps the failed one only.
    let search = tracectl(&["--json", "search", "--service", "gateway", "--file", file]).await;
    assert!(search.ok, "{}", search.stderr);
    let rows: Vec<Value> = serde_json::from_str(&search.stdout).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["trace_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{rows:?}");
    assert!(rows[0]["duration_nanos"].as_u64() >= rows[1]["duration_nanos"].as_u64());
    let errors = tracectl(&["--json", "search", "--service", "gateway", "--errors", "--file", file]).await;
    let rows: Vec<Value> = serde_json::from_str(&errors.stdout).unwrap();
    assert_eq!(rows.iter().map(|r| r["trace_id"].as_str().unwrap()).collect::<Vec<_>>(), [PAYMENT_DOWN]);
    let none =
        tracectl(&["--json", "search", "--service", "stripe", "--operation", "nope", "--file", file]).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&none.stdout).unwrap().len(), 0);
    // --lookback holds a store's traces to the time range as it holds Jaeger's: the fixtures
    // started long before the last hour, and within the last 100 000 days.
    let recent = |lookback: &'static str| async move {
        let found =
            tracectl(&["--json", "search", "--service", "gateway", "--lookback", lookback, "--file", file])
                .await;
        assert!(found.ok, "{}", found.stderr);
        serde_json::from_str::<Vec<Value>>(&found.stdout).unwrap().len()
    };
    assert_eq!(recent("1h").await, 0);
    assert_eq!(recent("100000d").await, 2);
    let lint_recent = tracectl(&["lint", "--lookback", "1h", "--file", file]).await;
    assert!(lint_recent.stdout.contains("no findings in 0 traces"), "{}", lint_recent.stdout);

    // The two side by side: payment-service down is where they part.
    let compare = tracectl(&["--json", "compare", CHECKOUT, PAYMENT_DOWN, "--file", file]).await;
    assert!(compare.ok, "{}", compare.stderr);
    let c: Value = serde_json::from_str(&compare.stdout).unwrap();
    assert!(c["verdict"].as_str().unwrap().starts_with("B is "), "{c}");
    let only_in_a: Vec<&str> = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["b_nanos"].is_null())
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    assert!(only_in_a.contains(&"payment-service") && only_in_a.contains(&"stripe"), "{only_in_a:?}");
    assert!(
        c["errors_appeared"].as_array().unwrap().iter().any(|e| e == "order-service POST /payments"),
        "{c}"
    );
    let text = tracectl(&["compare", CHECKOUT, PAYMENT_DOWN, "--file", file]).await;
    assert!(text.stdout.contains("only in A"), "{}", text.stdout);

    // A trace the store does not hold: one line on stderr, exit 1.
    let missing = tracectl(&["show", BROKEN, "--file", file]).await;
    assert_eq!(missing.code, Some(1));
    assert_eq!(missing.stderr.trim(), format!("tracectl: no trace {BROKEN} in {file}"));
    let _ = std::fs::remove_file(store);
}

#[tokio::test]
async fn listen_follows_a_jaeger_and_draws_each_trace_it_holds_once() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let (url, _) = jaeger().await;
    let mut listen = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["--json", "listen", "--jaeger", &url, "--quiet-ms", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    let mut drawn = Vec::new();
    while drawn.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap();
        let trace: Value = serde_json::from_str(&line.expect("a trace drawn")).unwrap();
        drawn.push(trace["trace_id"].as_str().unwrap().to_owned());
    }
    nix_kill(listen.id().unwrap());
    assert!(listen.wait().await.unwrap().success());
    // Polled again and again, each trace is drawn once: nothing more was printed.
    assert_eq!(lines.next_line().await.unwrap(), None);
    drawn.sort();
    let mut expected = vec![CHECKOUT.to_owned(), PAYMENT_DOWN.to_owned()];
    expected.sort();
    assert_eq!(drawn, expected);
}

#[tokio::test]
async fn show_asks_again_while_a_parent_is_missing_and_says_so_when_it_stays_missing() {
    // The checkout as a store holds it while its root is still on its way: every span but the
    // gateway's SERVER span (the one with no parent).
    let export: Value =
        serde_json::from_str::<Value>(&fixture("jaeger-trace-checkout.json")).unwrap()["result"].clone();
    let mut partial = export.clone();
    for resource in partial["resourceSpans"].as_array_mut().unwrap() {
        for scope in resource["scopeSpans"].as_array_mut().unwrap() {
            scope["spans"]
                .as_array_mut()
                .unwrap()
                .retain(|s| s["parentSpanId"].as_str().is_some_and(|p| !p.is_empty()));
        }
    }
    assert_ne!(partial, export, "the fixture has a root to leave out");
    let store = std::env::temp_dir().join(format!("tracectl-partial-{}.jsonl", std::process::id()));
    std::fs::write(&store, format!("{partial}\n")).unwrap();
    let file = store.to_str().unwrap();

    // Not waiting: drawn as it is, with a note that names the span whose parent is missing.
    let run = tracectl(&["show", CHECKOUT, "--file", file, "--wait", "0s"]).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.starts_with(&format!("trace {CHECKOUT} · 8 spans")), "{}", run.stdout);
    assert!(
        run.stderr.contains("name a parent it does not hold")
            && run.stderr.contains("may still be on its way"),
        "{}",
        run.stderr
    );

    // Waiting: the root arrives (appended as `listen --store` appends), and the whole trace is
    // drawn, with no note.
    let show = Command::new(env!("CARGO_BIN_EXE_tracectl"))
        .args(["show", CHECKOUT, "--file", file, "--wait", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut appending = std::fs::OpenOptions::new().append(true).open(&store).unwrap();
    std::io::Write::write_all(&mut appending, format!("{export}\n").as_bytes()).unwrap();
    let output = show.wait_with_output().await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with(&format!("trace {CHECKOUT} · 9 spans")), "{stdout}");
    assert!(!stderr.contains("note:"), "{stderr}");
    let _ = std::fs::remove_file(store);
}

/// Traces no one here instrumented: two Python services (shop calls stock) traced by the
/// OpenTelemetry Python SDK 1.45 and its wsgi and requests instrumentations, whose CLIENT spans
/// name no `peer.service` (`tests/fixtures/foreign/make_fixtures.py` made them).
fn foreign(name: &str) -> String {
    format!("{}/tests/fixtures/foreign/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn lint_finds_the_split_in_traces_another_sdk_made_by_where_each_call_went() {
    // stock read no context (its propagator, b3, looks for other headers): each checkout in two.
    let run = tracectl(&["--json", "lint", "--file", &foreign("split.jsonl")]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let findings: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let mut halves = std::collections::BTreeSet::new();
    for finding in &findings {
        assert_eq!(finding["check"], "split");
        assert_eq!(finding["spans"][0]["service"], "shop");
        assert_eq!(finding["spans"][1]["service"], "stock");
        // Each call paired with its own request: two quick checkouts, two stock traces.
        halves.insert(finding["trace_ids"][1].as_str().unwrap().to_owned());
    }
    assert_eq!(halves.len(), 2, "{findings:#?}");
    // The same services with the default propagators: whole traces, nothing to say.
    let run = tracectl(&["lint", "--file", &foreign("whole.jsonl")]).await;
    assert!(run.ok, "{}", run.stdout);
    assert_eq!(run.stdout.trim(), "lint: no findings in 2 traces");
}
