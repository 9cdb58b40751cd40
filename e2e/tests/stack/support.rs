//! Test harness: a real OTLP receiver, and the three real service binaries started as processes
//! that export to it.
//!
//! Services start with `PORT=0`; the harness learns each one's port from its JSON "listening" log
//! line, so tests never race for ports and never sleep. Every process is killed if a test panics
//! (`kill_on_drop`), and [`Service::stop`] sends SIGTERM and waits for a clean exit.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use nix::{sys::signal, unistd::Pid};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
    sync::oneshot,
};
use tracectl::{
    model::{Kind, Span},
    receiver::{RunningReceiver, SpanStore},
};

/// Generous bounds: they only decide how long a *broken* run takes to fail.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
pub const SPANS_TIMEOUT: Duration = Duration::from_secs(30);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The spans of one checkout of [`checkout_body`] (two items): the nine README.md draws, a
/// `check_stock` span per item, and the order's INSERT and UPDATE.
pub const CHECKOUT_SPANS: usize = 13;

/// The span a request makes when it queues for a database connection: it appears only when
/// requests run concurrently, so exact span counts leave it out.
pub const POOL_WAIT: &str = "waiting for a connection";

/// The spans of `trace_id`, without pool waits.
pub fn of_trace_without_waits<'a>(spans: &'a [Span], trace_id: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.trace_id == trace_id && s.name != POOL_WAIT).collect()
}

/// The trace id of an answer: `trace_id` of a success, `error.trace_id` of a failure.
pub fn trace_id_of(body: &Value) -> String {
    body["trace_id"].as_str().or(body["error"]["trace_id"].as_str()).unwrap().to_owned()
}

/// The checkout body of README.md (its curl example).
pub fn checkout_body() -> Value {
    serde_json::json!({
        "customer_id": "cust-42",
        "items": [{"sku": "sku-book", "quantity": 2}, {"sku": "sku-mug", "quantity": 1}],
        "card_token": "tok_visa"
    })
}

/// Starts an OTLP/HTTP receiver on a free loopback port.
pub async fn receiver() -> RunningReceiver {
    tracectl::receiver::spawn("127.0.0.1:0".parse().unwrap(), SpanStore::default()).await.unwrap()
}

/// Where cargo put the workspace's binaries: `target/debug`, the parent of the `deps/` folder
/// this test binary runs from.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().to_owned()
}

/// The path of a workspace binary. `cargo test --workspace` builds all of them (every binary's
/// package has integration tests of its own, which is when cargo builds a package's binary).
///
/// Beware `cargo test -p e2e`: it builds none of them, and the services would be whatever an
/// earlier build left behind. Always run these tests with `--workspace`.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

/// A running service process.
pub struct Service {
    pub name: &'static str,
    pub addr: SocketAddr,
    env: Vec<(String, String)>,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    /// Bumped for every log line, so tests can wait for a line without sleeping.
    log_lines: tokio::sync::watch::Receiver<usize>,
}

impl Service {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment it was started with (to start it again).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Every line the service wrote to stdout so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the log lines so far (or panics after `SPANS_TIMEOUT`).
    pub async fn wait_for_logs(&self, what: &str, mut done: impl FnMut(&[String]) -> bool) {
        let mut changes = self.log_lines.clone();
        let waited = tokio::time::timeout(SPANS_TIMEOUT, async {
            loop {
                if done(&self.logs()) {
                    return;
                }
                if changes.changed().await.is_err() {
                    // The process closed its stdout: no more lines will come.
                    assert!(done(&self.logs()), "{} exited before logging {what}", self.name);
                    return;
                }
            }
        })
        .await;
        assert!(waited.is_ok(), "{} did not log {what} within {SPANS_TIMEOUT:?}", self.name);
    }

    /// Kills the process with SIGKILL (no shutdown, no flush: a crash) and waits for it to be
    /// gone; returns its environment, with `PORT` set to the port it had, to start it again where
    /// its callers look for it.
    pub async fn kill(mut self) -> Vec<(String, String)> {
        self.child.start_kill().unwrap();
        let _ = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
        with_var(&self.env, "PORT", &self.addr.port().to_string())
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let pid = Pid::from_raw(self.child.id().expect("still running") as i32);
        signal::kill(pid, signal::Signal::SIGTERM).unwrap();
    }

    /// Waits for the process to exit (after [`Service::terminate`]).
    pub async fn wait(mut self) -> ExitStatus {
        tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {STOP_TIMEOUT:?}", self.name))
            .unwrap()
    }

    /// Sends SIGTERM, waits for the process to exit, and returns every line it wrote, the last
    /// ones (written while shutting down) included.
    pub async fn stop_with_logs(self) -> (ExitStatus, Vec<String>) {
        let logs = self.logs.clone();
        let mut changes = self.log_lines.clone();
        let status = self.stop().await;
        // The reader drops its sender at the end of stdout: then every line is in.
        let _ = tokio::time::timeout(STOP_TIMEOUT, async { while changes.changed().await.is_ok() {} }).await;
        let lines = logs.lock().unwrap().clone();
        (status, lines)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn stop(mut self) -> ExitStatus {
        let pid = Pid::from_raw(self.child.id().expect("still running") as i32);
        signal::kill(pid, signal::Signal::SIGTERM).unwrap();
        tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {STOP_TIMEOUT:?} of SIGTERM", self.name))
            .unwrap()
    }
}

/// Environment shared by every service in a test: fast simulated latencies, no jitter, JSON
/// logs (so the harness can read them), and a short batch delay so spans arrive quickly.
pub fn base_env(otlp_endpoint: &str) -> Vec<(String, String)> {
    let db_path = fresh_db_path();
    let ledger_path = db_path.with_file_name("stripe-ledger.sqlite3");
    [
        ("ORDER_DB_PATH", db_path.to_str().expect("a UTF-8 temp dir")),
        ("STRIPE_LEDGER_PATH", ledger_path.to_str().expect("a UTF-8 temp dir")),
        ("DB_QUERY_MS", "1"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("SIM_JITTER_PERCENT", "0"),
        ("ORDER_VALIDATION_MS", "2"),
        ("INVENTORY_MS", "2"),
        ("FRAUD_CHECK_MS", "2"),
        ("STRIPE_LATENCY_MS", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A database file no other test uses (order-service creates it).
pub fn fresh_db_path() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("checkout-demo-tests-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("orders.sqlite3")
}

/// Starts one service binary with `env` and waits until it listens.
pub async fn start(name: &'static str, env: &[(String, String)]) -> Service {
    let mut command = Command::new(binary(name));
    // Hermetic: the developer's own OTEL_* settings must not leak into the test.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OTEL_")) {
        command.env_remove(key);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));

    let logs = Arc::new(Mutex::new(Vec::new()));
    let (lines_tx, log_lines) = tokio::sync::watch::channel(0usize);
    let (addr_tx, addr_rx) = oneshot::channel();
    let stdout = child.stdout.take().unwrap();
    let sink = logs.clone();
    tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addr) = listening_address(&line)
                && let Some(tx) = addr_tx.take()
            {
                let _ = tx.send(addr);
            }
            sink.lock().unwrap().push(line);
            lines_tx.send_modify(|n| *n += 1);
        }
    });
    let addr = tokio::time::timeout(START_TIMEOUT, addr_rx)
        .await
        .unwrap_or_else(|_| panic!("{name} did not start listening within {START_TIMEOUT:?}"))
        .unwrap_or_else(|_| panic!("{name} exited before listening; logs: {:?}", logs.lock().unwrap()));
    Service { name, addr, env: env.to_vec(), child, logs, log_lines }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let v: Value = serde_json::from_str(line).ok()?;
    (v["message"] == "listening").then(|| v["address"].as_str()?.parse().ok())?
}

/// The three services, wired to each other and exporting to `otlp_endpoint`.
pub struct Stack {
    pub gateway: Service,
    pub order: Service,
    pub payment: Service,
}

impl Stack {
    /// Starts payment-service, then order-service, then the gateway, each with `base_env` plus
    /// `extra` (which wins).
    pub async fn start(otlp_endpoint: &str, extra: &[(&str, &str)]) -> Stack {
        let env = with_extra(base_env(otlp_endpoint), extra);
        let payment = start("payment-service", &env).await;
        let order = start("order-service", &with_var(&env, "PAYMENT_SERVICE_URL", &payment.url())).await;
        let gateway = start("gateway", &with_var(&env, "ORDER_SERVICE_URL", &order.url())).await;
        Stack { gateway, order, payment }
    }

    /// Stops all three with SIGTERM (callers first) and asserts each exited 0.
    pub async fn stop(self) {
        for service in [self.gateway, self.order, self.payment] {
            let name = service.name;
            let status = service.stop().await;
            assert!(status.success(), "{name} exited with {status} after SIGTERM");
        }
    }
}

pub fn with_extra(mut env: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in extra {
        env = with_var(&env, k, v);
    }
    env
}

pub fn with_var(env: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
    env.push((key.to_owned(), value.to_owned()));
    env
}

/// An HTTP client for the tests themselves (no tracing of its own), for plain http only: with no
/// trusted roots to load, building one costs nothing (loading the system's takes tens of
/// milliseconds in a debug build, and some tests build hundreds).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).tls_certs_only([]).build().unwrap()
}

/// A gateway to send checkouts to: three processes ([`Stack`]), a gateway process alone
/// ([`Service`]) or three routers in this process
/// ([`crate::in_process::InProcess`]).
pub trait Gateway {
    /// The gateway's base URL.
    fn url(&self) -> String;

    fn checkout_url(&self) -> String {
        format!("{}/api/checkout", self.url())
    }
}

impl Gateway for Service {
    fn url(&self) -> String {
        Service::url(self)
    }
}

impl Gateway for Stack {
    fn url(&self) -> String {
        self.gateway.url()
    }
}

/// Posts the README.md checkout.
pub async fn post_checkout(stack: &impl Gateway) -> reqwest::Response {
    http().post(stack.checkout_url()).json(&checkout_body()).send().await.unwrap()
}

/// Posts the README.md checkout with one extra request header (`traceparent`, `baggage`, …).
pub async fn post_checkout_with(stack: &impl Gateway, header: &str, value: &str) -> reqwest::Response {
    http().post(stack.checkout_url()).header(header, value).json(&checkout_body()).send().await.unwrap()
}

/// Whether `span` recorded an event named `name`.
pub fn has_event(span: &Span, name: &str) -> bool {
    span.events.iter().any(|e| e.name == name)
}

/// The spans of one trace.
pub fn of_trace<'a>(spans: &'a [Span], trace_id: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.trace_id == trace_id).collect()
}

/// The one span with this service, kind and name; fails listing what there is otherwise.
pub fn the_span<'a>(spans: &[&'a Span], service: &str, kind: Kind, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| s.service_name == service && s.kind == kind && s.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {service} {kind:?} span {name:?}, found {}; trace has: {:#?}",
        found.len(),
        summary(spans)
    );
    found[0]
}

/// `service kind name` of each span, for readable failures.
pub fn summary(spans: &[&Span]) -> Vec<String> {
    spans
        .iter()
        .map(|s| {
            format!(
                "{} {:?} {:?} id={} parent={:?}",
                s.service_name, s.kind, s.name, s.span_id, s.parent_span_id
            )
        })
        .collect()
}
