//! End to end over real processes: the three service binaries export OTLP/HTTP to a receiver this
//! test runs, and the exported spans must form the trace drawn at the top of README.md.

use crate::support::*;
use serde_json::Value;
use tracectl::model::{Kind, Span, StatusCode, Value as Attr};

fn is_complete_checkout(spans: &[Span], trace_id: &str) -> bool {
    of_trace(spans, trace_id).len() >= CHECKOUT_SPANS
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_produces_one_trace_shaped_as_designed_across_all_services_and_stripe() {
    // Arrange
    let receiver = receiver().await;
    let stack = Stack::start(
        &receiver.endpoint(),
        &[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=e2e")],
    )
    .await;
    for service in [&stack.gateway, &stack.order, &stack.payment] {
        let health = http().get(format!("{}/health", service.url())).send().await.unwrap();
        assert_eq!(health.status(), 200, "{} /health", service.name);
    }

    // Act
    let response = post_checkout(&stack).await;

    // Assert: the response
    assert_eq!(response.status(), 201);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32, "{trace_id}");
    assert!(trace_id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(body["trace_url"], format!("http://localhost:16686/trace/{trace_id}"));
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["total_cents"], 2 * 3_999 + 1_250);
    assert!(body["order_id"].as_str().unwrap().starts_with("ord_"));
    assert!(body["payment_id"].as_str().unwrap().starts_with("pay_"));

    let all = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |spans| is_complete_checkout(spans, &trace_id))
        .await
        .unwrap_or_else(|got| panic!("trace incomplete: {:#?}", summary(&got.iter().collect::<Vec<_>>())));
    stack.stop().await;

    // Assert: one trace, nothing else (health checks are not traced).
    assert!(
        all.iter().all(|s| s.trace_id == trace_id),
        "spans outside the checkout trace: {:#?}",
        summary(&all.iter().collect::<Vec<_>>())
    );
    let spans = of_trace(&all, &trace_id);
    assert_eq!(spans.len(), CHECKOUT_SPANS, "{:#?}", summary(&spans));

    // Assert: the tree README.md draws, link by link.
    let gw_server = the_span(&spans, "gateway", Kind::Server, "POST /api/checkout");
    let gw_client = the_span(&spans, "gateway", Kind::Client, "POST /orders");
    let order_server = the_span(&spans, "order-service", Kind::Server, "POST /orders");
    let validate = the_span(&spans, "order-service", Kind::Internal, "validate_order");
    let inventory = the_span(&spans, "order-service", Kind::Internal, "inventory_and_pricing");
    let order_client = the_span(&spans, "order-service", Kind::Client, "POST /payments");
    let pay_server = the_span(&spans, "payment-service", Kind::Server, "POST /payments");
    let fraud = the_span(&spans, "payment-service", Kind::Internal, "fraud_check");
    let stripe = the_span(&spans, "stripe", Kind::Client, "POST /v1/charges");
    let insert = the_span(&spans, "order-service", Kind::Client, "INSERT orders");
    let update = the_span(&spans, "order-service", Kind::Client, "UPDATE orders");
    let stock: Vec<&Span> = spans.iter().copied().filter(|s| s.name == "check_stock").collect();

    assert_eq!(gw_server.parent_span_id, None, "the gateway's SERVER span is the root");
    let parent_of = |child: &Span, parent: &Span| {
        assert_eq!(
            child.parent_span_id.as_deref(),
            Some(parent.span_id.as_str()),
            "{:?} should be a child of {:?}",
            child.name,
            parent.name
        );
    };
    parent_of(gw_client, gw_server);
    parent_of(order_server, gw_client); // a SERVER span's parent is the CLIENT span that called it
    parent_of(validate, order_server);
    parent_of(inventory, order_server);
    parent_of(order_client, order_server);
    parent_of(pay_server, order_client);
    parent_of(fraud, pay_server);
    parent_of(stripe, pay_server);
    parent_of(insert, order_server);
    parent_of(update, order_server);
    assert_eq!(stock.len(), 2, "one stock check per item");
    for check in &stock {
        parent_of(check, inventory);
    }
    let skus: Vec<_> = stock.iter().filter_map(|s| s.str_attribute("product.sku")).collect();
    assert!(skus.contains(&"sku-book") && skus.contains(&"sku-mug"), "{skus:?}");
    // In order: stored before it is paid, confirmed after.
    assert!(insert.end_unix_nano <= order_client.start_unix_nano, "the order is stored before payment");
    assert!(update.start_unix_nano >= order_client.end_unix_nano, "and confirmed after");

    // Assert: database semantic conventions, with the statement but never the values.
    for (span, operation) in [(insert, "INSERT"), (update, "UPDATE")] {
        assert_eq!(span.str_attribute("db.system.name"), Some("sqlite"));
        assert_eq!(span.str_attribute("db.operation.name"), Some(operation));
        assert_eq!(span.str_attribute("db.collection.name"), Some("orders"));
        let query = span.str_attribute("db.query.text").unwrap();
        assert!(query.starts_with(operation) && query.contains("?1"), "{query}");
        assert!(!query.contains("cust-42") && !query.contains(body["order_id"].as_str().unwrap()), "{query}");
        assert_eq!(span.status, StatusCode::Unset);
    }

    // Assert: the traceresponse header names the gateway's SERVER span; flags 03: sampled, and
    // random (W3C Level 2: the gateway started the trace and drew its id at random).
    assert_eq!(traceresponse, format!("00-{trace_id}-{}-03", gw_server.span_id));

    // Assert: resources.
    for span in &spans {
        let expected_version =
            if span.service_name == "stripe" { None } else { Some(Attr::Str("0.1.0".into())) };
        assert_eq!(span.resource.get("service.version").cloned(), expected_version, "{}", span.service_name);
    }
    assert_eq!(gw_server.resource.get("deployment.environment.name"), Some(&Attr::Str("e2e".into())));
    assert_eq!(stripe.resource.get("deployment.environment.name"), None, "our deployment is not Stripe's");
    // Each of our processes has an instance id of its own (a UUID) and says it is part of the
    // checkout; Stripe is neither.
    let mut instances = std::collections::BTreeMap::new();
    for span in spans.iter().filter(|s| s.service_name != "stripe") {
        let instance = span.resource.get("service.instance.id").and_then(Attr::as_str).unwrap_or_default();
        assert!(uuid::Uuid::parse_str(instance).is_ok(), "{}: {instance:?}", span.service_name);
        assert_eq!(span.resource.get("service.namespace"), Some(&Attr::Str("checkout".into())));
        instances.insert(instance.to_owned(), span.service_name.clone());
    }
    assert_eq!(instances.len(), 3, "one instance per process: {instances:?}");
    assert_eq!(stripe.resource.get("service.namespace"), None);

    // Assert: HTTP semantic conventions on SERVER spans.
    for (span, route) in [(gw_server, "/api/checkout"), (order_server, "/orders"), (pay_server, "/payments")]
    {
        assert_eq!(span.str_attribute("http.request.method"), Some("POST"));
        assert_eq!(span.str_attribute("http.route"), Some(route));
        assert_eq!(span.str_attribute("url.path"), Some(route));
        assert_eq!(span.attribute("http.response.status_code").and_then(Attr::as_i64), Some(201));
        assert_eq!(span.str_attribute("server.address"), Some("127.0.0.1"));
        // The socket the request came in on, and the client (no proxy in between: the same).
        assert_eq!(span.str_attribute("network.peer.address"), Some("127.0.0.1"));
        assert_eq!(span.str_attribute("client.address"), Some("127.0.0.1"));
        let port = span.attribute("network.peer.port").and_then(Attr::as_i64).unwrap_or_default();
        assert!(port > 0, "{port}");
        assert_eq!(span.attribute("client.port"), None, "opt-in for HTTP servers");
        assert_eq!(span.attribute("url.query"), None, "no query string, no attribute");
        assert_eq!(span.status, StatusCode::Unset);
    }
    // … and on CLIENT spans.
    for (span, peer, url) in [
        (gw_client, "order-service", format!("{}/orders", stack_url(order_server))),
        (order_client, "payment-service", format!("{}/payments", stack_url(pay_server))),
    ] {
        assert_eq!(span.str_attribute("service.peer.name"), Some(peer));
        assert_eq!(span.str_attribute("peer.service"), Some(peer), "the deprecated name Jaeger reads");
        assert_eq!(span.str_attribute("network.protocol.version"), Some("1.1"));
        assert_eq!(span.str_attribute("http.request.method"), Some("POST"));
        assert_eq!(span.str_attribute("url.full"), Some(url.as_str()));
        assert_eq!(span.attribute("http.response.status_code").and_then(Attr::as_i64), Some(201));
        assert_eq!(span.status, StatusCode::Unset);
    }
    assert_eq!(stripe.str_attribute("peer.service"), Some("stripe"));
    assert_eq!(stripe.str_attribute("service.peer.name"), Some("stripe"));
    assert_eq!(stripe.attribute("http.response.status_code").and_then(Attr::as_i64), Some(200));

    // Assert: business attributes and events.
    assert_eq!(
        order_server.attribute("order.id"),
        Some(&Attr::Str(body["order_id"].as_str().unwrap().into()))
    );
    assert_eq!(order_server.attribute("order.items_count").and_then(Attr::as_i64), Some(2));
    assert_eq!(order_server.attribute("order.total_cents").and_then(Attr::as_i64), Some(2 * 3_999 + 1_250));
    assert_eq!(pay_server.attribute("payment.amount_cents").and_then(Attr::as_i64), Some(2 * 3_999 + 1_250));
    assert!(has_event(validate, "Validating order"), "{:?}", validate.events);
    assert!(has_event(pay_server, "Processing payment"), "{:?}", pay_server.events);
    assert!(has_event(pay_server, "Payment succeeded"), "{:?}", pay_server.events);

    // Assert: timing nests (a child starts no earlier than its parent).
    for span in &spans {
        if let Some(parent) = spans.iter().find(|p| Some(&p.span_id) == span.parent_span_id.as_ref()) {
            assert!(span.start_unix_nano >= parent.start_unix_nano, "{} starts before its parent", span.name);
        }
    }
}

/// The `http://host:port` a SERVER span was addressed at.
fn stack_url(server: &Span) -> String {
    let host = server.str_attribute("server.address").expect("SERVER spans record server.address");
    let port =
        server.attribute("server.port").and_then(Attr::as_i64).expect("SERVER spans record server.port");
    format!("http://{host}:{port}")
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_written_inside_a_request_carry_its_trace_and_span_ids() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;

    let body: Value = post_checkout(&stack).await.json().await.unwrap();
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    let spans = receiver.store.wait_for(SPANS_TIMEOUT, |s| is_complete_checkout(s, &trace_id)).await.unwrap();
    let logs = stack.payment.logs();
    stack.stop().await;

    let succeeded: Value = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "Payment succeeded")
        .expect("payment-service logged the payment");
    assert_eq!(succeeded["trace_id"], trace_id.as_str());
    let pay_server =
        spans.iter().find(|s| s.service_name == "payment-service" && s.kind == Kind::Server).unwrap();
    assert_eq!(succeeded["span_id"], pay_server.span_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_incoming_traceparent_is_continued() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;
    let (trace_id, parent_id) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");

    let response = post_checkout_with(&stack, "traceparent", &format!("00-{trace_id}-{parent_id}-01")).await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], trace_id);
    let all = receiver.store.wait_for(SPANS_TIMEOUT, |s| is_complete_checkout(s, trace_id)).await.unwrap();
    stack.stop().await;
    let spans = of_trace(&all, trace_id);
    let gw_server = the_span(&spans, "gateway", Kind::Server, "POST /api/checkout");
    assert_eq!(gw_server.parent_span_id.as_deref(), Some(parent_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsampled_incoming_traceparent_is_respected_and_nothing_is_exported() {
    // The default sampler is parentbased_always_on: a caller that decided not to sample wins.
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;

    let response =
        post_checkout_with(&stack, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
            .await;

    assert_eq!(response.status(), 201);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap().to_owned();
    assert!(traceresponse.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
    assert!(traceresponse.ends_with("-00"), "{traceresponse}");
    // After a clean shutdown everything finished has been flushed, so the store is final.
    stack.stop().await;
    assert!(
        receiver.store.spans().is_empty(),
        "{:#?}",
        summary(&receiver.store.spans().iter().collect::<Vec<_>>())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_span_of_requests_completed_before_sigterm_is_exported_at_shutdown() {
    // A schedule delay of 10 minutes: nothing is exported until shutdown flushes the queue.
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;

    let mut trace_ids = Vec::new();
    for _ in 0..5 {
        let body: Value = post_checkout(&stack).await.json().await.unwrap();
        trace_ids.push(body["trace_id"].as_str().unwrap().to_owned());
    }
    assert!(
        receiver.store.spans().is_empty(),
        "spans were exported before shutdown; the test proves nothing"
    );
    stack.stop().await;

    let spans = receiver.store.spans();
    for trace_id in &trace_ids {
        assert_eq!(
            of_trace(&spans, trace_id).len(),
            CHECKOUT_SPANS,
            "trace {trace_id} lost spans at shutdown"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_telemetry_disabled_checkouts_still_succeed_and_nothing_is_exported() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[("OTEL_SDK_DISABLED", "true")]).await;

    let response = post_checkout(&stack).await;

    assert_eq!(response.status(), 201);
    assert!(response.headers().get("traceresponse").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], Value::Null);
    assert_eq!(body["trace_url"], Value::Null);
    stack.stop().await;
    assert!(receiver.store.spans().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_otlp_grpc_the_same_trace_arrives_over_grpc_compressed_or_not() {
    // OTEL_EXPORTER_OTLP_PROTOCOL=grpc switches every service, stripe included, to the tonic
    // exporter; OTEL_EXPORTER_OTLP_COMPRESSION=gzip compresses its messages (the receiver
    // accepts gzip, as every OTLP server must).
    for compression in ["none", "gzip"] {
        let store = tracectl::receiver::SpanStore::default();
        let grpc = tracectl::grpc::spawn("127.0.0.1:0".parse().unwrap(), store.clone()).await.unwrap();
        let stack = Stack::start(
            &grpc.endpoint(),
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_COMPRESSION", compression)],
        )
        .await;

        let body: Value = post_checkout(&stack).await.json().await.unwrap();
        let trace_id = body["trace_id"].as_str().unwrap().to_owned();

        let all = store.wait_for(SPANS_TIMEOUT, |s| is_complete_checkout(s, &trace_id)).await.unwrap_or_else(
            |got| {
                panic!(
                    "trace incomplete over gRPC ({compression}): {:#?}",
                    summary(&got.iter().collect::<Vec<_>>())
                )
            },
        );
        stack.stop().await;
        let spans = of_trace(&all, &trace_id);
        assert_eq!(spans.len(), CHECKOUT_SPANS);
        let pay_server = the_span(&spans, "payment-service", Kind::Server, "POST /payments");
        assert_eq!(
            the_span(&spans, "stripe", Kind::Client, "POST /v1/charges").parent_span_id.as_deref(),
            Some(pay_server.span_id.as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_context_and_allow_listed_baggage_reach_the_next_hop_from_the_client_span() {
    // Arrange: in place of payment-service, a server that records the headers it receives.
    let (payment_url, seen) = payment_recorder().await;
    let receiver = receiver().await;
    let env = base_env(&receiver.endpoint());
    let order = start("order-service", &with_var(&env, "PAYMENT_SERVICE_URL", &payment_url)).await;
    let gateway = start("gateway", &with_var(&env, "ORDER_SERVICE_URL", &order.url())).await;

    // Act: a checkout carrying W3C baggage from the client: one allowed key, one not.
    let response = http()
        .post(format!("{}/api/checkout", gateway.url()))
        .header("baggage", "scenario=happy,tenant=acme")
        .json(&checkout_body())
        .send()
        .await
        .unwrap();

    // Assert: the checkout went through the recorder, and the headers order-service sent it
    // carry the same trace, the client's baggage, and order-service's CLIENT span as parent.
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["payment_id"], "pay_recorded");
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    let headers = seen.lock().unwrap().take().expect("order-service called the payment recorder");
    // The gateway is the trust boundary: only allow-listed baggage (`scenario`) goes further.
    let mut baggage: Vec<&str> = headers["baggage"].to_str().unwrap().split(',').map(str::trim).collect();
    baggage.sort_unstable();
    // The gateway is the edge: it drops a client-chosen `tenant`, keeps the allow-listed `scenario`,
    // and adds the customer (from the validated body) for the services behind it.
    assert_eq!(baggage, ["customer.id=cust-42", "scenario=happy"]);
    let traceparent = headers["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    // Flags 03: sampled, and the gateway's `random` flag kept by order-service (W3C Level 2).
    assert_eq!((parts[0], parts[1], parts[3]), ("00", trace_id.as_str(), "03"), "{traceparent}");

    let all = receiver.store.wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 10).await.unwrap();
    for service in [gateway, order] {
        assert!(service.stop().await.success());
    }
    let spans = of_trace(&all, &trace_id);
    let client = the_span(&spans, "order-service", Kind::Client, "POST /payments");
    assert_eq!(parts[2], client.span_id, "the next hop's parent must be the CLIENT span, not its caller");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sampler_comes_from_otel_traces_sampler() {
    let unsampled_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    // always_on ignores the caller's decision: the unsampled request is traced anyway.
    let always_on = receiver().await;
    let stack = Stack::start(&always_on.endpoint(), &[("OTEL_TRACES_SAMPLER", "always_on")]).await;
    let response = post_checkout_with(&stack, "traceparent", unsampled_parent).await;
    assert_eq!(response.status(), 201);
    let traced = always_on
        .store
        .wait_for(SPANS_TIMEOUT, |s| is_complete_checkout(s, "0af7651916cd43dd8448eb211c80319c"))
        .await;
    stack.stop().await;
    assert!(traced.is_ok(), "always_on must record a request whose parent was not sampled");

    // traceidratio with a ratio of 0 samples nothing, yet the checkout works and still has a trace id.
    let ratio_zero = receiver().await;
    let stack = Stack::start(
        &ratio_zero.endpoint(),
        &[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0")],
    )
    .await;
    let response = post_checkout(&stack).await;
    assert_eq!(response.status(), 201);
    // Not sampled, and random (W3C Level 2): the id was drawn here, whether or not it is recorded.
    assert!(response.headers()["traceresponse"].to_str().unwrap().ends_with("-02"));
    stack.stop().await;
    assert!(ratio_zero.store.spans().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_b3_propagators_a_zipkin_era_callers_trace_is_continued_and_b3_is_sent_on() {
    // Arrange: in place of payment-service, a server that records the headers it receives; the
    // gateway and order-service read and write B3 (the single `b3` header and `X-B3-*`) as well
    // as W3C.
    let (payment_url, seen) = payment_recorder().await;
    let receiver = receiver().await;
    let env =
        with_var(&base_env(&receiver.endpoint()), "OTEL_PROPAGATORS", "tracecontext,baggage,b3,b3multi");
    let order = start("order-service", &with_var(&env, "PAYMENT_SERVICE_URL", &payment_url)).await;
    let gateway = start("gateway", &with_var(&env, "ORDER_SERVICE_URL", &order.url())).await;

    // Act: a caller that speaks only B3, with the single header (trace id - span id - sampled).
    let (b3_trace, b3_span) = ("80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1");
    let response = http()
        .post(format!("{}/api/checkout", gateway.url()))
        .header("b3", format!("{b3_trace}-{b3_span}-1"))
        .json(&checkout_body())
        .send()
        .await
        .unwrap();

    // Assert: the caller's trace is continued, and the next hop is told in B3 and in W3C.
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], b3_trace, "the B3 caller's trace is continued");
    let headers = seen.lock().unwrap().take().expect("order-service called the payment recorder");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("x-b3-traceid"), b3_trace);
    assert_eq!(header("x-b3-sampled"), "1");
    assert!(header("b3").starts_with(&format!("{b3_trace}-")), "{}", header("b3"));
    assert!(header("traceparent").starts_with(&format!("00-{b3_trace}-")), "{}", header("traceparent"));

    let all = receiver.store.wait_for(SPANS_TIMEOUT, |s| of_trace(s, b3_trace).len() >= 10).await.unwrap();
    for service in [gateway, order] {
        assert!(service.stop().await.success());
    }
    let spans = of_trace(&all, b3_trace);
    let gw_server = the_span(&spans, "gateway", Kind::Server, "POST /api/checkout");
    assert_eq!(gw_server.parent_span_id.as_deref(), Some(b3_span), "the B3 caller's span is the parent");
    let client = the_span(&spans, "order-service", Kind::Client, "POST /payments");
    assert_eq!(header("x-b3-spanid"), client.span_id, "the next hop's B3 parent is the CLIENT span");
}

/// In place of payment-service: a server that answers every payment and keeps the headers of the
/// last one it got. Returns its URL and those headers.
async fn payment_recorder() -> (String, std::sync::Arc<std::sync::Mutex<Option<axum::http::HeaderMap>>>) {
    use axum::{Json, Router, http::HeaderMap, routing::post};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<HeaderMap>));
    let recorder = seen.clone();
    let app = Router::new().route(
        "/payments",
        post(move |headers: HeaderMap| async move {
            *recorder.lock().unwrap() = Some(headers);
            (axum::http::StatusCode::CREATED, Json(serde_json::json!({"payment_id": "pay_recorded"})))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}
