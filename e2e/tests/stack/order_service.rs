//! order-service's `POST /orders` with the real payment-service behind it, in process: the two
//! routers traced into memory (`shared_tracing_testing`), for the order that is paid and the shape
//! of its trace: which span is whose child, of which kind, with which attributes and events, as
//! README.md draws it. (order-service's tests of its own, which need no payment-service, are in
//! order-service.)

use std::collections::HashMap;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt as _;
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Value, json};
use shared_tracing::{EdgeTracer, remote::RemoteSystem};
use shared_tracing_testing::TestTelemetry;
use tower::ServiceExt as _;

use crate::{
    in_process::{config, run},
    support::base_env,
};

/// The settings the process tests give, with `payment_service_url` behind order-service.
fn settings(payment_service_url: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = base_env("unused").into_iter().collect();
    env.insert("PAYMENT_SERVICE_URL".into(), payment_service_url.to_owned());
    env
}

/// Serves the real payment-service on a free port, its spans made with `tracer`, Stripe's with
/// `stripe`; returns its URL.
async fn payment_service_with(tracer: EdgeTracer, stripe: RemoteSystem) -> String {
    let server = payment_service::build(config(&settings("unused")), tracer, stripe).await.unwrap();
    format!("http://127.0.0.1:{}", run(server))
}

/// `POST /orders` to order-service's router (payment-service at `payment_service_url`), its
/// spans made with `tracer`.
async fn post_order_with(payment_service_url: &str, tracer: EdgeTracer, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/orders")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let router = order_service::router(config(&settings(payment_service_url)), tracer).unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn an_order_is_priced_from_the_catalog_paid_and_confirmed() {
    let payments = payment_service_with(EdgeTracer::disabled(), RemoteSystem::disabled("stripe")).await;
    let order = json!({"customer_id": "cust-42", "items": [{"sku": "sku-mug", "quantity": 3}], "card_token": "tok_visa"});
    let (status, body) = post_order_with(&payments, EdgeTracer::disabled(), order).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["total_cents"], 3 * 1_250);
    assert!(body["payment_id"].as_str().unwrap().starts_with("pay_"));
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn events(span: &SpanData) -> Vec<String> {
    span.events.events.iter().map(|e| e.name.to_string()).collect()
}

#[tokio::test]
async fn an_order_is_a_server_span_over_validation_inventory_queries_and_the_payment_call() {
    // Arrange: both routers traced into one in-memory exporter, Stripe under its own name.
    let mut telemetry = TestTelemetry::start();
    let stripe = telemetry.remote_system("stripe");
    let payments = payment_service_with(telemetry.tracer(), stripe).await;
    let two_items = json!({
        "customer_id": "cust-42",
        "items": [{"sku": "sku-mug", "quantity": 1}, {"sku": "sku-book", "quantity": 2}],
        "card_token": "tok_visa"
    });

    // Act
    let (status, body) = post_order_with(&payments, telemetry.tracer(), two_items).await;

    // Assert: status, then the tree, parent by parent.
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let server = telemetry.span("POST /orders");
    let id = |span: &SpanData| span.span_context.span_id();
    let (trace, root) = (server.span_context.trace_id(), id(&server));
    assert_eq!((server.span_kind.clone(), server.parent_span_id), (SpanKind::Server, SpanId::INVALID));
    assert_eq!(attribute(&server, "order.items_count"), Some(&2_i64.into()), "a business attribute");
    assert!(telemetry.spans().iter().all(|s| s.span_context.trace_id() == trace), "one trace");

    let validate = telemetry.span("validate_order");
    assert_eq!((validate.span_kind.clone(), validate.parent_span_id), (SpanKind::Internal, root));
    assert_eq!(events(&validate), ["Validating order"], "the event inside the tracing span is its own");

    let inventory = telemetry.span("inventory_and_pricing");
    assert_eq!(inventory.parent_span_id, root);
    assert_eq!(
        attribute(&inventory, "inventory.mode"),
        Some(&"parallel".into()),
        "recorded with Span::record"
    );
    let checks = telemetry.spans_named("check_stock");
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.parent_span_id == id(&inventory)), "each stock check under inventory");

    for query in ["INSERT orders", "UPDATE orders"] {
        let span = telemetry.span(query);
        assert_eq!((span.span_kind.clone(), span.parent_span_id), (SpanKind::Client, root), "{query}");
        assert_eq!(attribute(&span, "db.system.name"), Some(&"sqlite".into()));
        assert_eq!(attribute(&span, "db.namespace"), Some(&"main".into()));
        assert_eq!(attribute(&span, "db.query.summary"), Some(&query.into()), "the span's name");
        assert_eq!(attribute(&span, "db.response.status_code"), None, "only on an error");
    }

    let calls = telemetry.spans_named("POST /payments");
    let client = calls.iter().find(|s| s.span_kind == SpanKind::Client).expect("a CLIENT span");
    let payment =
        calls.iter().find(|s| s.span_kind == SpanKind::Server).expect("payment-service's SERVER span");
    assert_eq!(client.parent_span_id, root);
    assert_eq!(payment.parent_span_id, id(client), "the callee's SERVER span is the CLIENT span's child");
    assert_eq!(telemetry.span("fraud_check").parent_span_id, id(payment));
    let charge = telemetry.span("POST /v1/charges");
    assert_eq!((charge.span_kind.clone(), charge.parent_span_id), (SpanKind::Client, id(payment)));
    assert_eq!(attribute(&charge, "peer.service"), Some(&"stripe".into()));
}
