//! The Monitor tab's metrics under the real Jaeger and Prometheus: `jaeger/spm.yaml`'s
//! spanmetrics connector turns the services' spans into RED metrics, Prometheus scrapes them as
//! `jaeger/prometheus.yml` says, and Jaeger's `/api/metrics/*` (what the Monitor tab draws) reads
//! them back from Prometheus, for each service.

use std::{net::TcpListener, path::Path, time::Duration};

use serde_json::Value;
use tokio::process::{Child, Command};

use super::{Jaeger, poll_json, tool};
use crate::support::*;

/// Spans become metrics every 15 s (`metrics_flush_interval`), Prometheus scrapes every 5 s, and
/// a rate needs two samples: a minute bounds how long a broken run takes to fail.
const METRICS_TIMEOUT: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Prometheus with `jaeger/prometheus.yml`, its scrape target (compose's `jaeger:8889`) moved to
/// `spanmetrics` (Prometheus expands no variables in targets, so the file is copied with it
/// replaced), listening on `port`; ready when `/-/ready` answers 200.
async fn prometheus(binary: &Path, spanmetrics: u16, port: u16) -> Child {
    let dir = fresh_db_path().with_file_name("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let config = std::fs::read_to_string(checks::repo().join("jaeger/prometheus.yml")).unwrap();
    assert!(config.contains("\"jaeger:8889\""), "{config}");
    let config = config.replace("\"jaeger:8889\"", &format!("\"127.0.0.1:{spanmetrics}\""));
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let ready = format!("http://127.0.0.1:{port}/-/ready");
    let client = http();
    let waited = tokio::time::timeout(START_TIMEOUT, async {
        while !client.get(&ready).send().await.is_ok_and(|r| r.status() == 200) {
            tokio::time::sleep(super::POLL).await;
        }
    })
    .await;
    let logs = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    assert!(waited.is_ok(), "Prometheus was not ready within {START_TIMEOUT:?}:\n{}", logs());
    child
}

/// Whether a `/api/metrics/*` answer has a point with a value above zero.
fn has_positive_point(answer: &Value) -> bool {
    let series = answer["metrics"].as_array().into_iter().flatten();
    let mut points = series.flat_map(|m| m["metricPoints"].as_array().into_iter().flatten());
    points.any(|p| p["gaugeValue"]["doubleValue"].as_f64().is_some_and(|v| v > 0.0))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_tab_reads_each_services_calls_latencies_and_errors_through_prometheus() {
    let (Some(jaeger), Some(prometheus_binary)) = (tool("jaeger"), tool("prometheus")) else { return };
    let (spanmetrics, prometheus_port) = (free_port(), free_port());
    let mut prometheus = prometheus(&prometheus_binary, spanmetrics, prometheus_port).await;
    let settings = [
        ("JAEGER_SPANMETRICS_PORT", spanmetrics.to_string()),
        ("PROMETHEUS_URL", format!("http://127.0.0.1:{prometheus_port}")),
    ];
    let spm = Jaeger::start(&jaeger, "spm.yaml", &settings).await;
    let stack = std::sync::Arc::new(Stack::start(&spm.url("JAEGER_OTLP_HTTP_PORT"), &[]).await);
    // Live traffic, as the Monitor tab expects: a rate needs a counter that grows between two
    // scrapes (a series whose first sample already holds every count has a rate of 0). Every
    // fourth checkout meets Stripe down (a 503: errors for every service on its path).
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = tokio::spawn({
        let (stack, done) = (stack.clone(), done.clone());
        async move {
            let mut pace = tokio::time::interval(Duration::from_millis(200));
            for n in 0.. {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                pace.tick().await;
                let status = match n % 4 {
                    3 => post_checkout_with(&*stack, "baggage", "scenario=stripe-outage").await.status(),
                    _ => post_checkout(&*stack).await.status(),
                };
                assert!(status == 201 || status == 503, "{status}");
            }
        }
    });

    let api = spm.url("JAEGER_QUERY_HTTP_PORT");
    for service in ["gateway", "order-service", "payment-service"] {
        for metric in ["calls", "latencies?quantile=0.95&", "errors"] {
            let (path, extra) = metric.split_once('?').unwrap_or((metric, ""));
            let url = format!(
                "{api}/api/metrics/{path}?{extra}service={service}&lookback=300000&step=5000&ratePer=60000"
            );
            let answer = poll_json(&url, METRICS_TIMEOUT, has_positive_point).await;
            assert!(answer["name"].as_str().is_some_and(|n| n.starts_with("service_")), "{answer}");
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    traffic.await.unwrap();
    std::sync::Arc::into_inner(stack).expect("the traffic is over").stop().await;
    spm.stop().await;
    let _ = prometheus.kill().await;
}
