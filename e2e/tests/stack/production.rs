//! Production behaviour, proven over real processes: sampling keeps traces whole, and SIGTERM
//! under load loses neither requests nor spans.

use std::collections::BTreeSet;

use crate::support::*;
use serde_json::Value;

/// The SDK's `TraceIdRatioBased` rule: the trace id's low 63 bits below `ratio × 2⁶³`.
fn ratio_samples(trace_id: &str, ratio: f64) -> bool {
    let low = u64::from_str_radix(&trace_id[16..], 16).unwrap();
    (low >> 1) < (ratio * (1u64 << 63) as f64) as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn ratio_sampling_keeps_sampled_traces_whole_and_unsampled_requests_silent_everywhere() {
    let receiver = receiver().await;
    let stack = Stack::start(
        &receiver.endpoint(),
        &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")],
    )
    .await;

    // Act: 200 checkouts, each a root at the gateway.
    let mut sampled = BTreeSet::new();
    let mut unsampled = BTreeSet::new();
    for _ in 0..200 {
        let response = post_checkout(&stack).await;
        assert_eq!(response.status(), 201);
        let traceresponse = response.headers()["traceresponse"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        let trace_id = body["trace_id"].as_str().unwrap().to_owned();
        // The gateway decided as the ratio rule says, and told the client in `traceresponse`.
        let expected = ratio_samples(&trace_id, 0.1);
        // Flags: sampled or not, and always random (W3C Level 2: the gateway drew the id).
        assert_eq!(&traceresponse[53..], if expected { "03" } else { "02" }, "{traceresponse}");
        if expected {
            sampled.insert(trace_id)
        } else {
            unsampled.insert(trace_id)
        };
    }
    stack.stop().await;

    // Assert: every sampled trace arrived whole, from every service (stripe included) …
    let spans = receiver.store.spans();
    for trace_id in &sampled {
        let trace = of_trace(&spans, trace_id);
        assert_eq!(
            trace.len(),
            CHECKOUT_SPANS,
            "sampled trace {trace_id} is incomplete: {:#?}",
            summary(&trace)
        );
        let services: BTreeSet<&str> = trace.iter().map(|s| s.service_name.as_str()).collect();
        assert_eq!(services.len(), 4);
    }
    // … and nothing else did: an unsampled request carried `traceparent … -00` downstream, so no
    // service made spans for it, nor started a trace of its own.
    let exported: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    let expected: BTreeSet<&str> = sampled.iter().map(String::as_str).collect();
    assert_eq!(exported, expected, "only the sampled traces were exported");
    assert!(!sampled.is_empty() && !unsampled.is_empty(), "200 draws at 10% give both kinds");
    println!("ratio 0.1: {} of 200 checkouts exported ({:.1}%)", sampled.len(), sampled.len() as f64 / 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_finishes_in_flight_requests_refuses_new_ones_and_exports_every_span() {
    // Arrange: payment takes 1 s, so 20 checkouts are still in flight when SIGTERM arrives.
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[("FRAUD_CHECK_MS", "1000")]).await;
    let client = http();
    let url = stack.checkout_url();
    let in_flight: Vec<_> = (0..20)
        .map(|_| {
            let request = client.post(url.clone()).json(&checkout_body());
            tokio::spawn(async move { request.send().await })
        })
        .collect();
    stack
        .payment
        .wait_for_logs("20 payments in progress", |lines| {
            lines.iter().filter(|l| l.contains("Processing payment")).count() >= 20
        })
        .await;

    // Act: SIGTERM the gateway while all 20 are in flight.
    stack.gateway.terminate();
    stack
        .gateway
        .wait_for_logs("that it stopped accepting", |lines| {
            lines.iter().any(|l| l.contains("stopped accepting connections"))
        })
        .await;
    // A new client (no pooled connection) arriving now is refused, cleanly and at once.
    let late = reqwest::Client::new().post(&url).json(&checkout_body()).send().await;
    assert!(
        late.as_ref().is_err_and(|e| e.is_connect()),
        "a request after SIGTERM must be refused: {late:?}"
    );

    // Assert: every in-flight request completed normally …
    let mut trace_ids = Vec::new();
    for request in in_flight {
        let response = request.await.unwrap().expect("an in-flight request was cut off");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        trace_ids.push(body["trace_id"].as_str().unwrap().to_owned());
    }
    // … the gateway exited 0 on its own …
    let Stack { gateway, order, payment } = stack;
    assert!(gateway.wait().await.success());
    for service in [order, payment] {
        assert!(service.stop().await.success());
    }
    // … and every span of every one of them was exported.
    let spans = receiver.store.spans();
    for trace_id in &trace_ids {
        // Requests queued for a database connection also have a wait span: count the rest.
        let trace = of_trace_without_waits(&spans, trace_id);
        assert_eq!(trace.len(), CHECKOUT_SPANS, "trace {trace_id} lost spans: {:#?}", summary(&trace));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_natively_without_host_each_service_listens_on_loopback_only() {
    // Past the gateway's trust boundary (baggage allow-list, validation) nothing should be
    // reachable from the network by default; the image sets HOST=0.0.0.0 for compose's network.
    let receiver = receiver().await;
    let env: Vec<(String, String)> =
        base_env(&receiver.endpoint()).into_iter().filter(|(key, _)| key != "HOST").collect();
    for name in ["payment-service", "order-service", "gateway"] {
        let service = start(name, &env).await;
        assert!(service.url().starts_with("http://127.0.0.1:"), "{name} listens on {}", service.url());
        assert!(service.stop().await.success(), "{name}");
    }
}
