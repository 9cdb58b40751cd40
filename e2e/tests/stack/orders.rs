//! Stored orders end to end: SQLite persistence behind order-service, `GET /api/orders/{id}`, and
//! `Idempotency-Key` (a repeated checkout returns the same order and charges once).

use crate::support::*;
use serde_json::Value;
use tracectl::model::{Kind, Span, Value as Attr};

async fn checkout_with_key(stack: &Stack, key: &str, body: &Value, scenario: &str) -> reqwest::Response {
    http()
        .post(format!("{}?scenario={scenario}", stack.checkout_url()))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_order_is_read_back_through_the_gateway_and_an_unknown_one_is_a_404() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let created: Value = post_checkout(&stack).await.json().await.unwrap();
    let order_id = created["order_id"].as_str().unwrap();

    let found = http().get(format!("{}/api/orders/{order_id}", stack.gateway.url())).send().await.unwrap();
    let traceresponse = found.headers()["traceresponse"].to_str().unwrap().to_owned();
    assert_eq!(found.status(), 200);
    let order: Value = found.json().await.unwrap();
    let unknown = http().get(format!("{}/api/orders/ord_nope", stack.gateway.url())).send().await.unwrap();
    let odd = http().get(format!("{}/api/orders/..%2F..%2Fetc", stack.gateway.url())).send().await.unwrap();

    assert_eq!(order["order_id"], order_id);
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["payment_id"], created["payment_id"]);
    assert_eq!(order["total_cents"], created["total_cents"]);
    assert_eq!(order["customer_id"], "cust-42");
    assert_eq!(order["items"], checkout_body()["items"]);
    for response in [unknown, odd] {
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "order_not_found", "{body}");
    }

    // The read is traced like the write: gateway → order-service → a SELECT span.
    let trace_id = traceresponse.split('-').nth(1).unwrap().to_owned();
    let all = receiver.store.wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 4).await.unwrap();
    stack.stop().await;
    let spans = of_trace(&all, &trace_id);
    let server = the_span(&spans, "gateway", Kind::Server, "GET /api/orders/{id}");
    assert_eq!(server.str_attribute("http.route"), Some("/api/orders/{id}"));
    the_span(&spans, "gateway", Kind::Client, "GET /orders/{id}");
    the_span(&spans, "order-service", Kind::Server, "GET /orders/{id}");
    let select = the_span(&spans, "order-service", Kind::Client, "SELECT orders");
    assert_eq!(select.str_attribute("db.query.text").map(|q| q.contains("WHERE order_id = ?1")), Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_survive_an_order_service_restart() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let created: Value = post_checkout(&stack).await.json().await.unwrap();
    let order_id = created["order_id"].as_str().unwrap().to_owned();
    let Stack { gateway, order, payment } = stack;
    let order_env = order.env().to_vec();
    assert!(order.stop().await.success());

    // A new process on the same file.
    let restarted = start("order-service", &order_env).await;
    let response = http().get(format!("{}/orders/{order_id}", restarted.url())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(
        (stored["status"].as_str(), stored["payment_id"].clone()),
        (Some("confirmed"), created["payment_id"].clone())
    );
    for service in [gateway, restarted, payment] {
        assert!(service.stop().await.success());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_idempotency_key_returns_the_same_order_and_charges_once() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let body = checkout_body();

    let first = checkout_with_key(&stack, "checkout-key-1", &body, "happy").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = checkout_with_key(&stack, "checkout-key-1", &body, "happy").await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    let mut other_body = body.clone();
    other_body["items"][0]["quantity"] = Value::from(5);
    let misused = checkout_with_key(&stack, "checkout-key-1", &other_body, "happy").await;
    let bad_key = checkout_with_key(&stack, &"k".repeat(300), &body, "happy").await;

    // The same order, the same payment: one charge.
    for field in ["order_id", "payment_id", "total_cents", "status"] {
        assert_eq!(again[field], first[field], "{field}");
    }
    assert_ne!(
        again["trace_id"], first["trace_id"],
        "the replay is a request of its own, with its own trace"
    );
    assert_eq!(misused.status(), 422);
    assert_eq!(misused.json::<Value>().await.unwrap()["error"]["code"], "idempotency_key_reused");
    assert_eq!(bad_key.status(), 400);
    assert_eq!(bad_key.json::<Value>().await.unwrap()["error"]["code"], "invalid_header");

    // The replay's trace stops at order-service, which answered from the database.
    let replay_trace = again["trace_id"].as_str().unwrap().to_owned();
    receiver.store.wait_for(SPANS_TIMEOUT, |s| of_trace(s, &replay_trace).len() >= 4).await.unwrap();
    stack.stop().await;
    let all = receiver.store.spans();
    let replay = of_trace(&all, &replay_trace);
    assert!(
        replay.iter().all(|s| s.service_name == "gateway" || s.service_name == "order-service"),
        "{:#?}",
        summary(&replay)
    );
    let server = the_span(&replay, "order-service", Kind::Server, "POST /orders");
    assert_eq!(server.attribute("order.idempotent_replayed"), Some(&Attr::Bool(true)));
    let stripe_calls: Vec<&Span> = all.iter().filter(|s| s.service_name == "stripe").collect();
    assert_eq!(stripe_calls.len(), 1, "charged once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_checkout_retried_with_its_key_pays_the_same_order_with_the_same_stripe_key() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[("STRIPE_RETRY_BACKOFF_MS", "1")]).await;
    let body = checkout_body();

    let failed = checkout_with_key(&stack, "retry-me", &body, "stripe-outage").await;
    assert_eq!(failed.status(), 503);
    let failed: Value = failed.json().await.unwrap();
    let retried = checkout_with_key(&stack, "retry-me", &body, "happy").await;
    assert_eq!(retried.status(), 201);
    let retried: Value = retried.json().await.unwrap();
    let order_id = retried["order_id"].as_str().unwrap();

    let (failed_trace, retried_trace) = (trace_id_of(&failed), trace_id_of(&retried));
    receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &retried_trace).len() >= CHECKOUT_SPANS - 1)
        .await
        .unwrap();
    stack.stop().await;
    let all = receiver.store.spans();
    // Every Stripe attempt of both requests sent the same key, derived from the one order.
    let keys: Vec<(&str, &str)> = all
        .iter()
        .filter(|s| s.service_name == "stripe")
        .map(|s| (s.trace_id.as_str(), s.str_attribute("http.request.header.idempotency-key").unwrap()))
        .collect();
    assert_eq!(keys.iter().filter(|(t, _)| *t == failed_trace).count(), 3, "three failed attempts");
    assert_eq!(keys.iter().filter(|(t, _)| *t == retried_trace).count(), 1);
    let expected = format!("order-{order_id}");
    assert!(keys.iter().all(|(_, k)| *k == expected), "{keys:?}");
    // The retry reused the stored order: an UPDATE back to pending, no second INSERT.
    let retry = of_trace(&all, &retried_trace);
    assert!(!retry.iter().any(|s| s.name == "INSERT orders"), "{:#?}", summary(&retry));
}
