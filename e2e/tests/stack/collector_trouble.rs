//! Telemetry never blocks requests: with a collector that never answers, or one that answers
//! slowly, checkouts answer as usual; spans that do not fit the bounded export queue are dropped,
//! counted, and reported in a rate-limited warning, never one line per span.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::Value;
use tracectl::model::Kind;

/// Every JSON log line with this message fragment (its fields are at the top level).
fn log_fields(lines: &[String], message: &str) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"].as_str().is_some_and(|m| m.contains(message)))
        .collect()
}

/// The endpoint of a "collector" that accepts connections and never answers.
async fn black_hole_collector() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    endpoint
}

const PERIODIC: &str = "spans since the last report";
const TOTAL: &str = "spans were dropped in all";

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_never_answers_costs_spans_not_requests_and_drops_are_reported_not_spammed() {
    // Arrange: a "collector" that accepts connections and never answers, a 60 s export timeout,
    // and an export queue of 20 spans in order-service. If exporting blocked requests, a checkout
    // would take a minute. The gateway keeps the default queue, which holds all its spans: were
    // its queue full, it would not sample new traces, and order-service would not record them.
    let endpoint = black_hole_collector().await;
    let env = with_extra(base_env(&endpoint), &[("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")]);
    let payment = start("payment-service", &env).await;
    let order_env =
        with_var(&with_var(&env, "OTEL_BSP_MAX_QUEUE_SIZE", "20"), "PAYMENT_SERVICE_URL", &payment.url());
    let order = start("order-service", &order_env).await;
    let gateway = start("gateway", &with_var(&env, "ORDER_SERVICE_URL", &order.url())).await;
    let stack = Stack { gateway, order, payment };

    // Act: 20 checkouts, about 180 order-service spans against room for 20 queued and one batch
    // stuck in the exporter.
    let started = Instant::now();
    for _ in 0..20 {
        let response = tokio::time::timeout(Duration::from_secs(20), post_checkout(&stack))
            .await
            .expect("a checkout blocked on telemetry export");
        assert_eq!(response.status(), 201);
    }

    // Assert: the drops are reported while the service runs...
    stack
        .order
        .wait_for_logs("a dropped-span warning", |lines| !log_fields(lines, PERIODIC).is_empty())
        .await;
    let elapsed = started.elapsed();
    // ...and shutdown is bounded, even with spans stuck in the exporter.
    let Stack { gateway, order, payment } = stack;
    // No request is in flight, so the three stop at once: each flush waits out its bounded
    // timeout against the black hole in parallel.
    let order = tokio::time::timeout(Duration::from_secs(60), async {
        let (gateway, (status, order), payment) =
            futures_util::join!(gateway.stop(), order.stop_with_logs(), payment.stop());
        assert!(gateway.success() && status.success() && payment.success());
        order
    })
    .await
    .expect("shutdown hung on the exporter");

    let periodic = log_fields(&order, PERIODIC);
    let total = log_fields(&order, TOTAL);
    assert_eq!(total.len(), 1, "one total at shutdown: {total:?}");
    let total = total[0]["dropped_spans_total"].as_u64().unwrap();
    let reported: u64 = periodic.iter().map(|f| f["dropped_spans"].as_u64().unwrap()).sum();
    assert!(total >= 100, "about 180 spans for 40 places, yet only {total} dropped");
    assert!(reported > 0 && reported <= total, "reported {reported} of {total}");
    // Rate-limited: one line per 10 s at most (plus the first), however many spans were dropped.
    let allowed = 1 + elapsed.as_secs() / 10;
    assert!(periodic.len() as u64 <= allowed, "{} warnings in {elapsed:?}: {periodic:?}", periodic.len());
    // Every drop happened (and was counted) in front of the SDK's queue, which never overflowed.
    assert!(
        order.iter().all(|line| !line.contains("SpanDroppingStarted")),
        "the SDK dropped spans the service did not count"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_whose_export_queue_is_full_drops_its_spans_but_passes_the_trace_on() {
    // Arrange: order-service exports to a collector that never answers, with room for 2 queued
    // spans, so its queue is full after its first spans; the gateway and payment-service export
    // to a healthy receiver.
    let receiver = receiver().await;
    let dead = black_hole_collector().await;
    let healthy = base_env(&receiver.endpoint());
    let payment = start("payment-service", &healthy).await;
    let order_env = with_extra(
        base_env(&dead),
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "60000"), ("OTEL_BSP_MAX_QUEUE_SIZE", "2")],
    );
    let order = start("order-service", &with_var(&order_env, "PAYMENT_SERVICE_URL", &payment.url())).await;
    let gateway = start("gateway", &with_var(&healthy, "ORDER_SERVICE_URL", &order.url())).await;
    let stack = Stack { gateway, order, payment };

    // Act: 10 checkouts; in all but the first, order-service's spans start while its queue is full.
    let mut trace_ids = Vec::new();
    for _ in 0..10 {
        let response = post_checkout(&stack).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        trace_ids.push(trace_id_of(&body));
    }

    // Assert: every trace went on through order-service to payment-service, sampled, under the
    // gateway's trace id, although order-service dropped its own spans.
    // The gateway's SERVER span ends last, after payment-service's spans: wait for both ends.
    let reached_payment = |spans: &[tracectl::model::Span], trace_id: &str| {
        let trace = of_trace(spans, trace_id);
        trace.iter().any(|s| s.service_name == "payment-service" && s.kind == Kind::Server)
            && trace.iter().any(|s| s.service_name == "gateway" && s.kind == Kind::Server)
    };
    let spans = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |spans| trace_ids.iter().all(|t| reached_payment(spans, t)))
        .await
        .unwrap_or_else(|got| {
            panic!("the trace stopped at order-service: {:#?}", summary(&got.iter().collect::<Vec<_>>()))
        });
    for trace_id in &trace_ids {
        let trace = of_trace(&spans, trace_id);
        the_span(&trace, "gateway", Kind::Server, "POST /api/checkout");
        let server = the_span(&trace, "payment-service", Kind::Server, "POST /payments");
        assert!(server.parent_span_id.is_some(), "payment's SERVER span continues the caller's trace");
    }
    let Stack { gateway, order, payment } = stack;
    assert!(gateway.stop().await.success());
    let (status, order_logs) = order.stop_with_logs().await;
    assert!(status.success() && payment.stop().await.success());
    // Every dropped span is counted: 10 checkouts make about 80 order-service spans.
    let dropped: Vec<u64> =
        log_fields(&order_logs, TOTAL).iter().map(|f| f["dropped_spans_total"].as_u64().unwrap()).collect();
    assert!(matches!(dropped[..], [n] if n >= 60), "order-service counted {dropped:?} dropped spans");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_answers_slowly_delays_exports_not_requests_and_loses_nothing() {
    // Arrange: a collector that takes 3 s to answer every export.
    const COLLECTOR_DELAY: Duration = Duration::from_secs(3);
    let store = tracectl::receiver::SpanStore::default();
    let slow = tracectl::receiver::router(store.clone()).layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            tokio::time::sleep(COLLECTOR_DELAY).await; // the collector's own slowness, simulated
            next.run(request).await
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, slow).await });
    let stack = Stack::start(&endpoint, &[]).await;

    // Act: checkouts one after another while the exporters wait on the collector.
    let mut trace_ids = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let response = post_checkout(&stack).await;
        assert_eq!(response.status(), 201);
        // Were a request to wait for an export, it would take at least the collector's delay.
        assert!(
            started.elapsed() < COLLECTOR_DELAY,
            "a checkout waited {:?} for telemetry",
            started.elapsed()
        );
        let body: Value = response.json().await.unwrap();
        trace_ids.push(trace_id_of(&body));
    }

    // Assert: every span arrives in the end, whole traces, none dropped.
    let spans = store
        .wait_for(Duration::from_secs(60), |s| {
            trace_ids.iter().all(|t| of_trace(s, t).len() >= CHECKOUT_SPANS)
        })
        .await
        .unwrap_or_else(|got| panic!("spans lost with a slow collector: {} arrived", got.len()));
    for trace_id in &trace_ids {
        assert_eq!(of_trace(&spans, trace_id).len(), CHECKOUT_SPANS, "trace {trace_id}");
    }
    let Stack { gateway, order, payment } = stack;
    assert!(gateway.stop().await.success());
    let (status, order_logs) = order.stop_with_logs().await;
    assert!(status.success() && payment.stop().await.success());
    assert!(log_fields(&order_logs, TOTAL).is_empty(), "spans were dropped");
}

/// What the collector of [`flaky_collector`] does with an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collector {
    /// Answers 503 at once (the exporter retries, then gives up: a failed export).
    Refusing,
    /// Holds the request, unanswered, until the mode changes.
    Holding,
    /// Takes the spans, as a healthy collector does.
    Up,
}

/// A collector whose behaviour the test switches, receiving into `store` while it is up.
async fn flaky_collector(
    store: tracectl::receiver::SpanStore,
) -> (String, tokio::sync::watch::Sender<Collector>) {
    use axum::response::IntoResponse as _;
    let (mode, modes) = tokio::sync::watch::channel(Collector::Refusing);
    let app = tracectl::receiver::router(store).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let mut modes = modes.clone();
            async move {
                loop {
                    let now = *modes.borrow_and_update();
                    match now {
                        Collector::Refusing => {
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                        }
                        Collector::Up => return next.run(request).await,
                        Collector::Holding if modes.changed().await.is_err() => {
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                        }
                        Collector::Holding => {}
                    }
                }
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, mode)
}

const FAILING: &str = "shedding new spans until an export succeeds";
const RESUMED: &str = "works again";

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_export_stops_export_until_a_probe_gets_through_and_export_resumes_by_itself() {
    // Arrange: order-service exports to a collector that refuses exports; the gateway and
    // payment-service to a healthy receiver (so every trace is sampled at the gateway). The
    // export queue (2048) is far larger than all the spans this test makes: nothing is dropped
    // for want of room, only by the breaker.
    let receiver = receiver().await;
    let (flaky, collector) = flaky_collector(receiver.store.clone()).await;
    let healthy = base_env(&receiver.endpoint());
    let payment = start("payment-service", &healthy).await;
    let order_env = with_extra(base_env(&flaky), &[("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")]);
    let order = start("order-service", &with_var(&order_env, "PAYMENT_SERVICE_URL", &payment.url())).await;
    let gateway = start("gateway", &with_var(&healthy, "ORDER_SERVICE_URL", &order.url())).await;
    let stack = Stack { gateway, order, payment };

    // Act 1: a checkout whose order-service spans the collector refuses: the breaker opens.
    assert_eq!(post_checkout(&stack).await.status(), 201);
    stack.order.wait_for_logs("that export failed", |lines| !log_fields(lines, FAILING).is_empty()).await;
    // From now on the collector holds exports unanswered, so no further export can fail (and
    // allow another probe) until it is up.
    collector.send_replace(Collector::Holding);

    // Act 2: checkouts while the breaker is open.
    const OUTAGE_CHECKOUTS: u64 = 30;
    for _ in 0..OUTAGE_CHECKOUTS {
        assert_eq!(post_checkout(&stack).await.status(), 201, "requests are not affected");
    }

    // Act 3: the collector is back; the probe (already sent, or sent at the next batch) gets
    // through, and export resumes without a restart.
    collector.send_replace(Collector::Up);
    stack
        .order
        .wait_for_logs("that export works again", |lines| !log_fields(lines, RESUMED).is_empty())
        .await;
    let response = post_checkout(&stack).await;
    assert_eq!(response.status(), 201);
    let trace_id = trace_id_of(&response.json().await.unwrap());
    let spans = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |spans| of_trace_without_waits(spans, &trace_id).len() >= CHECKOUT_SPANS)
        .await
        .unwrap_or_else(|got| panic!("after recovery, a trace arrived incomplete: {}", got.len()));
    let trace = of_trace_without_waits(&spans, &trace_id);
    assert_eq!(trace.len(), CHECKOUT_SPANS, "a whole trace, order-service's spans included");
    let order_spans_per_checkout = trace.iter().filter(|s| s.service_name == "order-service").count() as u64;

    // Assert: while the breaker was open, order-service queued no more than the probes allowed
    // (one probe per failed export, and at most two exports failed: the one that opened it and
    // one that may have been under way); the rest was dropped and counted. (The traces were
    // sampled at the gateway, whose collector is up, so order-service's spans were made: a
    // sampled trace stays whole where there is room, and here there was none.)
    let Stack { gateway, order, payment } = stack;
    assert!(gateway.stop().await.success());
    let (status, order_logs) = order.stop_with_logs().await;
    assert!(status.success() && payment.stop().await.success());
    let made = OUTAGE_CHECKOUTS * order_spans_per_checkout;
    let probes = 2 * shared_tracing_hardening::export_queue::PROBE_SPANS as u64;
    let dropped: Vec<u64> =
        log_fields(&order_logs, TOTAL).iter().map(|f| f["dropped_spans_total"].as_u64().unwrap()).collect();
    assert!(
        matches!(dropped[..], [n] if n >= made - probes),
        "of {made} spans made while export failed, {probes} at most may be probes; dropped: {dropped:?}"
    );
    // The breaker's changes are logged once each way, not per failed export or dropped span.
    assert_eq!(log_fields(&order_logs, FAILING).len(), 1, "one warning when the breaker opens");
    assert_eq!(log_fields(&order_logs, RESUMED).len(), 1, "one line when it closes");
    assert_eq!(log_fields(&order_logs, FAILING)[0]["service.name"], "order-service");
}
