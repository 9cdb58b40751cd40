//! The tail-sampling profile under the real Jaeger: a second Jaeger with `jaeger/tail-sampling.yaml`
//! in front of the one that keeps traces, as compose's `tail-sampling` profile runs them. It keeps
//! every failed and every slow checkout and drops most happy ones: counted.

use super::{Jaeger, poll_json, tool};
use crate::support::*;

/// Happy checkouts sent: the `ten-percent-of-the-rest` policy keeps about 3 of them.
const HAPPY: usize = 30;

#[tokio::test(flavor = "multi_thread")]
async fn the_tail_sampler_keeps_every_failed_and_slow_checkout_and_drops_most_happy_ones() {
    let Some(jaeger) = tool("jaeger") else { return };
    let store = Jaeger::start(&jaeger, "config.yaml", &[]).await;
    let upstream = ("JAEGER_OTLP_UPSTREAM", format!("127.0.0.1:{}", store.port("JAEGER_OTLP_GRPC_PORT")));
    let tail = Jaeger::start(&jaeger, "tail-sampling.yaml", &[upstream]).await;
    let stack = Stack::start(&tail.url("JAEGER_OTLP_HTTP_PORT"), &[]).await;

    // The happy ones first, the ones that must be kept last: once the last is in the store, the
    // sampler has decided on every trace before it (it decides `decision_wait` after each one's
    // first span, in the order they came).
    let mut happy = Vec::new();
    for _ in 0..HAPPY {
        happy.push(trace_id_of(&post_checkout(&stack).await.json().await.unwrap()));
    }
    let mut kept = Vec::new();
    // Stripe down: 503, an ERROR span. slow-db: a 201 after the report's 1.5 s lock (over 1 s).
    for scenario in ["stripe-outage", "stripe-outage", "slow-db", "stripe-outage", "slow-db"] {
        let response = post_checkout_with(&stack, "baggage", &format!("scenario={scenario}")).await;
        kept.push((scenario, trace_id_of(&response.json().await.unwrap())));
    }
    stack.stop().await;

    let query = store.url("JAEGER_QUERY_HTTP_PORT");
    for (scenario, trace_id) in &kept {
        // The sampler waits 10 s (`decision_wait`) before it decides.
        let url = format!("{query}/api/v3/traces/{trace_id}");
        poll_json(&url, 2 * SPANS_TIMEOUT, |answer| answer.get("result").is_some()).await;
        eprintln!("kept: {scenario} {trace_id}");
    }
    let client = http();
    let mut happy_kept = 0;
    for trace_id in &happy {
        let status = client.get(format!("{query}/api/v3/traces/{trace_id}")).send().await.unwrap().status();
        assert!(status == 200 || status == 404, "{trace_id}: {status}");
        happy_kept += usize::from(status == 200);
    }
    eprintln!("happy checkouts kept: {happy_kept} of {HAPPY}");
    assert!(happy_kept < HAPPY / 2, "most happy checkouts are dropped: {happy_kept} of {HAPPY} kept");
    tail.stop().await;
    store.stop().await;
}
