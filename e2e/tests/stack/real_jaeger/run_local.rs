//! `scripts/run-local.sh --jaeger`: the native path with the real Jaeger. The script starts the
//! `jaeger` on PATH with `jaeger/config.yaml` on loopback, the services export to it, the
//! checkout's link points at it, and terminal 1 still draws the trace, read back from Jaeger's API.

use checks::repo;
use nix::{sys::signal, unistd::Pid};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use super::{PORT_SETTINGS, free_ports, poll_json, sampling::spans_in, tool};
use crate::{
    scripts::{StopOnDrop, checkout_sh, free_port, read_until, run_local},
    support::*,
};

#[tokio::test(flavor = "multi_thread")]
async fn run_local_sh_with_jaeger_sends_each_trace_to_jaeger_and_still_draws_it() {
    let Some(_) = tool("jaeger") else { return };
    let gateway_port = free_port();
    let db_path = fresh_db_path();
    let jaeger_ports: Vec<(&str, u16)> = PORT_SETTINGS.iter().copied().zip(free_ports()).collect();
    let port = |name: &str| jaeger_ports.iter().find(|(k, _)| *k == name).unwrap().1;
    let mut command = run_local(&["--jaeger"], gateway_port, &db_path);
    command.current_dir(repo()).envs(jaeger_ports.iter().map(|(k, p)| (*k, p.to_string())));
    let mut script = command.spawn().unwrap();
    let _guard = StopOnDrop(script.id().unwrap());
    let mut lines = BufReader::new(script.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    read_until(&mut lines, &mut seen, "Ready:").await;

    let (ok, out) = checkout_sh(&format!("http://127.0.0.1:{gateway_port}"), None).await;
    assert!(ok, "{out}");
    let trace_line = out.lines().find(|l| l.starts_with("Trace ")).unwrap();
    let trace_id = trace_line[6..38].to_owned();
    let query = port("JAEGER_QUERY_HTTP_PORT");
    assert_eq!(trace_line, format!("Trace {trace_id}: http://localhost:{query}/trace/{trace_id}"));
    // In Jaeger, whole (a bounded poll of its API), and drawn in terminal 1 from there.
    let url = format!("http://127.0.0.1:{query}/api/v3/traces/{trace_id}");
    poll_json(&url, SPANS_TIMEOUT, |answer| spans_in(answer) == CHECKOUT_SPANS).await;
    read_until(&mut lines, &mut seen, &format!("trace {trace_id} · {CHECKOUT_SPANS} spans · 4 services"))
        .await;
    assert!(seen.contains("following the traces Jaeger receives"), "{seen}");

    signal::kill(Pid::from_raw(script.id().unwrap() as i32), signal::Signal::SIGTERM).unwrap();
    read_until(&mut lines, &mut seen, "Stopped.").await;
    let status = tokio::time::timeout(STOP_TIMEOUT, script.wait()).await.unwrap().unwrap();
    assert!(status.success(), "run-local.sh --jaeger exited with {status}\n{seen}");
    assert!(!seen.contains("\njaeger "), "Jaeger's own spans are not drawn:\n{seen}");
}
