//! order-service's HTTP API, in process, with no payment-service behind it: what it answers on
//! its own (validation, a payment-service it cannot reach, its settings). The order that is paid,
//! and its trace, need payment-service too: they are the `e2e` crate's (`order_service.rs`).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use checkout_domain::simulate::Latency;
use http_body_util::BodyExt as _;
use order_service::{Config, config::InventoryMode, router};
use serde_json::{Value, json};
use shared_tracing::EdgeTracer;
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
