//! payment-service's HTTP API, in process: requests go through the real router with `oneshot`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use checkout_domain::simulate::Latency;
use http_body_util::BodyExt as _;
use payment_service::{Config, router};
use serde_json::{Value, json};
use shared_tracing::{EdgeTracer, remote::RemoteSystem};
use tower::ServiceExt as _;

fn config() -> Config {
    Config {
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(30),
        fraud_check: Latency::from_millis(0, 0),
        stripe_latency: Latency::from_millis(0, 0),
        stripe_slow_latency: Latency::from_millis(0, 0),
        stripe_timeout: Duration::from_secs(1),
        stripe_max_attempts: 3,
        stripe_retry_backoff: Duration::ZERO,
        stripe_failure_percent: 0,
        stripe_decline_percent: 0,
        fixes: Default::default(),
        stripe_fixed_timeout: Duration::from_millis(300),
        stripe_breaker_cooldown: Duration::from_secs(10),
        stripe_ledger_path: ":memory:".into(),
        crash_window_after_charge: Duration::ZERO,
    }
}

async fn post(config: Config, content_type: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::post("/payments")
        .header("content-type", content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = router(config, EdgeTracer::disabled(), RemoteSystem::disabled("stripe"))
        .unwrap()
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn payment(amount_cents: u64) -> String {
    json!({"order_id": "ord_1", "amount_cents": amount_cents, "card_token": "tok_visa"}).to_string()
}

#[tokio::test]
async fn a_valid_payment_is_charged_and_answered_with_201() {
    let (status, body) = post(config(), "application/json", &payment(1_250)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["amount_cents"], 1_250);
    assert!(body["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert!(body["charge_id"].as_str().unwrap().starts_with("ch_"));
}

#[tokio::test]
async fn a_zero_amount_is_a_422() {
    let (status, body) = post(config(), "application/json", &payment(0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("amount_cents"));
}

#[tokio::test]
async fn a_missing_card_token_is_a_422_and_a_wrong_content_type_a_415() {
    let (status, body) = post(config(), "application/json", r#"{"order_id":"o","amount_cents":5}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap().contains("card_token"));
    let (status, _) = post(config(), "text/plain", &payment(5)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn stripe_slower_than_its_timeout_is_a_504_naming_stripe() {
    let config = Config {
        stripe_latency: Latency::from_millis(200, 0),
        stripe_timeout: Duration::from_millis(10),
        ..config()
    };
    let (status, body) = post(config, "application/json", &payment(100)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["error"]["code"], "dependency_timeout");
    assert_eq!(body["error"]["dependency"], "stripe");
}

#[tokio::test]
async fn health_answers_200() {
    let request = Request::get("/health").body(Body::empty()).unwrap();
    let response = router(config(), EdgeTracer::disabled(), RemoteSystem::disabled("stripe"))
        .unwrap()
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn paying_the_same_order_twice_charges_once_through_stripes_idempotency_key() {
    let app = router(config(), EdgeTracer::disabled(), RemoteSystem::disabled("stripe")).unwrap();
    let charge_of = |order_id: &str| {
        let app = app.clone();
        let body = json!({"order_id": order_id, "amount_cents": 500, "card_token": "tok_visa"}).to_string();
        async move {
            let request = Request::post("/payments")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            body["charge_id"].as_str().unwrap().to_owned()
        }
    };
    let first = charge_of("ord_same").await;
    assert_eq!(charge_of("ord_same").await, first, "the retry got the first charge back");
    assert_ne!(charge_of("ord_other").await, first, "another order is another charge");
}
