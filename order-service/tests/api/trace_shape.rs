//! The trace of `POST /orders`, in process: order-service's router and payment-service's behind
//! it, their spans caught in memory (`shared_tracing_testing`). Which span is whose child, of
//! which kind, with which attributes and events: the shape README.md draws, without a process.

use axum::http::StatusCode;
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;
use shared_tracing_testing::TestTelemetry;

use crate::{config, payment_service_with, post_order_with};

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
    let (status, body) = post_order_with(config(payments), telemetry.tracer(), two_items).await;

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
