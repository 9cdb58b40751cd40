//! Teaching scenarios across the three services: each one is chosen per request through W3C
//! baggage (or `?scenario=`, which the gateway turns into baggage), and each must produce its
//! trace shape. The services' routers run in this process ([`InProcess`]); only the start-up
//! switches, read from a process's environment and logged, need the real binaries.

use crate::{in_process::InProcess, support::*};
use serde_json::Value;
use tracectl::model::{Kind, Span, StatusCode, Value as Attr};

/// Fast settings for the suite: a Stripe attempt times out after 100 ms, a slow Stripe takes 300.
const FAST_STRIPE: [(&str, &str); 3] =
    [("STRIPE_TIMEOUT_MS", "100"), ("STRIPE_SLOW_LATENCY_MS", "300"), ("STRIPE_RETRY_BACKOFF_MS", "10")];

async fn checkout_in(stack: &impl Gateway, scenario: &str) -> (u16, Value) {
    let response = http()
        .post(format!("{}?scenario={scenario}", stack.checkout_url()))
        .json(&checkout_body())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn stripe_attempts(spans: &[Span]) -> Vec<&Span> {
    let mut attempts: Vec<&Span> = spans.iter().filter(|s| s.service_name == "stripe").collect();
    attempts.sort_by_key(|s| s.start_unix_nano);
    attempts
}

fn assert_every_span_says(spans: &[Span], scenario: &str) {
    for span in spans {
        assert_eq!(
            span.str_attribute("demo.scenario"),
            Some(scenario),
            "{} {}",
            span.service_name,
            span.name
        );
    }
}

#[tokio::test]
async fn the_scenarios_are_listed_each_with_what_its_trace_shows() {
    let stack = InProcess::start(&[]).await;
    let body: Value =
        http().get(format!("{}/api/scenarios", stack.url())).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        body["scenarios"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "happy",
            "slow-stripe",
            "stripe-outage",
            "card-declined",
            "out-of-stock",
            "slow-db",
            "sequential-inventory",
            "pool-contention"
        ]
    );
    assert!(
        body["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["lesson"].as_str().is_some_and(|l| l.len() > 20))
    );
}

#[tokio::test]
async fn an_unknown_scenario_is_a_400_that_lists_the_valid_ones_by_query_or_by_baggage() {
    let stack = InProcess::start(&[]).await;
    let (status, body) = checkout_in(&stack, "chaos-monkey").await;
    let by_baggage = post_checkout_with(&stack, "baggage", "scenario=chaos-monkey").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "unknown_scenario");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("happy, slow-stripe, stripe-outage, card-declined, out-of-stock, slow-db")
    );
    assert_eq!(by_baggage.status(), 400);
}

#[tokio::test]
async fn slow_stripe_times_out_twice_retries_with_backoff_and_succeeds_on_the_third_attempt() {
    let stack = InProcess::start(&FAST_STRIPE).await;

    let (status, body) = checkout_in(&stack, "slow-stripe").await;

    assert_eq!(status, 201, "{body}");
    let spans = stack.spans_of(&trace_id_of(&body), CHECKOUT_SPANS + 2).await;
    let refs: Vec<&Span> = spans.iter().collect();
    let payment = the_span(&refs, "payment-service", Kind::Server, "POST /payments");
    let attempts = stripe_attempts(&spans);
    assert_eq!(attempts.len(), 3, "{:#?}", summary(&refs));
    for (n, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt.kind, Kind::Client);
        assert_eq!(
            attempt.parent_span_id.as_deref(),
            Some(payment.span_id.as_str()),
            "every attempt is a child of the payment"
        );
        let resend = attempt.attribute("http.request.resend_count").and_then(Attr::as_i64);
        assert_eq!(resend, if n == 0 { None } else { Some(n as i64) }, "attempt {n}");
    }
    for failed in &attempts[..2] {
        assert_eq!((failed.status, failed.str_attribute("error.type")), (StatusCode::Error, Some("timeout")));
        assert!(failed.duration_nanos() >= 100_000_000, "a timed-out attempt waited the whole timeout");
    }
    assert_eq!(attempts[2].status, StatusCode::Unset);
    assert_eq!(attempts[2].attribute("http.response.status_code").and_then(Attr::as_i64), Some(200));
    // The backoff is visible as the gaps between attempts, and the checkout still succeeded.
    assert!(attempts[1].start_unix_nano >= attempts[0].end_unix_nano + 10_000_000);
    assert_eq!(payment.status, StatusCode::Unset);
    assert_every_span_says(&spans, "slow-stripe");
    let root = the_span(&refs, "gateway", Kind::Server, "POST /api/checkout");
    assert_eq!(root.str_attribute("url.query"), Some("scenario=slow-stripe"), "the query string, as sent");
}

#[tokio::test]
async fn stripe_outage_is_a_503_naming_stripe_with_the_error_visible_at_every_level() {
    let stack = InProcess::start(&FAST_STRIPE).await;

    let (status, body) = checkout_in(&stack, "stripe-outage").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["error"]["dependency"], "stripe");
    let spans = stack.spans_of(&trace_id_of(&body), CHECKOUT_SPANS + 2).await;
    let refs: Vec<&Span> = spans.iter().collect();
    let attempts = stripe_attempts(&spans);
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.status == StatusCode::Error && a.str_attribute("error.type") == Some("503"))
    );
    for (service, kind, name) in [
        ("payment-service", Kind::Server, "POST /payments"),
        ("order-service", Kind::Client, "POST /payments"),
        ("order-service", Kind::Server, "POST /orders"),
        ("gateway", Kind::Client, "POST /orders"),
        ("gateway", Kind::Server, "POST /api/checkout"),
    ] {
        assert_eq!(
            the_span(&refs, service, kind, name).status,
            StatusCode::Error,
            "{service} {kind:?} {name}"
        );
    }
    assert_every_span_says(&spans, "stripe-outage");
}

#[tokio::test]
async fn card_declined_is_a_402_business_refusal_chosen_by_a_baggage_header_with_no_server_error() {
    let stack = InProcess::start(&FAST_STRIPE).await;

    let response = post_checkout_with(&stack, "baggage", "scenario=card-declined").await;

    assert_eq!(response.status(), 402);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "card_declined");
    let spans = stack.spans_of(&trace_id_of(&body), CHECKOUT_SPANS).await;
    let attempts = stripe_attempts(&spans);
    assert_eq!(attempts.len(), 1, "a declined card is not retried");
    assert_eq!(attempts[0].attribute("http.response.status_code").and_then(Attr::as_i64), Some(402));
    for server in spans.iter().filter(|s| s.kind == Kind::Server) {
        assert_eq!(
            server.status,
            StatusCode::Unset,
            "{} answered a 4xx: not a server error",
            server.service_name
        );
        assert_eq!(server.attribute("http.response.status_code").and_then(Attr::as_i64), Some(402));
    }
    // The scenario travelled as baggage from the client through every hop to Stripe's span.
    assert_every_span_says(&spans, "card-declined");
}

#[tokio::test]
async fn out_of_stock_is_a_409_and_payment_is_never_called() {
    let stack = InProcess::start(&[]).await;

    let (status, body) = checkout_in(&stack, "out-of-stock").await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "out_of_stock");
    // Gateway 2; order-service: its SERVER span, validation, pricing and a stock check per item.
    let spans = stack.spans_of(&trace_id_of(&body), 7).await;
    assert!(
        spans.iter().all(|s| s.service_name == "gateway" || s.service_name == "order-service"),
        "payment-service never appears"
    );
    assert_eq!(spans.len(), 7, "and no order is stored");
    let refs: Vec<&Span> = spans.iter().collect();
    let sold_out: Vec<&&Span> = refs.iter().filter(|s| has_event(s, "Out of stock")).collect();
    assert_eq!(sold_out.len(), 1);
    assert_eq!(sold_out[0].str_attribute("product.sku"), Some("sku-book"));
    assert_every_span_says(&spans, "out-of-stock");
}

#[tokio::test]
async fn slow_db_makes_the_order_insert_dominate_the_trace() {
    let stack = InProcess::start(&[("SLOW_DB_MS", "400"), ("SIM_JITTER_PERCENT", "0")]).await;

    let (status, body) = checkout_in(&stack, "slow-db").await;

    assert_eq!(status, 201, "{body}");
    let spans = stack.spans_of(&trace_id_of(&body), CHECKOUT_SPANS).await;
    let refs: Vec<&Span> = spans.iter().collect();
    let root = the_span(&refs, "gateway", Kind::Server, "POST /api/checkout");
    let insert = the_span(&refs, "order-service", Kind::Client, "INSERT orders");
    // The report keeps the write lock 400 ms; the INSERT begins just after the report does.
    assert!(insert.duration_nanos() >= 300_000_000, "the insert waited most of the report out");
    assert!(insert.duration_nanos() * 2 > root.duration_nanos(), "it is more than half of the checkout");
    let longest_below_servers = refs
        .iter()
        .filter(|s| s.kind != Kind::Server && s.name != "POST /orders" && s.name != "POST /payments")
        .max_by_key(|s| s.duration_nanos())
        .unwrap();
    assert_eq!(longest_below_servers.name, "INSERT orders");
    assert_every_span_says(&spans, "slow-db");
    // Why: it waited for the write lock, which the sales report held: a trace of its own, which
    // the INSERT links to.
    let [link] = &insert.links[..] else { panic!("one link: {:?}", insert.links) };
    assert_eq!(
        link.attributes.get("demo.waited_for"),
        Some(&tracectl::model::Value::Str("the write lock".into()))
    );
    assert_ne!(link.trace_id, insert.trace_id);
    let reports = stack.spans_when(|spans| spans.iter().any(|s| s.span_id == link.span_id)).await;
    let report = reports.iter().find(|s| s.span_id == link.span_id).unwrap();
    assert_eq!((report.name.as_str(), report.parent_span_id.as_deref()), ("sales_report", None));
    assert_eq!(report.str_attribute("demo.transaction"), Some("BEGIN IMMEDIATE"));
    assert!(report.start_unix_nano <= insert.start_unix_nano, "the report held the lock first");
    // The report keeps its transaction 400 ms after it begins; the INSERT ends after that.
    assert!(insert.end_unix_nano >= report.start_unix_nano + 400_000_000, "the INSERT waited it out");
}

/// A four-item order, so a staircase has steps.
fn four_items() -> Value {
    serde_json::json!({
        "customer_id": "cust-n-plus-one",
        "items": [
            {"sku": "sku-book", "quantity": 1}, {"sku": "sku-mug", "quantity": 1},
            {"sku": "sku-shirt", "quantity": 1}, {"sku": "sku-poster", "quantity": 1}
        ],
        "card_token": "tok_visa"
    })
}

/// The `check_stock` spans of a four-item checkout in `scenario`, sorted by start.
async fn stock_checks(scenario: &str) -> Vec<Span> {
    let stack = InProcess::start(&[("INVENTORY_MS", "40")]).await;
    let response = http()
        .post(format!("{}?scenario={scenario}", stack.checkout_url()))
        .json(&four_items())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let spans = stack.spans_of(&trace_id_of(&body), CHECKOUT_SPANS + 2).await;
    let inventory = spans.iter().find(|s| s.name == "inventory_and_pricing").unwrap();
    let mode = if scenario == "sequential-inventory" { "sequential" } else { "parallel" };
    assert_eq!(inventory.str_attribute("inventory.mode"), Some(mode));
    let mut checks: Vec<Span> = spans.into_iter().filter(|s| s.name == "check_stock").collect();
    checks.sort_by_key(|s| s.start_unix_nano);
    assert_eq!(checks.len(), 4);
    checks
}

#[tokio::test]
async fn sequential_inventory_checks_items_one_after_another_a_staircase_where_happy_runs_them_at_once() {
    // The N+1 shape: each check starts only after the one before it ended.
    let staircase = stock_checks("sequential-inventory").await;
    for pair in staircase.windows(2) {
        assert!(pair[1].start_unix_nano >= pair[0].end_unix_nano, "a step of the staircase overlaps");
    }
    // The default: every check starts before the first one ends.
    let parallel = stock_checks("happy").await;
    let first_end = parallel.iter().map(|s| s.end_unix_nano).min().unwrap();
    assert!(parallel.iter().all(|s| s.start_unix_nano < first_end), "the checks ran one by one");
}

#[tokio::test]
async fn pool_contention_queues_concurrent_checkouts_and_the_wait_names_the_request_ahead() {
    // Queries hold the single connection for 200 ms: five checkouts at once must queue.
    let stack = InProcess::start(&[("DB_QUERY_MS", "200")]).await;
    let requests = (0..5).map(|n| {
        let mut body = checkout_body();
        body["customer_id"] = Value::from(format!("cust-queue-{n}"));
        http().post(format!("{}?scenario=pool-contention", stack.checkout_url())).json(&body).send()
    });
    let mut customers_by_trace = std::collections::HashMap::new();
    for (n, response) in futures_util::future::join_all(requests).await.into_iter().enumerate() {
        let response = response.unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        customers_by_trace.insert(trace_id_of(&body), format!("cust-queue-{n}"));
    }
    let spans = stack
        .spans_when(|s| {
            customers_by_trace.keys().all(|t| of_trace_without_waits(s, t).len() >= CHECKOUT_SPANS)
        })
        .await;

    let waits: Vec<&Span> = spans.iter().filter(|s| s.name == POOL_WAIT).collect();
    assert!(!waits.is_empty(), "five checkouts on one connection never queued");
    for wait in &waits {
        assert_eq!(wait.str_attribute("db.client.connection.pool.name"), Some("orders-single"));
        assert_eq!(wait.attribute("db.client.connection.pool.max").and_then(Attr::as_i64), Some(1));
        // It names the requests ahead of it in the queue: other checkouts of this test, by trace id
        // and by the customer each carried in its baggage.
        let behind: Vec<&str> =
            wait.str_attribute("demo.waited_behind.trace_id").unwrap().split(',').collect();
        let customers: Vec<&str> =
            wait.str_attribute("demo.waited_behind.customer").unwrap().split(',').collect();
        let ahead = wait.attribute("demo.queue.ahead").and_then(Attr::as_i64).unwrap();
        assert!(
            ahead >= 1 && behind.len() == ahead as usize && customers.len() == behind.len(),
            "{:?}",
            wait.attributes
        );
        for (trace, customer) in behind.iter().zip(&customers) {
            assert_ne!(*trace, wait.trace_id, "a request cannot wait behind itself");
            assert_eq!(customers_by_trace.get(*trace).map(String::as_str), Some(*customer), "{trace}");
        }
        assert_eq!(wait.str_attribute("demo.scenario"), Some("pool-contention"));
    }
    // The wait sits right before the query it waited for, in the same request.
    let wait = waits.iter().max_by_key(|w| w.duration_nanos()).unwrap();
    assert!(wait.duration_nanos() >= 100_000_000, "it waited for most of a query: {}", wait.duration_nanos());
    assert!(
        spans.iter().any(|q| q.trace_id == wait.trace_id
            && q.kind == Kind::Client
            && q.str_attribute("db.system.name") == Some("sqlite")
            && q.start_unix_nano >= wait.end_unix_nano),
        "a query follows the wait"
    );
}

/// The `setting=value` pairs a service logged as non-default at start-up.
fn switches_logged(service: &Service) -> Vec<(String, String)> {
    service
        .logs()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"].as_str().is_some_and(|m| m.starts_with("Non-default setting")))
        .map(|line| {
            let field = |k: &str| line[k].as_str().unwrap().to_owned();
            (field("setting"), field("value"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_wide_switches_change_every_request_and_each_is_logged_once_at_start_up() {
    let receiver = receiver().await;
    let switches = [
        ("INVENTORY_MODE", "sequential"),
        ("STRIPE_DECLINE_PERCENT", "100"),
        ("FIXES", "slow-stripe,pool-contention"),
    ];
    let stack = Stack::start(&receiver.endpoint(), &switches).await;

    // No scenario on the request: the switches alone decide.
    let response = post_checkout(&stack).await;
    assert_eq!(response.status(), 402);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "card_declined");
    let trace_id = trace_id_of(&body);
    let spans = receiver.store.wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 12).await.unwrap();
    let inventory =
        spans.iter().find(|s| s.trace_id == trace_id && s.name == "inventory_and_pricing").unwrap();
    assert_eq!(inventory.str_attribute("inventory.mode"), Some("sequential"));

    let logged = |service: &Service, name: &str| {
        switches_logged(service).into_iter().filter(|(n, _)| n == name).map(|(_, v)| v).collect::<Vec<_>>()
    };
    assert_eq!(logged(&stack.order, "INVENTORY_MODE"), ["sequential"], "once, with its value");
    assert_eq!(logged(&stack.payment, "STRIPE_DECLINE_PERCENT"), ["100"]);
    // The scenario fixes are a switch like the others, logged by every service that reads them.
    assert_eq!(logged(&stack.order, "FIXES"), ["slow-stripe,pool-contention"]);
    assert_eq!(logged(&stack.payment, "FIXES"), ["slow-stripe,pool-contention"]);
    // Settings left at their default are not logged.
    assert!(logged(&stack.order, "DB_POOL_SIZE").is_empty());
    assert!(logged(&stack.payment, "STRIPE_FAILURE_PERCENT").is_empty());
    stack.stop().await;
}
