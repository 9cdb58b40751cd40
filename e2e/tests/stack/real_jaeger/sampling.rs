//! Remote sampling served by the real Jaeger's `remote_sampling` extension from a strategies
//! file: the services follow it, and an edit to the file, without a restart of anything.

use std::time::Duration;

use super::{Jaeger, poll_json, tool};
use crate::{remote_sampling::checkout_sampled, support::*};

/// Jaeger re-reads the file every 5 s (`reload_interval`), the services poll every 100 ms: a
/// change shows within seconds; this only bounds how long a broken run takes to fail.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(60);

fn strategies(rate: f64) -> String {
    let service = |name: &str| serde_json::json!({"service": name, "type": "probabilistic", "param": rate});
    let services = ["gateway", "order-service", "payment-service"].map(service);
    serde_json::json!({"default_strategy": {"type": "probabilistic", "param": rate}, "service_strategies": services})
        .to_string()
}

/// Checks out until one checkout's sampling decision is `sampled` (bounded by [`FOLLOW_TIMEOUT`]);
/// its trace id.
async fn until_sampled_is(stack: &Stack, sampled: bool) -> String {
    let waited = tokio::time::timeout(FOLLOW_TIMEOUT, async {
        loop {
            let (was, trace_id) = checkout_sampled(stack).await;
            if was == sampled {
                return trace_id;
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("no checkout with sampled={sampled} within {FOLLOW_TIMEOUT:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_services_follow_the_strategies_file_the_real_jaeger_serves_and_an_edit_to_it() {
    let Some(jaeger) = tool("jaeger") else { return };
    let file = fresh_db_path().with_file_name("sampling-strategies.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, strategies(0.0)).unwrap();
    let store = Jaeger::start(
        &jaeger,
        "config.yaml",
        &[("JAEGER_SAMPLING_STRATEGIES", file.to_string_lossy().into())],
    )
    .await;
    let endpoint = format!("endpoint={}/sampling", store.url("JAEGER_SAMPLING_HTTP_PORT"));
    let arg = format!("{endpoint},pollingIntervalMs=100,initialSamplingRate=1");
    let sampler = [("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"), ("OTEL_TRACES_SAMPLER_ARG", &arg)];
    let stack = Stack::start(&store.url("JAEGER_OTLP_HTTP_PORT"), &sampler).await;

    // The initial rate (1) holds until Jaeger's answer (rate 0) is followed.
    until_sampled_is(&stack, false).await;
    // The file edited: Jaeger re-reads it, the services follow, and the trace reaches Jaeger whole.
    std::fs::write(&file, strategies(1.0)).unwrap();
    let trace_id = until_sampled_is(&stack, true).await;
    let trace = format!("{}/api/v3/traces/{trace_id}", store.url("JAEGER_QUERY_HTTP_PORT"));
    poll_json(&trace, SPANS_TIMEOUT, |json| spans_in(json) >= CHECKOUT_SPANS).await;
    stack.stop().await;
    store.stop().await;
}

/// The spans of an api_v3 answer (OTLP JSON under `result`).
pub fn spans_in(answer: &serde_json::Value) -> usize {
    let resource_spans = answer["result"]["resourceSpans"].as_array().into_iter().flatten();
    let scope_spans = resource_spans.flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten());
    scope_spans.map(|s| s["spans"].as_array().map_or(0, Vec::len)).sum()
}
