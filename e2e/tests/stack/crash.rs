//! Crash-safe checkout, over real processes: one process is killed with SIGKILL at a point of a
//! checkout sent with an `Idempotency-Key`, restarted on the same files (and the same port), and
//! the checkout retried with the same key and body. Every time, the retry answers 201, the order
//! is confirmed, Stripe's ledger holds exactly one charge for the checkout, and the orders
//! database passes `PRAGMA integrity_check`.
//!
//! Each window is opened with the scenarios' latencies or a test-only delay
//! (`CRASH_WINDOW_*_MS`), and the kill waits for the log line that says the window is open.

use serde_json::{Value, json};
use tracectl::model::Kind;

use crate::support::*;

/// Which process dies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Victim {
    Gateway,
    Order,
    Payment,
}

/// One crash point.
struct Case {
    /// The teaching scenario the first attempt runs (`happy` for none).
    scenario: &'static str,
    /// Settings that open the window (for every service; each reads its own).
    extra: &'static [(&'static str, &'static str)],
    /// Whose log says the window is open, and the line.
    watch: Victim,
    line: &'static str,
    victim: Victim,
}

/// Fast Stripe retries, so slow-stripe's attempts take well under a second here.
const FAST_STRIPE: [(&str, &str); 2] = [("STRIPE_TIMEOUT_MS", "400"), ("STRIPE_RETRY_BACKOFF_MS", "0")];
/// The debug lines that mark order-service's windows.
const ORDER_DEBUG: (&str, &str) = ("RUST_LOG", "info,order_service=debug");

fn service(stack: &Stack, which: Victim) -> &Service {
    match which {
        Victim::Gateway => &stack.gateway,
        Victim::Order => &stack.order,
        Victim::Payment => &stack.payment,
    }
}

async fn checkout(gateway: &str, key: &str, scenario: &str) -> reqwest::Response {
    http()
        .post(format!("{gateway}/api/checkout?scenario={scenario}"))
        .header("Idempotency-Key", key)
        .json(&checkout_body())
        .send()
        .await
        .unwrap()
}

/// What the crash left, checked after the retry: the order, the charges, the database.
struct Outcome {
    retry: Value,
    first_trace_id: Option<String>,
    receiver: tracectl::receiver::RunningReceiver,
}

async fn crash_then_retry(case: Case) -> Outcome {
    let receiver = receiver().await;
    let mut extra: Vec<(&str, &str)> = FAST_STRIPE.to_vec();
    extra.extend(case.extra);
    let stack = Stack::start(&receiver.endpoint(), &extra).await;
    let env = stack.order.env().to_vec();
    let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap();
    let (orders_db, ledger) = (value("ORDER_DB_PATH"), value("STRIPE_LEDGER_PATH"));
    let gateway_url = stack.gateway.url();
    let key = format!("crash-{}", uuid_like());

    // The first attempt, running while the victim is killed.
    let first = tokio::spawn({
        let (url, key, scenario) = (gateway_url.clone(), key.clone(), case.scenario);
        async move { http_first_attempt(&url, &key, scenario).await }
    });
    service(&stack, case.watch)
        .wait_for_logs(case.line, |lines| lines.iter().any(|l| l.contains(case.line)))
        .await;
    let Stack { gateway, order, payment } = stack;
    let (mut gateway, mut order, mut payment) = (Some(gateway), Some(order), Some(payment));
    let slot = match case.victim {
        Victim::Gateway => &mut gateway,
        Victim::Order => &mut order,
        Victim::Payment => &mut payment,
    };
    let name = slot.as_ref().unwrap().name;
    let restart_env = slot.take().unwrap().kill().await;

    // The first attempt's answer: a 5xx naming who failed (or, the gateway killed, no answer).
    let first = first.await.unwrap();
    if case.victim != Victim::Gateway {
        let (status, body) = first.as_ref().expect("the gateway answers");
        assert!(*status >= 500, "{status}: {body}");
    }
    let first_trace_id = first.and_then(|(_, body)| body["error"]["trace_id"].as_str().map(str::to_owned));

    // Restart on the same files and port, and retry with the same key and body.
    *slot = Some(start(name, &restart_env).await);
    let gateway_url = gateway.as_ref().unwrap().url();
    let mut tries = 0;
    let retry = loop {
        tries += 1;
        let response = checkout(&gateway_url, &key, "happy").await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status == 201 || tries == 5 {
            assert_eq!(status, 201, "{name} killed at {:?}: the retry, try {tries}: {body}", case.line);
            break body;
        }
        // Only a checkout really in progress is asked to wait: the crash left none here, but the
        // gateway case may race with order-service noticing its caller went away.
        assert_eq!(body["error"]["code"], "idempotency_key_in_use", "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(tries <= 2, "resumed at the first retry (or the second, behind a dying request): {tries}");

    // The order is confirmed, read back through the gateway.
    let order_id = retry["order_id"].as_str().unwrap();
    let stored: Value = http()
        .get(format!("{gateway_url}/api/orders/{order_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["status"], "confirmed", "{stored}");
    for service in [gateway, order, payment].into_iter().flatten() {
        assert!(service.stop().await.success());
    }
    // Exactly one charge, for this order's Stripe key: none lost, none made twice.
    let ledger = rusqlite::Connection::open(ledger).unwrap();
    let charges: Vec<String> = ledger
        .prepare("SELECT idempotency_key FROM charges")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(charges, [format!("order-{order_id}")], "{name} killed at {:?}", case.line);
    let orders = rusqlite::Connection::open(orders_db).unwrap();
    let integrity: String = orders.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let rows: i64 = orders.query_row("SELECT COUNT(*) FROM orders", [], |row| row.get(0)).unwrap();
    assert_eq!(rows, 1, "one order for one checkout");
    Outcome { retry, first_trace_id, receiver }
}

/// The first attempt: its status and body, or `None` if the connection died with the gateway.
async fn http_first_attempt(gateway: &str, key: &str, scenario: &str) -> Option<(u16, Value)> {
    let response = http()
        .post(format!("{gateway}/api/checkout?scenario={scenario}"))
        .header("Idempotency-Key", key)
        .json(&checkout_body())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(json!(null))))
}

fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

#[tokio::test(flavor = "multi_thread")]
async fn order_service_killed_during_validation() {
    let case = Case {
        scenario: "happy",
        extra: &[("ORDER_VALIDATION_MS", "5000")],
        watch: Victim::Order,
        line: "Validating order",
        victim: Victim::Order,
    };
    let outcome = crash_then_retry(case).await;
    assert_eq!(resumed(&outcome).await, None, "nothing was stored yet: the retry makes the order");
}

#[tokio::test(flavor = "multi_thread")]
async fn order_service_killed_during_the_insert() {
    let case = Case {
        scenario: "slow-db",
        extra: &[("SLOW_DB_MS", "5000"), ORDER_DEBUG],
        watch: Victim::Order,
        line: "Storing the order",
        victim: Victim::Order,
    };
    let outcome = crash_then_retry(case).await;
    // The simulated INSERT waits before it writes: killed in it, nothing was stored.
    assert_eq!(resumed(&outcome).await, None, "nothing was stored yet: the retry makes the order");
}

#[tokio::test(flavor = "multi_thread")]
async fn order_service_killed_while_waiting_for_payment_service_and_the_retry_links_to_the_trace_that_died() {
    let case = Case {
        scenario: "slow-stripe",
        extra: &[],
        watch: Victim::Payment,
        line: "Processing payment",
        victim: Victim::Order,
    };
    let outcome = crash_then_retry(case).await;
    let event = assert_resumed_from_the_trace_that_died(&outcome).await;
    // payment-service went on with Stripe while order-service was dead: whether its charge
    // landed before the retry asked is a race, so either answer is right, and said.
    assert!(event.contains("charged once") || event.contains("charged now"), "{event}");
}

/// The retry's order-service SERVER span: `None` if it made the order anew (the attempt that died
/// had stored nothing); else why it resumed (its link's `checkout.resumed_from`, the link pointing
/// into the trace the first answer named) and the event saying what it found at Stripe.
async fn resumed(outcome: &Outcome) -> Option<(String, String)> {
    let retry_trace = outcome.retry["trace_id"].as_str().unwrap();
    let spans = outcome
        .receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| {
            of_trace(s, retry_trace).iter().any(|s| s.service_name == "order-service")
        })
        .await
        .unwrap();
    let spans = of_trace(&spans, retry_trace);
    let server = the_span(&spans, "order-service", Kind::Server, "POST /orders");
    let event = server.events.iter().find(|e| e.name.starts_with("Resumed order")).map(|e| e.name.clone());
    let Some(link) = server.links.first() else {
        assert_eq!(event, None, "an event without a link: {:?}", server.events);
        return None;
    };
    assert_eq!(server.links.len(), 1, "{:?}", server.links);
    if let Some(first) = &outcome.first_trace_id {
        assert_eq!(&link.trace_id, first, "the link points into the trace that died");
    }
    let why = link.attributes["checkout.resumed_from"].as_str().unwrap().to_owned();
    Some((why, event.unwrap_or_else(|| panic!("a link without the event: {:?}", server.events))))
}

/// The link of a resumed attempt, and what it found at Stripe.
async fn assert_resumed_from_the_trace_that_died(outcome: &Outcome) -> String {
    let (why, event) = resumed(outcome).await.expect("resumed");
    assert_eq!(why, "abandoned");
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn order_service_killed_between_the_charge_and_the_confirming_update() {
    let case = Case {
        scenario: "happy",
        extra: &[("CRASH_WINDOW_BEFORE_CONFIRM_MS", "5000"), ORDER_DEBUG],
        watch: Victim::Order,
        line: "Payment received; confirming the order",
        victim: Victim::Order,
    };
    let outcome = crash_then_retry(case).await;
    // Stripe had charged: the retry found that charge rather than making another, and says so.
    let event = assert_resumed_from_the_trace_that_died(&outcome).await;
    assert!(event.contains("an earlier attempt made: charged once"), "{event}");
}

#[tokio::test(flavor = "multi_thread")]
async fn payment_service_killed_during_a_stripe_attempt() {
    let case = Case {
        scenario: "slow-stripe",
        extra: &[],
        watch: Victim::Payment,
        line: "Stripe call failed; retrying",
        victim: Victim::Payment,
    };
    let outcome = crash_then_retry(case).await;
    // order-service marked the order failed (payment-service gone); Stripe never charged.
    let (why, event) = resumed(&outcome).await.expect("resumed");
    assert_eq!(why, "payment_failed");
    assert!(event.contains("no earlier charge at Stripe: charged now"), "{event}");
}

#[tokio::test(flavor = "multi_thread")]
async fn payment_service_killed_after_stripe_charged() {
    let case = Case {
        scenario: "happy",
        extra: &[("CRASH_WINDOW_AFTER_CHARGE_MS", "5000")],
        watch: Victim::Payment,
        line: "Payment succeeded",
        victim: Victim::Payment,
    };
    let outcome = crash_then_retry(case).await;
    // Stripe had charged before payment-service died: its ledger answers the retry.
    let (why, event) = resumed(&outcome).await.expect("resumed");
    assert_eq!(why, "payment_failed");
    assert!(event.contains("an earlier attempt made: charged once"), "{event}");
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_killed_while_the_request_is_downstream() {
    let case = Case {
        scenario: "slow-stripe",
        extra: &[],
        watch: Victim::Payment,
        line: "Processing payment",
        victim: Victim::Gateway,
    };
    let outcome = crash_then_retry(case).await;
    // order-service's request went with its caller (cancelled): the order was left pending.
    let (why, _) = resumed(&outcome).await.expect("resumed");
    assert_eq!(why, "abandoned");
}
