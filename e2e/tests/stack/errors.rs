//! How a checkout fails, across the three services run in this process ([`InProcess`]): bad
//! input answered 4xx with a JSON error that says what is wrong, a dependency that is down or
//! slow answered 5xx naming it (and the trace showing where it failed), and a `traceparent`
//! that cannot be continued starting a fresh trace.

use crate::{in_process::InProcess, support::*};
use serde_json::Value;
use tracectl::model::{Kind, Span, StatusCode, Value as Attr};

#[tokio::test]
async fn an_invalid_traceparent_starts_a_fresh_trace_and_the_request_still_succeeds() {
    let stack = InProcess::start(&[]).await;

    for bad in [
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", // all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // all-zero parent id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // forbidden version
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // uppercase
        "garbage",
    ] {
        let response = post_checkout_with(&stack, "traceparent", bad).await;
        assert_eq!(response.status(), 201, "traceparent {bad:?}");
        let body: Value = response.json().await.unwrap();
        let trace_id = body["trace_id"].as_str().unwrap().to_owned();
        assert_ne!(trace_id, "0af7651916cd43dd8448eb211c80319c", "{bad:?} must not be continued");
        assert_ne!(trace_id.to_lowercase(), "00000000000000000000000000000000");
        let all = stack.spans_of(&trace_id, CHECKOUT_SPANS).await;
        let spans: Vec<&Span> = all.iter().collect();
        assert_eq!(
            the_span(&spans, "gateway", Kind::Server, "POST /api/checkout").parent_span_id,
            None,
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn payment_service_down_gives_a_503_naming_it_and_the_trace_shows_where_it_failed() {
    // Arrange: order-service points at a port nobody listens on.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{closed_port}");
    let stack = InProcess::start(&[("PAYMENT_SERVICE_URL", &closed)]).await;

    // Act
    let response = post_checkout(&stack).await;

    // Assert: the client learns which dependency failed.
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["error"]["dependency"], "payment-service");
    assert!(body["error"]["message"].as_str().unwrap().contains("payment-service"));
    let trace_id = body["error"]["trace_id"].as_str().unwrap().to_owned();

    // Assert: the trace shows the failed CLIENT span, and the error at each level above it.
    // Gateway 2, order-service 8 (its UPDATE marks the order failed), payment-service none.
    let all = stack.spans_of(&trace_id, 10).await;
    let spans: Vec<&Span> = all.iter().collect();
    let failed = the_span(&spans, "order-service", Kind::Client, "POST /payments");
    assert_eq!(failed.status, StatusCode::Error);
    assert_eq!(failed.str_attribute("error.type"), Some("connection_error"));
    assert_eq!(failed.attribute("http.response.status_code"), None, "no HTTP answer was received");
    let order_server = the_span(&spans, "order-service", Kind::Server, "POST /orders");
    assert_eq!(
        (order_server.status, order_server.str_attribute("error.type")),
        (StatusCode::Error, Some("503"))
    );
    let gw_server = the_span(&spans, "gateway", Kind::Server, "POST /api/checkout");
    assert_eq!(gw_server.status, StatusCode::Error);
    assert_eq!(the_span(&spans, "gateway", Kind::Client, "POST /orders").status, StatusCode::Error);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_json_error_that_says_what_is_wrong_never_a_5xx() {
    let stack = InProcess::start(&[]).await;
    let json = "application/json";
    let cases: &[(&str, &str, &str, u16, &str, &str)] = &[
        // (what, content type, body, status, code, message contains)
        ("malformed JSON", json, r#"{"customer_id": "c","#, 400, "malformed_json", "not valid JSON"),
        (
            "missing items",
            json,
            r#"{"customer_id":"c","card_token":"tok_visa"}"#,
            422,
            "invalid_request",
            "items",
        ),
        (
            "missing card_token",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}]}"#,
            422,
            "invalid_request",
            "card_token",
        ),
        (
            "zero quantity",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":0}],"card_token":"t"}"#,
            422,
            "invalid_request",
            "items[0].quantity",
        ),
        (
            "negative quantity",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":-2}],"card_token":"t"}"#,
            422,
            "invalid_request",
            "got -2",
        ),
        (
            "quantity over 100",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":101}],"card_token":"t"}"#,
            422,
            "invalid_request",
            "between 1 and 100",
        ),
        (
            "empty customer",
            json,
            r#"{"customer_id":"","items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#,
            422,
            "invalid_request",
            "customer_id",
        ),
        (
            "no items",
            json,
            r#"{"customer_id":"c","items":[],"card_token":"t"}"#,
            422,
            "invalid_request",
            "items must hold",
        ),
        (
            "empty sku",
            json,
            r#"{"customer_id":"c","items":[{"sku":"","quantity":1}],"card_token":"t"}"#,
            422,
            "invalid_request",
            "items[0].sku",
        ),
        (
            "empty card token",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}],"card_token":""}"#,
            422,
            "invalid_request",
            "card_token",
        ),
        (
            "unknown sku",
            json,
            r#"{"customer_id":"c","items":[{"sku":"sku-unicorn","quantity":1}],"card_token":"t"}"#,
            422,
            "unknown_sku",
            "sku-unicorn",
        ),
        (
            "wrong content type",
            "text/plain",
            r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#,
            415,
            "unsupported_media_type",
            "application/json",
        ),
        ("array body", json, "[]", 422, "invalid_request", "expected struct"),
    ];

    for (what, content_type, body, status, code, needle) in cases {
        let response = http()
            .post(stack.checkout_url())
            .header("content-type", *content_type)
            .body(*body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), *status, "{what}");
        let error: Value = response.json().await.unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
        assert_eq!(error["error"]["code"], *code, "{what}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{what}: {message:?} should mention {needle:?}");
        assert_eq!(error["error"]["trace_id"].as_str().map(str::len), Some(32), "{what}");
    }

    // A body over the 2 MiB limit (413) is checked in hostile_input.rs over a raw socket: a client
    // still uploading a body the server has refused and closed on can see a broken pipe instead
    // of the answer (an HTTP/1.1 race), so it must not be checked by uploading the whole body.
}

#[tokio::test]
async fn a_slow_payment_service_is_a_504_and_the_client_span_records_the_timeout() {
    // payment-service takes 2 s; order-service waits 100 ms for it.
    let stack = InProcess::start(&[("FRAUD_CHECK_MS", "2000"), ("PAYMENT_SERVICE_TIMEOUT_MS", "100")]).await;

    let response = post_checkout(&stack).await;

    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "dependency_timeout");
    assert_eq!(body["error"]["dependency"], "payment-service");
    assert_eq!(body["error"]["message"], "payment-service did not answer within 100 ms");
    let trace_id = body["error"]["trace_id"].as_str().unwrap().to_owned();
    // When order-service gives up it closes the connection, and payment-service's request is
    // cancelled mid-way: its SERVER span ends early, marked, and Stripe is never called.
    // Every span of the checkout but Stripe's: 12 (the UPDATE marks the order failed).
    let all = stack.spans_of(&trace_id, 12).await;
    let spans: Vec<&Span> = all.iter().collect();
    let client = the_span(&spans, "order-service", Kind::Client, "POST /payments");
    assert_eq!((client.status, client.str_attribute("error.type")), (StatusCode::Error, Some("timeout")));
    let pay_server = the_span(&spans, "payment-service", Kind::Server, "POST /payments");
    assert_eq!(pay_server.str_attribute("error.type"), Some("cancelled"));
    assert_eq!(pay_server.attribute("http.response.status_code"), None, "no response was ever made");
    assert!(pay_server.duration_nanos() < 1_500_000_000, "the 2 s fraud check was cut short");
    assert!(spans.iter().all(|s| s.service_name != "stripe"), "Stripe was never called");
    let gw_server = the_span(&spans, "gateway", Kind::Server, "POST /api/checkout");
    assert_eq!(gw_server.attribute("http.response.status_code").and_then(Attr::as_i64), Some(504));
}
