//! The real Jaeger in the loop: Jaeger 2.12.0 (and Prometheus 3.16.0, for the Monitor tab's
//! metrics), built from the Go module proxy by `scripts/real-jaeger.sh`, run natively with the
//! project's own configs from `jaeger/`. Their `${env:…}` settings (listen host, ports, the
//! strategies file, the hosts they call) keep compose's values by default; here every one is set:
//! loopback, and ports free on this machine, so two Jaegers (the tail sampler in front of the
//! store) run side by side.
//!
//! The tests look for `jaeger` and `prometheus` on PATH. Where they are missing, each test says
//! so in one line and passes; `.ci/run` builds them, puts them on PATH and sets
//! `REQUIRE_REAL_JAEGER=1`, and there a missing binary fails the test.

mod configs;
mod lessons;
mod monitor;
mod run_local;
mod sampling;
mod search;
mod tail;
mod views;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::process::{Child, Command};

use crate::support::{START_TIMEOUT, STOP_TIMEOUT, http};

/// How often a start-up or a bounded wait asks again.
const POLL: Duration = Duration::from_millis(100);

/// `name` on PATH, or `None` with one line saying why the test does not run (a panic where
/// `REQUIRE_REAL_JAEGER=1`).
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let why = format!("`{name}` is not on PATH: run `PATH=\"$(scripts/real-jaeger.sh):$PATH\"` first");
        assert!(std::env::var_os("REQUIRE_REAL_JAEGER").is_none(), "REQUIRE_REAL_JAEGER is set, but {why}");
        eprintln!("skipped: the test against the real Jaeger: {why}");
    }
    found
}

/// The ports one Jaeger listens on, each a setting of its config (`${env:NAME:-default}`).
pub(super) const PORT_SETTINGS: [&str; 9] = [
    "JAEGER_OTLP_GRPC_PORT",
    "JAEGER_OTLP_HTTP_PORT",
    "JAEGER_QUERY_HTTP_PORT",
    "JAEGER_QUERY_GRPC_PORT",
    "JAEGER_SAMPLING_HTTP_PORT",
    "JAEGER_SAMPLING_GRPC_PORT",
    "JAEGER_HEALTH_PORT",
    "JAEGER_METRICS_PORT",
    "JAEGER_SPANMETRICS_PORT",
];

/// A real Jaeger process, killed when dropped.
pub struct Jaeger {
    child: Child,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Jaeger {
    /// Starts `binary` with `jaeger/<config>` and `settings` (which win over the ports chosen
    /// here), and waits until its health check answers 200. A port taken by another program
    /// between choosing it and Jaeger binding it makes Jaeger exit: then it starts again on other
    /// ports.
    pub async fn start(binary: &Path, config: &str, settings: &[(&str, String)]) -> Jaeger {
        for _ in 0..5 {
            let strategies = checks::repo().join("jaeger/sampling-strategies.json");
            let mut env: Vec<(String, String)> = vec![
                ("JAEGER_LISTEN_HOST".into(), "127.0.0.1".into()),
                ("JAEGER_SAMPLING_STRATEGIES".into(), strategies.to_string_lossy().into_owned()),
            ];
            env.extend(PORT_SETTINGS.iter().zip(free_ports()).map(|(k, p)| (k.to_string(), p.to_string())));
            // Jaeger traces its own query API (`jaeger_query`'s `enable_tracing`, on by default in
            // v2: `cmd/jaeger/internal/extension/jaegerquery/factory.go` at v2.12.0) with the Go
            // SDK's OTLP exporter, which reads `OTEL_EXPORTER_OTLP_ENDPOINT` (`internal/jtracer`),
            // by default localhost:4317: under compose, the container's own receiver. So here
            // too, its own receiver: pointed elsewhere (no listener, or another test's process),
            // every export waits out its 10 s timeout, the backlog grows, and its shutdown takes
            // 10 s per batch left (a clean-clone run waited over 30 s). Its receiver stops before
            // the last flush, so that flush is bounded to 1 s: Jaeger's own spans are not what
            // these tests look at.
            let grpc = env.iter().find(|(k, _)| k == "JAEGER_OTLP_GRPC_PORT").map(|(_, p)| p.clone());
            env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), format!("http://127.0.0.1:{}", grpc.unwrap())));
            env.push(("OTEL_EXPORTER_OTLP_TIMEOUT".into(), "1000".into()));
            for (key, value) in settings {
                env.retain(|(k, _)| k != key);
                env.push((key.to_string(), value.clone()));
            }
            // One file per Jaeger: tests of one process start the same config at once.
            static STARTED: AtomicUsize = AtomicUsize::new(0);
            let nth = STARTED.fetch_add(1, Ordering::Relaxed);
            let log =
                std::env::temp_dir().join(format!("real-jaeger-{}-{nth}-{config}.log", std::process::id()));
            let file = std::fs::File::create(&log).unwrap();
            let child = Command::new(binary)
                .args(["--config", &checks::repo().join("jaeger").join(config).to_string_lossy()])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut jaeger = Jaeger { child, env, log };
            match jaeger.wait_healthy().await {
                Ok(()) => return jaeger,
                Err(logs) if logs.contains("address already in use") => continue,
                Err(logs) => panic!("Jaeger with jaeger/{config} did not start:\n{logs}"),
            }
        }
        panic!("Jaeger with jaeger/{config}: five sets of ports were taken before it bound them");
    }

    /// Waits until `/status` answers 200; the log, if the process exits first.
    async fn wait_healthy(&mut self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/status", self.port("JAEGER_HEALTH_PORT"));
        let client = http();
        let waited = tokio::time::timeout(START_TIMEOUT, async {
            loop {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return Err(self.logs());
                }
                if client.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
                    return Ok(());
                }
                tokio::time::sleep(POLL).await;
            }
        })
        .await;
        waited
            .unwrap_or_else(|_| panic!("{url} did not answer 200 within {START_TIMEOUT:?}:\n{}", self.logs()))
    }

    /// The port the setting `name` was given.
    pub fn port(&self, name: &str) -> u16 {
        let value = self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        value.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no port {name}"))
    }

    /// `http://127.0.0.1:<port of name>`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(name))
    }

    /// Waits until Jaeger has stored every span it accepted, by its own count (the Collector's
    /// metrics on `JAEGER_METRICS_PORT`: `otelcol_receiver_accepted_spans_total`, summed over
    /// receivers, equal to the storage exporter's `otelcol_exporter_sent_spans_total`, and not 0):
    /// after the senders have exited, nothing is left on its way to the store.
    pub async fn wait_stored(&self) {
        let url = format!("http://127.0.0.1:{}/metrics", self.port("JAEGER_METRICS_PORT"));
        let total = |text: &str, prefix: &str| -> f64 {
            let lines = text.lines().filter(|l| l.starts_with(prefix));
            lines.filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
        };
        let client = http();
        let mut last = String::new();
        let waited = tokio::time::timeout(crate::support::SPANS_TIMEOUT, async {
            loop {
                if let Ok(response) = client.get(&url).send().await
                    && let Ok(text) = response.text().await
                {
                    let accepted = total(&text, "otelcol_receiver_accepted_spans_total");
                    let sent = total(
                        &text,
                        "otelcol_exporter_sent_spans_total{exporter=\"jaeger_storage_exporter\"",
                    );
                    if accepted > 0.0 && accepted == sent {
                        return;
                    }
                    last = format!("accepted {accepted}, stored {sent}");
                }
                tokio::time::sleep(POLL).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "Jaeger did not store what it accepted: {last}");
    }

    /// What it logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it with SIGTERM and waits for it to exit.
    pub async fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id().expect("running") as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let exited = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
        if exited.is_err() {
            // A Go program prints every goroutine's stack on SIGQUIT: where it is stuck.
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT).unwrap();
            let _ = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
            panic!("Jaeger did not exit within {STOP_TIMEOUT:?} of SIGTERM; its log:\n{}", self.logs());
        }
    }
}

/// Ports free on loopback now, all different (the listeners are held until every one is chosen).
pub(super) fn free_ports() -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        PORT_SETTINGS.iter().map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Asks `url` every [`POLL`] until `done` holds for its JSON answer (or panics after `bound`).
pub async fn poll_json(
    url: &str,
    bound: Duration,
    mut done: impl FnMut(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let client = http();
    let mut last = serde_json::Value::Null;
    let waited = tokio::time::timeout(bound, async {
        loop {
            if let Ok(response) = client.get(url).send().await
                && let Ok(json) = response.json::<serde_json::Value>().await
            {
                if done(&json) {
                    return json;
                }
                last = json;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("{url} did not answer as expected within {bound:?}; last: {last}"))
}
