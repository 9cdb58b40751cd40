//! `scripts/run-local.sh --jaeger`: the native path with the real Jaeger. The script starts the
//! `jaeger` on PATH with `jaeger/config.yaml` on loopback, the services export to it, the
//! checkout's link points at it, and terminal 1 still draws the trace, read back from Jaeger's API.

use checks::repo;

use super::{PORT_SETTINGS, free_ports, poll_json, sampling::spans_in, tool};
use crate::{
    scripts::{Terminal, checkout_trace, free_port, run_local},
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
    let mut terminal = Terminal::start(command).await;

    let (trace_line, trace_id) = checkout_trace(gateway_port).await;
    let query = port("JAEGER_QUERY_HTTP_PORT");
    assert_eq!(trace_line, format!("Trace {trace_id}: http://localhost:{query}/trace/{trace_id}"));
    // In Jaeger, whole (a bounded poll of its API), and drawn in terminal 1 from there.
    let url = format!("http://127.0.0.1:{query}/api/v3/traces/{trace_id}");
    poll_json(&url, SPANS_TIMEOUT, |answer| spans_in(answer) == CHECKOUT_SPANS).await;
    terminal.until(&format!("trace {trace_id} · {CHECKOUT_SPANS} spans · 4 services")).await;
    assert!(terminal.seen.contains("following the traces Jaeger receives"), "{}", terminal.seen);

    let (status, seen) = terminal.stop().await;
    assert!(status.success(), "run-local.sh --jaeger exited with {status}\n{seen}");
    assert!(!seen.contains("\njaeger "), "Jaeger's own spans are not drawn:\n{seen}");
}
