//! order-service's HTTP API, in process, with the real payment-service router served on a free
//! loopback port behind it.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod trace_shape;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use checkout_domain::simulate::Latency;
use http_body_util::BodyExt as _;
use order_service::{Config, config::InventoryMode, router};
use serde_json::{Value, json};
use shared_tracing::{EdgeTracer, remote::RemoteSystem};
use tower::ServiceExt as _;

fn config(payment_service_url: String) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(30),
        payment_service_url,
        payment_service_timeout: Duration::from_secs(5),
        validation: Latency::from_millis(0, 0),
        inventory: Latency::from_millis(0, 0),
        inventory_mode: InventoryMode::Parallel,
        db_path: temp_db_path(),
        db_pool_size: 2,
        db_query: Latency::from_millis(0, 0),
        slow_db_report: Latency::from_millis(0, 0),
        receipt: Latency::from_millis(0, 0),
        crash_window_before_confirm: Duration::ZERO,
        fixes: Default::default(),
    }
}

/// A fresh database file for each router.
fn temp_db_path() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("order-service-api-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("orders.sqlite3")
}

/// Serves the real payment-service router on a free port; returns its URL.
async fn payment_service() -> String {
    payment_service_with(EdgeTracer::disabled(), RemoteSystem::disabled("stripe")).await
}

/// Like [`payment_service`], its spans made with `tracer`, Stripe's with `stripe`.
async fn payment_service_with(tracer: EdgeTracer, stripe: RemoteSystem) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let payment_config = payment_service::Config {
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
    };
    let app = payment_service::router(payment_config, tracer, stripe).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn post_order(config: Config, body: Value) -> (StatusCode, Value) {
    post_order_with(config, EdgeTracer::disabled(), body).await
}

/// `POST /orders` to order-service's router, its spans made with `tracer`.
async fn post_order_with(config: Config, tracer: EdgeTracer, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/orders")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router(config, tracer).unwrap().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn order(sku: &str, quantity: u32) -> Value {
    json!({"customer_id": "cust-42", "items": [{"sku": sku, "quantity": quantity}], "card_token": "tok_visa"})
}

#[tokio::test]
async fn an_order_is_priced_from_the_catalog_paid_and_confirmed() {
    let (status, body) = post_order(config(payment_service().await), order("sku-mug", 3)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["total_cents"], 3 * 1_250);
    assert!(body["payment_id"].as_str().unwrap().starts_with("pay_"));
}

#[tokio::test]
async fn an_unknown_sku_is_a_422_unknown_sku() {
    // No payment-service at all: an unknown sku must be refused before payment is attempted.
    let (status, body) = post_order(config("http://127.0.0.1:9".into()), order("sku-unicorn", 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "unknown_sku");
}

#[tokio::test]
async fn a_quantity_out_of_range_is_a_422() {
    let (status, body) = post_order(config("http://127.0.0.1:9".into()), order("sku-mug", 0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap().contains("items[0].quantity"));
}

#[tokio::test]
async fn payment_service_unreachable_is_a_503_naming_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (status, body) = post_order(config(format!("http://{closed}")), order("sku-mug", 1)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["error"]["dependency"], "payment-service");
}

#[test]
fn an_invalid_payment_service_url_is_refused_at_start_up() {
    assert!(router(config("not a url".into()), EdgeTracer::disabled()).is_err());
}
