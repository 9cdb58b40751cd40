//! `tracectl lint` on the traces the lessons make: every scenario, without and with its fix,
//! must give no finding (a finding there would teach a learner to distrust the tool). The
//! services run in this process ([`InProcess`]).

use checkout_domain::scenario::Scenario;
use tracectl::{
    lint::{Thresholds, lint, text},
    model::Span,
    trace::Trace,
};

use crate::{in_process::InProcess, support::*};

/// One checkout of each scenario on a stack started with `extra`, then every trace it made:
/// each checkout's, once its root has arrived, and the slow-db lesson's sales report.
async fn every_scenario(extra: &[(&str, &str)]) -> Vec<Trace> {
    let fast: [(&str, &str); 4] = [
        ("STRIPE_TIMEOUT_MS", "100"),
        ("STRIPE_SLOW_LATENCY_MS", "300"),
        ("STRIPE_RETRY_BACKOFF_MS", "10"),
        ("SLOW_DB_MS", "200"),
    ];
    let settings: Vec<(&str, &str)> = fast.into_iter().chain(extra.iter().copied()).collect();
    let stack = InProcess::start(&settings).await;
    let mut roots = Vec::new();
    for scenario in Scenario::ALL.map(Scenario::name) {
        let url = format!("{}?scenario={scenario}", stack.checkout_url());
        let answer: serde_json::Value =
            http().post(url).json(&checkout_body()).send().await.unwrap().json().await.unwrap();
        let trace_id = answer["trace_id"].as_str().or(answer["error"]["trace_id"].as_str()).unwrap();
        roots.push(trace_id.to_owned());
    }
    let done = |spans: &[Span]| {
        let ended = |id: &String| spans.iter().any(|s| &s.trace_id == id && s.parent_span_id.is_none());
        roots.iter().all(ended) && spans.iter().any(|s| s.name == "sales_report")
    };
    Trace::group(stack.spans_when(done).await)
}

#[tokio::test]
async fn lint_finds_nothing_in_the_trace_of_any_scenario_without_or_with_its_fix() {
    for fixes in [None, Some("all")] {
        let extra: Vec<(&str, &str)> = fixes.map(|f| ("FIXES", f)).into_iter().collect();
        let traces = every_scenario(&extra).await;
        assert!(traces.len() > Scenario::ALL.len(), "each checkout's trace and the sales report's");
        let findings = lint(&traces, &Thresholds::default());
        assert!(findings.is_empty(), "FIXES={fixes:?}:\n{}", text(&findings, traces.len()));
    }
}

#[tokio::test]
async fn lint_finds_nothing_in_a_request_its_caller_gave_up_on() {
    // order-service waits 100 ms for a payment-service that takes 2 s, then gives up: payment-
    // service's request is cancelled mid-way, its SERVER span ended early and marked.
    let stack = InProcess::start(&[("FRAUD_CHECK_MS", "2000"), ("PAYMENT_SERVICE_TIMEOUT_MS", "100")]).await;
    let response = post_checkout(&stack).await;
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.unwrap();
    let trace_id = body["error"]["trace_id"].as_str().unwrap().to_owned();
    let spans = stack.spans_of(&trace_id, 12).await;
    assert!(spans.iter().any(|s| s.str_attribute("error.type") == Some("cancelled")));

    let traces = vec![Trace::new(spans)];
    let findings = lint(&traces, &Thresholds::default());
    assert!(findings.is_empty(), "{}", text(&findings, 1));
}
