//! Remote sampling over real processes: the services poll a sampling endpoint for their strategy
//! (`OTEL_TRACES_SAMPLER=parentbased_jaeger_remote`) and follow it without a restart.
//!
//! The endpoint is a stand-in, for what the real Jaeger cannot be made to do on demand (answer
//! 500, count polls); `real_jaeger::sampling` runs the same loop against the real one. It is
//! written from Jaeger's own handler at v2.12.0 (jaegertracing/jaeger
//! `internal/sampling/http/handler.go`, `serveSamplingHTTP` and `serviceFromRequest`: the `service`
//! query parameter exactly once, else 400; and, because the `remote_sampling` extension registers
//! its routes with `RegisterRoutesWithHTTP` (`cmd/jaeger/internal/extension/remotesampling/
//! extension.go`), the legacy encoder `encodeThriftLegacy`: Thrift JSON with the strategy type as a
//! number, `{"strategyType":0,"probabilisticSampling":{"samplingRate":1}}`, as application/json:
//! the real 2.12.0 answers exactly that; the SDK's sampler reads the number as its enum's index).

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::Value;

use crate::support::*;

/// The stand-in's state: the rate it serves (`None`: it answers 500), and who asked.
#[derive(Clone, Default)]
struct Strategies {
    rate: Arc<Mutex<Option<f64>>>,
    asked: Arc<Mutex<Vec<String>>>,
    polled: Arc<tokio::sync::Notify>,
}

impl Strategies {
    fn serve(&self, rate: Option<f64>) {
        *self.rate.lock().unwrap() = rate;
    }

    fn polls_by(&self, service: &str) -> usize {
        self.asked.lock().unwrap().iter().filter(|s| *s == service).count()
    }

    /// Waits until `service` has polled `more` times from now: after the second, the answer to the
    /// first has been applied (the sampler polls again only after it handled the last answer).
    async fn wait_for_polls(&self, service: &str, more: usize) {
        let target = self.polls_by(service) + more;
        tokio::time::timeout(SPANS_TIMEOUT, async {
            while self.polls_by(service) < target {
                self.polled.notified().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{service} did not poll the sampling endpoint"));
    }
}

async fn sampling(
    State(strategies): State<Strategies>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let services: Vec<String> =
        query.into_iter().filter(|(key, _)| key == "service").map(|(_, value)| value).collect();
    if services.len() != 1 {
        return (StatusCode::BAD_REQUEST, "'service' parameter must be provided once").into_response();
    }
    strategies.asked.lock().unwrap().push(services[0].clone());
    strategies.polled.notify_waiters();
    let rate = *strategies.rate.lock().unwrap();
    match rate {
        Some(rate) => {
            let body =
                serde_json::json!({"strategyType": 0, "probabilisticSampling": {"samplingRate": rate}});
            ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "collector error: no strategy").into_response(),
    }
}

async fn sampling_endpoint() -> (String, Strategies) {
    let strategies = Strategies::default();
    let app = Router::new().route("/sampling", get(sampling)).with_state(strategies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sampling", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, strategies)
}

fn remote_sampler(endpoint: &str, initial_rate: &str) -> [(&'static str, String); 2] {
    [
        ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote".to_owned()),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            format!("endpoint={endpoint},pollingIntervalMs=50,initialSamplingRate={initial_rate}"),
        ),
    ]
}

/// The `sampled` flag the gateway answered with in `traceresponse`, and the trace id.
pub(crate) async fn checkout_sampled(stack: &Stack) -> (bool, String) {
    let response = post_checkout(stack).await;
    assert_eq!(response.status(), 201);
    let flags = response.headers()["traceresponse"].to_str().unwrap()[53..].to_owned();
    let body: Value = response.json().await.unwrap();
    (u8::from_str_radix(&flags, 16).unwrap() & 1 == 1, trace_id_of(&body))
}

#[tokio::test(flavor = "multi_thread")]
async fn services_follow_the_rate_the_endpoint_serves_and_a_change_without_a_restart() {
    let receiver = receiver().await;
    let (endpoint, strategies) = sampling_endpoint().await;
    // Rate 0 served, initial rate 1: any checkout sampled would be the initial rate still applying.
    strategies.serve(Some(0.0));
    let extra = remote_sampler(&endpoint, "1");
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start(&receiver.endpoint(), &extra).await;
    strategies.wait_for_polls("gateway", 2).await;

    let mut unsampled = Vec::new();
    for _ in 0..5 {
        let (sampled, trace_id) = checkout_sampled(&stack).await;
        assert!(!sampled, "rate 0: {trace_id} was sampled");
        unsampled.push(trace_id);
    }

    // A switch to 1, without a restart: within two polls every checkout is kept, whole.
    strategies.serve(Some(1.0));
    strategies.wait_for_polls("gateway", 2).await;
    let mut sampled = Vec::new();
    for _ in 0..5 {
        let (was_sampled, trace_id) = checkout_sampled(&stack).await;
        assert!(was_sampled, "rate 1: {trace_id} was not sampled");
        sampled.push(trace_id);
    }
    for trace_id in &sampled {
        receiver
            .store
            .wait_for(SPANS_TIMEOUT, |s| of_trace(s, trace_id).len() >= CHECKOUT_SPANS)
            .await
            .unwrap_or_else(|_| panic!("{trace_id} did not arrive whole"));
    }
    // Every service asked for its own strategy, by its own name.
    for service in ["order-service", "payment-service"] {
        assert!(strategies.polls_by(service) > 0, "{service} never polled");
    }
    stack.stop().await;
    let spans = receiver.store.spans();
    assert!(unsampled.iter().all(|t| of_trace(&spans, t).is_empty()), "rate 0 exported nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_endpoint_fails_the_initial_rate_holds_and_one_warning_says_so() {
    let receiver = receiver().await;
    // An endpoint that answers 500: the services keep polling it, and the initial rate (0) holds.
    let (endpoint, strategies) = sampling_endpoint().await;
    strategies.serve(None);
    let extra = remote_sampler(&endpoint, "0");
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start(&receiver.endpoint(), &extra).await;
    strategies.wait_for_polls("gateway", 4).await;
    for _ in 0..3 {
        assert!(!checkout_sampled(&stack).await.0, "the initial rate, 0, holds");
    }
    let warnings =
        |logs: &[String]| logs.iter().filter(|l| l.contains("Sampling strategies unavailable")).count();
    assert_eq!(
        warnings(&stack.gateway.logs()),
        1,
        "one warning, not one per poll: {:#?}",
        stack.gateway.logs()
    );

    // It answers again: said once, and its strategy followed.
    strategies.serve(Some(1.0));
    strategies.wait_for_polls("gateway", 2).await;
    assert!(checkout_sampled(&stack).await.0, "the served rate, 1, once the endpoint answers");
    assert!(stack.gateway.logs().iter().any(|l| l.contains("Sampling strategies answer again")));
    stack.stop().await;

    // Nothing listening at all: the initial rate (1 here) holds, and the warning names the endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let extra = remote_sampler(&format!("http://{closed}/sampling"), "1");
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start(&receiver.endpoint(), &extra).await;
    stack.gateway.wait_for_logs("the unreachable endpoint said", |lines| warnings(lines) == 1).await;
    assert!(checkout_sampled(&stack).await.0, "the initial rate, 1, holds");
    assert!(stack.gateway.logs().iter().any(|l| l.contains(&closed.to_string())));
    stack.stop().await;
}
