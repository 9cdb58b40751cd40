//! The README's scripts, run for real: `scripts/checkout.sh` against running services, and
//! `scripts/run-local.sh` (the no-Docker path) from start to stop, with its terminal waterfall.

use std::{process::Stdio, time::Duration};

use checks::repo;

use crate::support::*;
use nix::{sys::signal, unistd::Pid};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader, Lines},
    process::{ChildStdout, Command},
};

pub(crate) async fn checkout_sh(gateway_url: &str, body: Option<&str>) -> (bool, String) {
    let mut command = Command::new("bash");
    command.arg(repo().join("scripts/checkout.sh")).env("GATEWAY_URL", gateway_url);
    if let Some(body) = body {
        command.arg(body);
    }
    let output = command.output().await.unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_sh_prints_the_order_and_where_to_find_its_trace() {
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[]).await;

    let (ok, out) = checkout_sh(&stack.gateway.url(), None).await;
    let (bad_ok, bad_out) =
        checkout_sh(&stack.gateway.url(), Some(r#"{"customer_id":"c","items":[],"card_token":"t"}"#)).await;
    stack.stop().await;

    assert!(ok, "{out}");
    assert!(out.starts_with("HTTP/1.1 201 Created"), "{out}");
    let trace_line = out.lines().find(|l| l.starts_with("Trace ")).expect("a trace line");
    let trace_id = &trace_line[6..38];
    assert!(trace_id.chars().all(|c| c.is_ascii_hexdigit()), "{trace_line}");
    assert!(trace_line.ends_with(&format!("http://localhost:16686/trace/{trace_id}")), "{trace_line}");
    assert!(out.contains(&format!("traceresponse: 00-{trace_id}-")), "{out}");

    assert!(!bad_ok, "a 422 must make the script fail: {bad_out}");
    assert!(bad_out.contains("422") && bad_out.contains("items must hold"), "{bad_out}");
}

/// Stops the script (and, through its trap, everything it started) if the test fails midway.
pub(crate) struct StopOnDrop(pub(crate) u32);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = signal::kill(Pid::from_raw(self.0 as i32), signal::Signal::SIGTERM);
    }
}

/// `run-local.sh`, started by the test and read as terminal 1 is: stopped if the test fails midway.
pub(crate) struct Terminal {
    script: tokio::process::Child,
    _guard: StopOnDrop,
    lines: Lines<BufReader<ChildStdout>>,
    /// What it printed so far.
    pub(crate) seen: String,
}

impl Terminal {
    /// Starts `command` (a [`run_local`]) and waits until it says it is ready.
    pub(crate) async fn start(mut command: Command) -> Terminal {
        let mut script = command.spawn().unwrap();
        let _guard = StopOnDrop(script.id().unwrap());
        let lines = BufReader::new(script.stdout.take().unwrap()).lines();
        let mut terminal = Terminal { script, _guard, lines, seen: String::new() };
        terminal.until("Ready:").await;
        terminal
    }

    /// Reads on until a line holds `needle`.
    pub(crate) async fn until(&mut self, needle: &str) {
        read_until(&mut self.lines, &mut self.seen, needle).await;
    }

    pub(crate) fn pid(&self) -> u32 {
        self.script.id().unwrap()
    }

    /// Ctrl-C (as TERM: a process started in the background may inherit SIGINT as *ignored*, and
    /// a non-interactive bash cannot trap a signal that was ignored when it started): how it
    /// exited, and all it printed.
    pub(crate) async fn stop(mut self) -> (std::process::ExitStatus, String) {
        signal::kill(Pid::from_raw(self.pid() as i32), signal::Signal::SIGTERM).unwrap();
        self.until("Stopped.").await;
        let status = tokio::time::timeout(STOP_TIMEOUT, self.script.wait()).await.unwrap().unwrap();
        (status, self.seen)
    }
}

/// A checkout through `checkout.sh` at `gateway_port`: its `Trace …` line and the trace id.
pub(crate) async fn checkout_trace(gateway_port: u16) -> (String, String) {
    let (ok, out) = checkout_sh(&format!("http://127.0.0.1:{gateway_port}"), None).await;
    assert!(ok, "{out}");
    let trace_line = out.lines().find(|l| l.starts_with("Trace ")).unwrap().to_owned();
    let trace_id = trace_line[6..38].to_owned();
    (trace_line, trace_id)
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) async fn read_until(lines: &mut Lines<BufReader<ChildStdout>>, seen: &mut String, needle: &str) {
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "never saw {needle:?}; output so far:\n{seen}");
}

/// `scripts/run-local.sh args…` as a test runs it: the binaries this test run built, the gateway on
/// `gateway_port` and the others on free ports, its files and logs beside `db_path`, its output
/// read by the test.
pub(crate) fn run_local(args: &[&str], gateway_port: u16, db_path: &std::path::Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(repo().join("scripts/run-local.sh"))
        .args(args)
        .env("SKIP_BUILD", "1")
        .env("BIN_DIR", bin_dir())
        .env("GATEWAY_PORT", gateway_port.to_string())
        .env("ORDER_PORT", free_port().to_string())
        .env("PAYMENT_PORT", free_port().to_string())
        .env("ORDER_DB_PATH", db_path)
        .env("STRIPE_LEDGER_PATH", db_path.with_file_name("stripe-ledger.sqlite3"))
        .env("RUN_LOCAL_DIR", db_path.parent().unwrap())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn run_local_sh_starts_everything_draws_each_checkout_and_stops_cleanly_when_told_to() {
    // Arrange: the binaries this test run already built, on free ports.
    let bin_dir = bin_dir();
    assert!(bin_dir.join("tracectl").exists(), "run with `cargo test --workspace` so tracectl is built");
    let gateway_port = free_port();
    let db_path = fresh_db_path();
    let store = db_path.with_file_name("traces.jsonl");
    let mut command = run_local(&[], gateway_port, &db_path);
    command
        .env("TRACECTL_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("STRIPE_LATENCY_MS", "5")
        .env("FRAUD_CHECK_MS", "5")
        .env("TRACE_STORE", &store);
    let mut terminal = Terminal::start(command).await;

    // Act: a checkout, then stop (the script traps INT, Ctrl-C, and TERM alike).
    let (trace_line, trace_id) = checkout_trace(gateway_port).await;
    assert_eq!(trace_line, format!("Trace {trace_id}"), "no Jaeger here, so no Jaeger link");
    terminal.until(&format!("trace {trace_id} ")).await;

    // From another terminal: one service restarted (SIGTERM), one crashed (SIGKILL), each started
    // again on its port and files; the next checkout goes through both.
    for (verb, name, signal) in
        [("--restart", "payment-service", "SIGTERM"), ("--crash", "order-service", "SIGKILL")]
    {
        let (ok, said) = control(verb, name, &db_path);
        assert!(ok, "{verb} {name}: {said}");
        assert!(said.starts_with(&format!("ok: {name} restarted after {signal}")), "{said}");
        terminal.until(&format!("[{name} stopped with {signal}; starting it again")).await;
    }
    let (ok, out) = checkout_sh(&format!("http://127.0.0.1:{gateway_port}"), None).await;
    assert!(ok && out.starts_with("HTTP/1.1 201"), "{out}");
    let unknown = std::process::Command::new("bash")
        .args([repo().join("scripts/run-local.sh").to_str().unwrap(), "--crash", "stripe"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("{gateway|order-service|payment-service}"));
    let (status, seen) = terminal.stop().await;

    // Assert: the whole trace was drawn, nested, with all four services, and the script exited 0.
    assert!(status.success(), "run-local.sh exited with {status}\n{seen}");
    // It was kept, too, and the script said how to open it again.
    assert!(seen.contains(&format!("show <trace-id> --file {}", store.display())), "{seen}");
    let reopened = std::process::Command::new(bin_dir.join("tracectl"))
        .args(["show", &trace_id, "--file", store.to_str().unwrap()])
        .output()
        .unwrap();
    let reopened = String::from_utf8_lossy(&reopened.stdout).into_owned();
    assert!(reopened.starts_with(&format!("trace {trace_id} · {CHECKOUT_SPANS} spans")), "{reopened}");
    let header = format!("trace {trace_id} · {CHECKOUT_SPANS} spans · 4 services");
    assert!(seen.contains(&header), "{seen}");
    let waterfall: Vec<&str> =
        seen.lines().skip_while(|l| !l.starts_with(&header)).skip(1).take_while(|l| !l.is_empty()).collect();
    let rows: Vec<&str> = waterfall.into_iter().filter(|l| !l.trim_start().starts_with('·')).collect();
    let expected = [
        ("gateway", "POST /api/checkout"),
        ("gateway", "└─ POST /orders"),
        ("order-service", "   └─ POST /orders"),
        ("order-service", "      ├─ validate_order"),
        ("order-service", "      ├─ inventory_and_pricing"),
        ("order-service", "      │  ├─ check_stock"),
        ("order-service", "      │  └─ check_stock"),
        ("order-service", "      ├─ INSERT orders"),
        ("order-service", "      ├─ POST /payments"),
        ("payment-service", "      │  └─ POST /payments"),
        ("payment-service", "      │     ├─ fraud_check"),
        ("stripe", "      │     └─ POST /v1/charges"),
        ("order-service", "      └─ UPDATE orders"),
    ];
    assert_eq!(rows.len(), expected.len(), "{seen}");
    for (row, (service, label)) in rows.iter().zip(expected) {
        let (row_service, rest) = row.split_once(' ').unwrap();
        assert_eq!(row_service, service, "{row}");
        assert!(
            rest.trim_start_matches(' ').starts_with(label.trim_start()),
            "{row:?} should show {label:?}"
        );
        assert!(row.contains(label), "{row:?} should be indented as {label:?}");
    }
}

/// `scripts/run-local.sh --NAME SERVICE` from another terminal, with `db_path`'s folder: its answer.
fn control(verb: &str, service: &str, db_path: &std::path::Path) -> (bool, String) {
    let answer = std::process::Command::new("bash")
        .args([repo().join("scripts/run-local.sh").to_str().unwrap(), verb, service])
        .env("RUN_LOCAL_DIR", db_path.parent().unwrap())
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&answer.stdout).into_owned() + &String::from_utf8_lossy(&answer.stderr);
    (answer.status.success(), said)
}

#[tokio::test(flavor = "multi_thread")]
async fn run_local_sh_says_what_runs_stops_a_service_on_request_and_says_when_one_dies() {
    // A port another program holds is named before anything starts.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    let refused = run_local(&[], held, &fresh_db_path()).stderr(Stdio::piped()).output().await.unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("port {held} is in use by another program")), "{said}");
    drop(holder);

    let gateway_port = free_port();
    let db_path = fresh_db_path();
    let mut command = run_local(&[], gateway_port, &db_path);
    command.env("TRACECTL_ADDR", format!("127.0.0.1:{}", free_port()));
    let mut terminal = Terminal::start(command).await;

    // A second one, from the same folder: what runs, and where; nothing started.
    let second = run_local(&[], free_port(), &db_path).stderr(Stdio::piped()).output().await.unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("run-local.sh is already running (pid {})", terminal.pid())), "{said}");
    assert!(said.contains(&format!("Ready: gateway on http://localhost:{gateway_port}")), "{said}");

    // "Kill payment-service": stopped on request, and left stopped; a checkout then names it.
    let (ok, said) = control("--stop", "payment-service", &db_path);
    assert!(ok && said.starts_with("ok: payment-service stopped after SIGTERM"), "{said}");
    terminal.until("[payment-service stopped with SIGTERM, on request").await;
    let (ok, out) = checkout_sh(&format!("http://127.0.0.1:{gateway_port}"), None).await;
    assert!(!ok && out.contains("payment-service"), "{out}");

    // A service that dies unasked is said, with its last log lines and how to start it again.
    let pid_file = db_path.with_file_name("order-service.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    signal::kill(Pid::from_raw(pid), signal::Signal::SIGKILL).unwrap();
    terminal.until(&format!("[order-service (pid {pid}) has exited, unasked.")).await;
    terminal.until("[scripts/run-local.sh --restart order-service starts it again]").await;
    let seen = &terminal.seen;
    assert!(!seen.contains("[payment-service (pid"), "a service stopped on request is not a death:\n{seen}");

    for service in ["order-service", "payment-service"] {
        let (ok, said) = control("--restart", service, &db_path);
        assert!(ok, "{said}");
    }
    let (ok, out) = checkout_sh(&format!("http://127.0.0.1:{gateway_port}"), None).await;
    assert!(ok && out.starts_with("HTTP/1.1 201"), "{out}");
    let (status, seen) = terminal.stop().await;
    assert!(status.success(), "{seen}");
}
