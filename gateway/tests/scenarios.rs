//! Teaching scenarios end to end: each one is chosen per request through W3C baggage (or
//! `?scenario=`, which the gateway turns into baggage), and each must produce its trace shape.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use serde_json::Value;
use support::*;
use tracectl::model::{Kind, Span, StatusCode, Value as Attr};

/// Fast settings for the suite: a Stripe attempt times out after 100 ms, a slow Stripe takes 300.
const FAST_STRIPE: [(&str, &str); 3] =
    [("STRIPE_TIMEOUT_MS", "100"), ("STRIPE_SLOW_LATENCY_MS", "300"), ("STRIPE_RETRY_BACKOFF_MS", "10")];

async fn checkout_in(stack: &Stack, scenario: &str) -> (u16, Value) {
    let response = http()
        .post(format!("{}?scenario={scenario}", stack.checkout_url()))
        .json(&checkout_body())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn trace_id_of(body: &Value) -> String {
    body["trace_id"].as_str().or(body["error"]["trace_id"].as_str()).unwrap().to_owned()
}

/// Waits for `count` spans of the trace, stops the stack (flushing everything), returns them all.
async fn spans_of(
    receiver: &tracectl::receiver::RunningReceiver,
    stack: Stack,
    trace_id: &str,
    count: usize,
) -> Vec<Span> {
    receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, trace_id).len() >= count)
        .await
        .unwrap_or_else(|got| panic!("trace incomplete: {:#?}", summary(&of_trace(&got, trace_id))));
    // Read again after the services flushed on shutdown, so a span that should not exist cannot
    // slip past by arriving late.
    stack.stop().await;
    of_trace(&receiver.store.spans(), trace_id).into_iter().cloned().collect()
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

#[tokio::test(flavor = "multi_thread")]
async fn the_scenarios_are_listed_each_with_what_its_trace_shows() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let body: Value = http()
        .get(format!("{}/api/scenarios", stack.gateway.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stack.stop().await;
    let names: Vec<&str> =
        body["scenarios"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["happy", "slow-stripe", "stripe-outage", "card-declined", "out-of-stock"]);
    assert!(
        body["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["lesson"].as_str().is_some_and(|l| l.len() > 20))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_scenario_is_a_400_that_lists_the_valid_ones_by_query_or_by_baggage() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let (status, body) = checkout_in(&stack, "chaos-monkey").await;
    let by_baggage = post_checkout_with(&stack, "baggage", "scenario=chaos-monkey").await;
    stack.stop().await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "unknown_scenario");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("happy, slow-stripe, stripe-outage, card-declined, out-of-stock")
    );
    assert_eq!(by_baggage.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_stripe_times_out_twice_retries_with_backoff_and_succeeds_on_the_third_attempt() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &FAST_STRIPE).await;

    let (status, body) = checkout_in(&stack, "slow-stripe").await;

    assert_eq!(status, 201, "{body}");
    let spans = spans_of(&receiver, stack, &trace_id_of(&body), 11).await;
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
}

#[tokio::test(flavor = "multi_thread")]
async fn stripe_outage_is_a_503_naming_stripe_with_the_error_visible_at_every_level() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &FAST_STRIPE).await;

    let (status, body) = checkout_in(&stack, "stripe-outage").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["error"]["dependency"], "stripe");
    let spans = spans_of(&receiver, stack, &trace_id_of(&body), 11).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn card_declined_is_a_402_business_refusal_chosen_by_a_baggage_header_with_no_server_error() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &FAST_STRIPE).await;

    let response = post_checkout_with(&stack, "baggage", "scenario=card-declined").await;

    assert_eq!(response.status(), 402);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "card_declined");
    let spans = spans_of(&receiver, stack, &trace_id_of(&body), 9).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn out_of_stock_is_a_409_and_payment_is_never_called() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;

    let (status, body) = checkout_in(&stack, "out-of-stock").await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "out_of_stock");
    let spans = spans_of(&receiver, stack, &trace_id_of(&body), 5).await;
    assert!(
        spans.iter().all(|s| s.service_name == "gateway" || s.service_name == "order-service"),
        "payment-service never appears"
    );
    assert_eq!(spans.len(), 5);
    let refs: Vec<&Span> = spans.iter().collect();
    assert!(
        the_span(&refs, "order-service", Kind::Internal, "inventory_and_pricing").has_event("Out of stock")
    );
    assert_every_span_says(&spans, "out-of-stock");
}
