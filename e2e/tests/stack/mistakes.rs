//! The instrumentation mistakes, each made on purpose by a request that asks for it
//! (`?mistake=<name>`, which the gateway turns into baggage): its broken trace has the shape the
//! lesson describes, and `tracectl lint` names its symptom. The services run in this process
//! ([`InProcess`]); without a mistake their traces are whole (see `lint.rs`).

use serde_json::Value;
use tracectl::{
    lint::{Check, Finding, Thresholds, lint},
    model::{Kind, Span},
    trace::Trace,
};

use crate::{in_process::InProcess, support::*};

/// One checkout with `query` (`mistake=…`, and a scenario if it needs one); its status and the id
/// of the trace the gateway answered with.
async fn checkout(stack: &InProcess, query: &str) -> (u16, Value) {
    let response =
        http().post(format!("{}?{query}", stack.checkout_url())).json(&checkout_body()).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn trace_id(answer: &Value) -> String {
    answer["trace_id"].as_str().or(answer["error"]["trace_id"].as_str()).unwrap().to_owned()
}

/// Every trace so far, once `done` holds for the spans.
async fn traces_when(stack: &InProcess, done: impl Fn(&[Span]) -> bool) -> Vec<Trace> {
    Trace::group(stack.spans_when(done).await)
}

fn checks(findings: &[Finding]) -> Vec<Check> {
    let mut checks: Vec<Check> = findings.iter().map(|f| f.check).collect();
    checks.dedup();
    checks
}

fn root_of<'a>(spans: &'a [Span], trace_id: &str) -> Option<&'a Span> {
    spans.iter().find(|s| s.trace_id == trace_id && s.parent_span_id.is_none())
}

#[tokio::test]
async fn an_unknown_mistake_is_refused_at_the_edge_naming_the_valid_ones() {
    let stack = InProcess::start(&[]).await;
    let (status, answer) = checkout(&stack, "mistake=typo").await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "unknown_mistake");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("no-propagation, detached-spawn"),
        "{answer}"
    );
    let listed: Value =
        http().get(format!("{}/api/mistakes", stack.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["mistakes"].as_array().unwrap().len(), 7, "{listed}");
}

#[tokio::test]
async fn no_propagation_splits_the_checkout_in_two_traces_and_the_scenario_is_lost_downstream() {
    let stack = InProcess::start(&[]).await;
    let (status, answer) = checkout(&stack, "mistake=no-propagation&scenario=card-declined").await;
    // card-declined travels in baggage; without it payment-service charges the card.
    assert_eq!(status, 201, "the scenario never reached payment-service: {answer}");
    let gateway_trace = trace_id(&answer);
    let payment_root = |s: &Span| {
        s.service_name == "payment-service" && s.kind == Kind::Server && s.parent_span_id.is_none()
    };
    let traces = traces_when(&stack, |spans| {
        root_of(spans, &gateway_trace).is_some() && spans.iter().any(payment_root)
    })
    .await;
    let spans: Vec<&Span> = traces.iter().flat_map(|t| &t.spans).collect();
    let payment = spans.iter().find(|s| payment_root(s)).unwrap();
    assert_ne!(payment.trace_id, gateway_trace, "payment-service started a trace of its own");
    assert_eq!(payment.str_attribute("demo.scenario"), None, "no baggage reached it");
    let call = the_span(
        &of_trace(&spans.iter().map(|s| (*s).clone()).collect::<Vec<_>>(), &gateway_trace),
        "order-service",
        Kind::Client,
        "POST /payments",
    )
    .clone();
    assert_eq!(call.str_attribute("demo.mistake"), Some("no-propagation"));

    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::Split], "{findings:#?}");
    assert_eq!(findings[0].trace_ids, [gateway_trace, payment.trace_id.clone()]);
}

#[tokio::test]
async fn detached_spawn_makes_each_stock_check_a_trace_of_its_own() {
    let stack = InProcess::start(&[]).await;
    let (status, answer) = checkout(&stack, "mistake=detached-spawn").await;
    assert_eq!(status, 201);
    let checkout_trace = trace_id(&answer);
    let detached = |s: &Span| s.name == "check_stock" && s.parent_span_id.is_none();
    let traces = traces_when(&stack, |spans| {
        root_of(spans, &checkout_trace).is_some() && spans.iter().filter(|s| detached(s)).count() == 2
    })
    .await;
    let checkout = traces.iter().find(|t| t.trace_id == checkout_trace).unwrap();
    assert!(!checkout.spans.iter().any(|s| s.name == "check_stock"), "a hole where the checks were");
    let roots: Vec<&Span> = traces.iter().flat_map(|t| &t.spans).filter(|s| detached(s)).collect();
    assert!(roots.iter().all(|s| s.trace_id != checkout_trace), "each check is a trace of its own");

    // In this process the three services share one `tracing` bridge, and a span is given the
    // service of the edge span it sits under: a detached one has none. In order-service's own
    // process it is order-service's (the process test below lints that).
    assert!(roots.iter().all(|s| s.service_name == "unknown_service"));
    let traces: Vec<Trace> = traces
        .into_iter()
        .map(|t| {
            let spans = t.spans.into_iter().map(|mut s| {
                if s.service_name == "unknown_service" {
                    s.service_name = "order-service".into();
                }
                s
            });
            Trace::new(spans.collect())
        })
        .collect();
    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::Detached], "{findings:#?}");
    assert_eq!(findings.len(), 2, "one per check");
}

#[tokio::test]
async fn span_per_item_buries_the_checkout_under_hundreds_of_microsecond_spans() {
    let stack = InProcess::start(&[("INVENTORY_MS", "150")]).await;
    let (status, answer) = checkout(&stack, "mistake=span-per-item").await;
    assert_eq!(status, 201);
    let id = trace_id(&answer);
    let traces = traces_when(&stack, |spans| root_of(spans, &id).is_some()).await;
    let trace = traces.iter().find(|t| t.trace_id == id).unwrap();
    let polls = trace.spans.iter().filter(|s| s.name == "poll_warehouse").count();
    assert!(polls > 100, "{polls} polls");

    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::TooManySpans], "{findings:#?}");
    assert!(findings[0].detail.contains("order-service \"poll_warehouse\""), "{}", findings[0].detail);
}

#[tokio::test]
async fn unended_span_leaves_its_children_without_a_parent() {
    let stack = InProcess::start(&[]).await;
    let (status, answer) = checkout(&stack, "mistake=unended-span").await;
    assert_eq!(status, 201);
    let id = trace_id(&answer);
    let traces = traces_when(&stack, |spans| root_of(spans, &id).is_some()).await;
    let trace = traces.iter().find(|t| t.trace_id == id).unwrap();
    assert!(!trace.spans.iter().any(|s| s.name == "payment_step"), "the kept span never ended");
    let call = trace.spans.iter().find(|s| s.kind == Kind::Client && s.name == "POST /payments").unwrap();
    let orphan = trace.roots.iter().any(|&r| trace.orphan[r] && trace.spans[r].span_id == call.span_id);
    assert!(orphan, "the payment call's parent is missing");

    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::Orphan], "{findings:#?}");
}

#[tokio::test]
async fn id_in_span_name_makes_every_checkout_a_new_operation() {
    let stack = InProcess::start(&[]).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, answer) = checkout(&stack, "mistake=id-in-span-name").await;
        assert_eq!(status, 201);
        ids.push((trace_id(&answer), answer["order_id"].as_str().unwrap().to_owned()));
    }
    let traces = traces_when(&stack, |spans| ids.iter().all(|(id, _)| root_of(spans, id).is_some())).await;
    let names: Vec<String> = traces
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| s.service_name == "order-service" && s.kind == Kind::Server)
        .map(|s| s.name.clone())
        .collect();
    for (_, order_id) in &ids {
        assert!(names.contains(&format!("POST /orders {order_id}")), "{names:?}");
    }

    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::UnboundedNames], "{findings:#?}");
    assert!(findings[0].detail.contains("\"POST /orders ord_{id}\""), "{}", findings[0].detail);
}

#[tokio::test]
async fn error_not_recorded_leaves_the_failing_stripe_calls_looking_fine() {
    let fast = [("STRIPE_TIMEOUT_MS", "100"), ("STRIPE_RETRY_BACKOFF_MS", "10")];
    let stack = InProcess::start(&fast).await;
    let (status, answer) = checkout(&stack, "mistake=error-not-recorded&scenario=stripe-outage").await;
    assert_eq!(status, 503, "the failure is still answered: {answer}");
    let id = trace_id(&answer);
    let traces = traces_when(&stack, |spans| root_of(spans, &id).is_some()).await;
    let trace = traces.iter().find(|t| t.trace_id == id).unwrap();
    let stripe: Vec<&Span> = trace.spans.iter().filter(|s| s.service_name == "stripe").collect();
    assert!(!stripe.is_empty());
    assert!(
        stripe.iter().all(|s| s.status == tracectl::model::StatusCode::Unset),
        "no Stripe span says it failed"
    );

    let findings = lint(&traces, &Thresholds::default());
    assert_eq!(checks(&findings), [Check::UnrecordedError], "{findings:#?}");
    assert_eq!(findings.len(), stripe.len(), "one per failed attempt");
}

/// `tracectl listen --lint --store FILE` on a free port, once it listens; the port; and its log,
/// read on until it exits.
async fn tracectl_listen(
    store: &std::path::Path,
) -> (tokio::process::Child, u16, tokio::task::JoinHandle<Vec<String>>) {
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut listen = tokio::process::Command::new(binary("tracectl"))
        .args(["--json", "listen", "--lint", "--quiet-ms", "300", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--store")
        .arg(store)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // With --json the banner is a log line on stderr: once it is written, the receiver listens.
    let mut log = BufReader::new(listen.stderr.take().unwrap()).lines();
    let listening = async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("receiving OTLP/HTTP traces") {
                return;
            }
        }
        panic!("tracectl listen exited before listening");
    };
    tokio::time::timeout(SPANS_TIMEOUT, listening).await.expect("tracectl listen never listened");
    let rest = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Ok(Some(line)) = log.next_line().await {
            lines.push(line);
        }
        lines
    });
    (listen, port, rest)
}

/// The checks named in `tracectl lint`'s text.
fn named_checks(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(':'))
        .map(|(c, _)| c.to_owned())
        .collect();
    names.sort();
    names.dedup();
    names.retain(|n| n != "lint");
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn lint_names_every_mistake_in_the_real_services_traces_live_and_from_the_store_and_exits_1() {
    use tokio::io::AsyncBufReadExt as _;
    let store = fresh_db_path().with_file_name("mistakes-traces.jsonl");
    let (mut listen, port, log) = tracectl_listen(&store).await;
    // Read as it is written (a pipe nobody reads fills up, and the receiver would stop drawing),
    // a trace per line.
    let mut stdout = tokio::io::BufReader::new(listen.stdout.take().unwrap()).lines();
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            let _ = line_tx.send(line);
        }
    });
    let mut live = Vec::new();
    let settings = [
        ("INVENTORY_MS", "150"),
        ("STRIPE_TIMEOUT_MS", "100"),
        ("STRIPE_RETRY_BACKOFF_MS", "10"),
        ("RECEIPT_MS", "200"),
    ];
    let stack = Stack::start(&format!("http://127.0.0.1:{port}"), &settings).await;
    let queries = [
        "mistake=no-propagation",
        "mistake=detached-spawn",
        "mistake=span-per-item",
        "mistake=unended-span",
        "mistake=id-in-span-name",
        "mistake=id-in-span-name",
        "mistake=id-in-span-name",
        "mistake=error-not-recorded&scenario=stripe-outage",
    ];
    for query in queries {
        let response = http()
            .post(format!("{}?{query}", stack.gateway.checkout_url()))
            .json(&checkout_body())
            .send()
            .await
            .unwrap();
        assert!([201, 503].contains(&response.status().as_u16()), "{query}: {}", response.status());
        if query == "mistake=unended-span" {
            // The kept span is let go when the service stops: see its trace drawn before that.
            let answer: Value = response.json().await.unwrap();
            let trace_id = answer["trace_id"].as_str().unwrap().to_owned();
            let drawn = async {
                while let Some(line) = lines.recv().await {
                    let this = line.contains(&trace_id);
                    live.push(line);
                    if this {
                        return;
                    }
                }
            };
            tokio::time::timeout(SPANS_TIMEOUT, drawn)
                .await
                .expect("the unended span's trace was never drawn");
        }
    }
    // guard-across-await shows under load: four at once on the receipt printer.
    let url = format!("{}?mistake=guard-across-await", stack.gateway.checkout_url());
    let at_once = (0..4).map(|_| http().post(&url).json(&checkout_body()).send());
    for response in futures_util::future::join_all(at_once).await {
        assert_eq!(response.unwrap().status().as_u16(), 201);
    }
    // The services flush every finished span as they stop; then the receiver draws what it holds.
    stack.stop().await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(listen.id().unwrap() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(SPANS_TIMEOUT, listen.wait()).await.unwrap().unwrap();
    let log = log.await.unwrap();
    while let Some(line) = lines.recv().await {
        live.push(line);
    }

    // Live: each trace's findings on its line, and exit 1.
    assert_eq!(status.code(), Some(1), "listen --lint found something: exit 1; its log: {log:#?}");
    let mut live_checks: Vec<String> = live
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .flat_map(|doc| doc["lint"].as_array().cloned().unwrap_or_default())
        .map(|finding| finding["check"].as_str().unwrap().to_owned())
        .collect();
    live_checks.sort();
    live_checks.dedup();
    let expected =
        ["detached", "split", "too-many-spans", "unbounded-names", "unrecorded-error", "wrong-parent"];
    for check in expected.iter().chain(&["orphan"]) {
        assert!(live_checks.iter().any(|c| c == check), "live: no {check} in {live_checks:?}");
    }

    // From the store: every trace, the same findings, and exit 1. All but the unended span's: the
    // kept span was let go at shutdown and exported then, its end stamped at its last exit
    // (tracing-opentelemetry's rule), so the trace in the store is whole; only a look while the
    // span was kept (live, or Jaeger at the time) shows the hole.
    let lint = std::process::Command::new(binary("tracectl"))
        .arg("lint")
        .arg("--file")
        .arg(&store)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&lint.stdout);
    assert_eq!(lint.status.code(), Some(1), "{text}");
    let stored = named_checks(&text);
    for check in &expected {
        assert!(stored.iter().any(|c| c == check), "store: no {check} in {stored:?}:\n{text}");
    }
    let _ = std::fs::remove_file(&store);
}

/// A span of a receipt's printing.
fn is_receipt_step(span: &Span) -> bool {
    ["print_receipt", "lay_out_receipt", "send_to_printer"].contains(&span.name.as_str())
}

/// The receipt's spans of each checkout, and lint's checks over every trace, for `n` checkouts
/// with `guard-across-await` sent at once.
async fn receipts_at_once(n: usize) -> (Vec<(String, Vec<Span>)>, Vec<Finding>) {
    let stack = InProcess::start(&[("RECEIPT_MS", "100")]).await;
    let checkouts = (0..n).map(|_| checkout(&stack, "mistake=guard-across-await"));
    let answers = futures_util::future::join_all(checkouts).await;
    let ids: Vec<(String, String)> = answers
        .iter()
        .map(|(status, answer)| {
            assert_eq!(*status, 201, "{answer}");
            (trace_id(answer), answer["order_id"].as_str().unwrap().to_owned())
        })
        .collect();
    let traces = traces_when(&stack, |spans| {
        ids.iter().all(|(id, _)| root_of(spans, id).is_some())
            // The receipt's span ends on the printer's thread, just after the checkout is told.
            && spans.iter().filter(|s| is_receipt_step(s)).count() == 3 * n
    })
    .await;
    let findings = lint(&traces, &Thresholds::default());
    let receipts = ids
        .into_iter()
        .map(|(id, order)| {
            let trace = traces.iter().find(|t| t.trace_id == id).unwrap();
            let steps = trace.spans.iter().filter(|s| is_receipt_step(s));
            (order, steps.cloned().collect())
        })
        .collect();
    (receipts, findings)
}

#[tokio::test]
async fn guard_across_await_looks_fine_for_one_checkout_alone() {
    let (receipts, findings) = receipts_at_once(1).await;
    let (order, steps) = &receipts[0];
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["print_receipt", "lay_out_receipt", "send_to_printer"], "{steps:#?}");
    assert!(steps.iter().all(|s| s.str_attribute("order.id") == Some(order.as_str())));
    assert_eq!(checks(&findings), [], "{findings:#?}");
}

#[tokio::test]
async fn guard_across_await_puts_one_checkouts_steps_under_another_when_they_run_at_once() {
    let (receipts, findings) = receipts_at_once(2).await;
    // Some step sits in a trace that is not its order's: a receipt took the other's entered span.
    let strays: Vec<(&str, &Span)> = receipts
        .iter()
        .flat_map(|(order, steps)| steps.iter().map(move |s| (order.as_str(), s)))
        .filter(|(order, s)| s.str_attribute("order.id") != Some(order))
        .collect();
    assert!(!strays.is_empty(), "{receipts:#?}");
    assert!(checks(&findings).contains(&Check::WrongParent), "{findings:#?}");
    assert!(findings.iter().all(|f| f.check == Check::WrongParent), "{findings:#?}");
}
