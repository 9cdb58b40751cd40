//! A fix for every scenario that has one (`FIXES=<scenario>,…`), each checked the way the lessons
//! show it: the scenario's trace before and after, compared with `tracectl compare`, whose report
//! must name the change the fix makes. The services run in this process ([`InProcess`]).

use serde_json::Value;
use tracectl::{
    compare::{Comparison, compare},
    model::Span,
    trace::Trace,
};

use crate::{in_process::InProcess, support::*};

/// Fast Stripe settings: an attempt times out after 100 ms, a slow Stripe takes 300.
const FAST_STRIPE: [(&str, &str); 3] =
    [("STRIPE_TIMEOUT_MS", "100"), ("STRIPE_SLOW_LATENCY_MS", "300"), ("STRIPE_RETRY_BACKOFF_MS", "10")];

/// One checkout of `scenario` with `body`; its status and its whole trace.
async fn checkout(stack: &InProcess, scenario: &str, body: &Value) -> (u16, Trace) {
    let response =
        http().post(format!("{}?scenario={scenario}", stack.checkout_url())).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    let trace_id = answer["trace_id"].as_str().or(answer["error"]["trace_id"].as_str()).unwrap().to_owned();
    (status, whole_trace(stack, &trace_id).await)
}

/// The trace, once its root (the gateway's SERVER span, the last to end) has arrived.
async fn whole_trace(stack: &InProcess, trace_id: &str) -> Trace {
    let root = |s: &Span| s.trace_id == trace_id && s.parent_span_id.is_none();
    let spans = stack.spans_when(|spans| spans.iter().any(root)).await;
    Trace::new(spans.into_iter().filter(|s| s.trace_id == trace_id).collect())
}

/// A scenario's trace without its fix, then with it (both answered 201).
async fn before_and_after(scenario: &str, extra: &[(&str, &str)], body: &Value) -> Comparison {
    let (before_status, before) = checkout(&InProcess::start(extra).await, scenario, body).await;
    let fixed: Vec<(&str, &str)> = extra.iter().copied().chain([("FIXES", scenario)]).collect();
    let (after_status, after) = checkout(&InProcess::start(&fixed).await, scenario, body).await;
    assert_eq!((before_status, after_status), (201, 201), "the fix changes the trace, not the answer");
    compare(&before, &after)
}

fn rows_named<'a>(c: &'a Comparison, name: &str) -> Vec<&'a tracectl::compare::Row> {
    c.rows.iter().filter(|r| r.name == name).collect()
}

#[tokio::test]
async fn slow_stripe_fixed_by_a_timeout_sized_to_stripe_waits_less_on_each_attempt() {
    let extra: Vec<(&str, &str)> =
        FAST_STRIPE.iter().copied().chain([("STRIPE_FIXED_TIMEOUT_MS", "20")]).collect();
    let c = before_and_after("slow-stripe", &extra, &checkout_body()).await;
    // The same three attempts; the two that time out wait 20 ms instead of 100.
    let attempts = rows_named(&c, "POST /v1/charges");
    assert_eq!(attempts.len(), 3, "{:?}", c.rows);
    for timed_out in &attempts[..2] {
        let (a, b) = (timed_out.a_nanos.unwrap(), timed_out.b_nanos.unwrap());
        assert!(a >= 100_000_000 && b < 100_000_000, "{a} → {b}");
    }
    assert!(c.verdict.starts_with("B is ") && c.verdict.contains(" faster"), "{}", c.verdict);
    assert!(c.verdict.contains("stripe POST /v1/charges"), "{}", c.verdict);
}

#[tokio::test]
async fn stripe_outage_fixed_by_a_circuit_breaker_fails_fast_without_calling_stripe() {
    // With the fix, the first outage checkout fails as before and opens the breaker; the next
    // one fails at once: its trace has no Stripe attempts at all.
    let stack = InProcess::start(
        &FAST_STRIPE.iter().copied().chain([("FIXES", "stripe-outage")]).collect::<Vec<_>>(),
    )
    .await;
    let (first_status, first) = checkout(&stack, "stripe-outage", &checkout_body()).await;
    let (second_status, second) = checkout(&stack, "stripe-outage", &checkout_body()).await;
    assert_eq!((first_status, second_status), (503, 503));
    let c = compare(&first, &second);
    let attempts = rows_named(&c, "POST /v1/charges");
    assert_eq!(attempts.len(), 3, "{:?}", c.rows);
    assert!(attempts.iter().all(|r| r.b_nanos.is_none()), "no attempt in B: {:?}", attempts);
    assert!(c.verdict.contains(" faster"), "{}", c.verdict);
    let payment =
        second.spans.iter().find(|s| s.service_name == "payment-service" && s.name == "POST /payments");
    let events: Vec<&str> = payment.unwrap().events.iter().map(|e| e.name.as_str()).collect();
    assert!(events.iter().any(|e| e.contains("circuit is open")), "{events:?}");
}

#[tokio::test]
async fn slow_db_fixed_by_a_report_that_reads_a_snapshot_stores_the_order_without_waiting_for_it() {
    let c =
        before_and_after("slow-db", &[("SLOW_DB_MS", "400"), ("SIM_JITTER_PERCENT", "0")], &checkout_body())
            .await;
    let [insert] = rows_named(&c, "INSERT orders")[..] else { panic!("one INSERT: {:?}", c.rows) };
    let (a, b) = (insert.a_nanos.unwrap(), insert.b_nanos.unwrap());
    // It waits from its start (just after the report began) to the report's end, then not at all.
    assert!(
        a >= 300_000_000 && b < 200_000_000,
        "the INSERT waited for the report's lock, then did not: {a} → {b}"
    );
    assert!(
        c.verdict.contains(" faster") && c.verdict.contains("order-service INSERT orders"),
        "{}",
        c.verdict
    );
}

#[tokio::test]
async fn sequential_inventory_fixed_by_checking_stock_at_once_takes_one_check_instead_of_four() {
    let mut body = checkout_body();
    body["items"] = serde_json::json!([
        {"sku": "sku-book", "quantity": 1}, {"sku": "sku-mug", "quantity": 1},
        {"sku": "sku-shirt", "quantity": 1}, {"sku": "sku-sticker", "quantity": 2}
    ]);
    let c = before_and_after("sequential-inventory", &[("INVENTORY_MS", "40")], &body).await;
    assert_eq!(rows_named(&c, "check_stock").len(), 4, "the same four checks: {:?}", c.rows);
    assert!(c.verdict.contains(" faster"), "{}", c.verdict);
    assert!(c.verdict.contains("check_stock's time on the critical path"), "{}", c.verdict);
}

#[tokio::test]
async fn pool_contention_fixed_by_a_pool_sized_for_the_load_waits_for_no_connection() {
    // Five checkouts at once, each query holding its connection for 100 ms.
    let run = |fixed: bool| async move {
        let mut extra = vec![("DB_QUERY_MS", "100"), ("DB_POOL_SIZE", "8")];
        if fixed {
            extra.push(("FIXES", "pool-contention"));
        }
        let stack = InProcess::start(&extra).await;
        let requests = (0..5).map(|n| {
            let mut body = checkout_body();
            body["customer_id"] = Value::from(format!("cust-pool-{n}"));
            http().post(format!("{}?scenario=pool-contention", stack.checkout_url())).json(&body).send()
        });
        let mut traces = Vec::new();
        for response in futures_util::future::join_all(requests).await {
            let body: Value = response.unwrap().json().await.unwrap();
            traces.push(whole_trace(&stack, body["trace_id"].as_str().unwrap()).await);
        }
        // The slowest of the five: the one that queued longest (before the fix).
        traces.into_iter().max_by_key(Trace::duration_nanos).unwrap()
    };
    let (before, after) = (run(false).await, run(true).await);
    let c = compare(&before, &after);
    let waits = rows_named(&c, POOL_WAIT);
    assert!(!waits.is_empty() && waits.iter().all(|r| r.b_nanos.is_none()), "waits only in A: {:?}", c.rows);
    assert!(c.verdict.contains(" faster") && c.verdict.contains(POOL_WAIT), "{}", c.verdict);
}
