//! Every command the README, the lessons and the reference show, run for real, in order, as a
//! reader would run them in two terminals: `scripts/run-local.sh` in the first (started here on
//! free ports, stopped before the next one starts, as Ctrl-C would), everything else in the
//! second, from the repository's root.
//!
//! What a page may show, and how it is run:
//! - a ` ```sh ` block holds commands, one per line (`\` continues one, `# ` after two spaces is a
//!   comment). `<A>` and `<B>` stand for the traces commands commented `trace A` and `trace B`
//!   printed, in any block before (`# terminal 2: trace A`), else for the first and second trace
//!   ids the block's commands printed (a checkout's `Trace …` line, loadgen's `slowest …, trace
//!   …`); `<trace-id>` for the last one the page printed. A line `VAR=$(command)` runs the command
//!   and sets `VAR` to what it printed for the page's later commands (`VAR=value` sets it);
//! - `target/run-local/` is run-local.sh's directory (`RUN_LOCAL_DIR`), its logs and its store;
//! - each command must exit 0, except a checkout the gateway refused (`checkout.sh` exits 1 for a
//!   non-2xx answer, which it prints: the failure scenarios are the lessons) and a `tracectl lint`
//!   that found something (it exits 1 and says so: the mistakes are the lessons);
//! - a ` ```rust ` block whose first line is `// <path>` quotes that file of the repository: the
//!   rest of the block must be in it, line for line;
//! - after each command that printed a trace id, the test waits until run-local's `tracectl` has
//!   drawn that trace (so it is in the store), as a reader sees it drawn before going on;
//! - `docker compose …` cannot run here: its profiles, services and variables are checked against
//!   `docker-compose.yml` (parsed as Compose would, [`checks::compose`]) and `jaeger/`, and a
//!   `docker compose … up` starts `run-local.sh` in its place, for the commands after it (the same
//!   services, with `tracectl` where Jaeger would be); `cargo …` is what runs this test, and
//!   `git clone` and `cd` how the reader got here: they are left alone;
//! - a command sent before anything was started (the README's, whose set-up table starts the
//!   services) gets `run-local.sh` started first, as that table says;
//! - the outputs shown after a block (` ``` ` blocks before the next ` ```sh `) are checked by
//!   their kind: a waterfall's rows (service and tree, in order; `…` elides) are those `tracectl`
//!   drew for one of the block's traces, a `tracectl compare`'s rows and what only one side has are
//!   those of the real compare, a checkout's status line is one a checkout of the block answered,
//!   a `tracectl lint`'s summary line (`lint: 1 finding in 1 trace: 1 split`) is the real one's,
//!   and each attribute shown (`key = value`, under a span or in a `--span` print) is one the
//!   block's commands printed. Durations, ids and values differ from run to run, so they are not
//!   compared;
//! - no output shows what no reader could see: a temporary directory, a port other than the
//!   documented ones, a test harness's markers ([`no_page_shows_output_a_reader_could_not_have_seen`]).
//!
//! Set `DOCS_TRANSCRIPT=DIR` to keep each page's commands and what they printed in `DIR`.

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use nix::{sys::signal, unistd::Pid};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
    sync::Notify,
};

use checks::{
    compose::{active_services, compose_with},
    repo,
};

use crate::support::{POOL_WAIT, bin_dir, fresh_db_path};

/// The pages, all run by the test at the end.
const PAGES: [&str; 25] = [
    "README.md",
    "REFERENCE.md",
    "lessons/concepts.md",
    "lessons/happy.md",
    "lessons/slow-stripe.md",
    "lessons/stripe-outage.md",
    "lessons/card-declined.md",
    "lessons/out-of-stock.md",
    "lessons/slow-db.md",
    "lessons/sequential-inventory.md",
    "lessons/pool-contention.md",
    "lessons/crash-safe-checkout.md",
    "lessons/head-sampling.md",
    "lessons/sampling-and-metrics.md",
    "lessons/past-one-machine.md",
    "lessons/w3c-trace-context.md",
    "lessons/instrumentation-mistakes.md",
    "lessons/no-propagation.md",
    "lessons/detached-spawn.md",
    "lessons/guard-across-await.md",
    "lessons/span-per-item.md",
    "lessons/unended-span.md",
    "lessons/id-in-span-name.md",
    "lessons/error-not-recorded.md",
    "lessons/your-turn.md",
];

/// How long one command may run: the slowest documented one is a load of a few seconds.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a trace may take to be drawn after its checkout answered (it takes about 2 s).
const DRAWN_TIMEOUT: Duration = Duration::from_secs(60);

/// A ` ```sh ` block: its first line in the page, its commands, and the outputs shown after it.
#[derive(Debug, Default)]
struct Block {
    line: usize,
    commands: Vec<String>,
    /// Each command's comment (after `  # `), which may name the trace it prints: `trace A`.
    comments: Vec<String>,
    outputs: Vec<String>,
}

fn blocks(page: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut lines = page.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else { continue };
        let body: Vec<&str> =
            lines.by_ref().map(|(_, l)| l).take_while(|l| l.trim_start() != "```").collect();
        match info.trim() {
            "sh" => {
                let (commands, comments) = commands(&body).into_iter().unzip();
                blocks.push(Block { line: n + 1, commands, comments, outputs: Vec::new() })
            }
            "" | "text" => {
                if let Some(block) = blocks.last_mut() {
                    block.outputs.push(body.join("\n"));
                }
            }
            _ => {} // rust, toml, json: code to read, not to run
        }
    }
    blocks
}

/// The commands of a block, each with its comment: continuations joined, comment lines and blank
/// lines dropped.
fn commands(body: &[&str]) -> Vec<(String, String)> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let mut comment = String::new();
    for line in body {
        let (line, said) = line.split_once("  # ").unwrap_or((line, ""));
        let line = line.trim_end();
        if line.trim_start().starts_with('#') || (line.trim().is_empty() && current.is_empty()) {
            continue;
        }
        if !said.is_empty() {
            comment = said.trim().to_owned();
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part.trim_start());
            }
            None => {
                current.push_str(line.trim_start());
                commands.push((std::mem::take(&mut current), std::mem::take(&mut comment)));
            }
        }
    }
    commands
}

/// A command's leading `VAR=value` words, and the rest.
fn split_env(command: &str) -> (Vec<(String, String)>, String) {
    let mut env = Vec::new();
    let mut rest = command.trim();
    while let Some((word, after)) = rest.split_once(' ') {
        match word.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                env.push((k.to_owned(), v.to_owned()));
                rest = after.trim_start();
            }
            _ => break,
        }
    }
    (env, rest.to_owned())
}

/// The attribute keys an output shows: `key = value` lines, under a span (`·  key = value`) or in
/// a `--span` print.
fn attribute_keys(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let (key, _) = line.trim_start().trim_start_matches('·').trim_start().split_once(" = ")?;
            let key = key.trim_end();
            let plain = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            plain.then(|| key.to_owned())
        })
        .collect()
}

/// A line that only sets a variable: `VAR=$(command)` (the name and the command), or
/// `VAR=value` (the name and `printf %s value`, so that it is set the same way).
fn assignment(line: &str) -> Option<(String, String)> {
    let (name, value) = line.trim().split_once('=')?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
        return None;
    }
    match value.strip_prefix("$(").and_then(|v| v.strip_suffix(')')) {
        Some(command) => Some((name.to_owned(), command.to_owned())),
        None if !value.contains(' ') || (value.starts_with('\'') && value.ends_with('\'')) => {
            Some((name.to_owned(), format!("printf %s {value}")))
        }
        None => None,
    }
}

/// The first 32-hex-digit id after `Trace `, `trace ` or `"trace_id":"` (an answer's body) in
/// `output`.
fn trace_id_in(output: &str) -> Option<String> {
    let marks = ["race ", "\"trace_id\":\""];
    let mut found: Vec<usize> =
        marks.iter().flat_map(|m| output.match_indices(m).map(move |(at, _)| at + m.len())).collect();
    found.sort_unstable();
    found.into_iter().find_map(|at| {
        let id = output.get(at..at + 32)?;
        let after = output[at + 32..].chars().next();
        (id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && !after.is_some_and(|c| c.is_ascii_hexdigit()))
        .then(|| id.to_owned())
    })
}

/// `scripts/run-local.sh` in the first terminal, on free ports.
struct LocalStack {
    script: Child,
    gateway_url: String,
    /// What it printed so far, and a wake-up for each line.
    drawn: Arc<(Mutex<String>, Notify)>,
    stopped: bool,
}

impl Drop for LocalStack {
    /// A test that fails midway stops the script, and through its trap everything it started.
    fn drop(&mut self) {
        if let (false, Some(pid)) = (self.stopped, self.script.id()) {
            let _ = signal::kill(Pid::from_raw(pid as i32), signal::Signal::SIGTERM);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a stack's output says once `run-local.sh` has closed it: it exited.
const EXITED: &str = "[run-local.sh exited]";

impl LocalStack {
    /// Starts `run-local.sh` on free ports. A port picked free can be taken by another test before
    /// a service binds it; a start that fails is tried again on other ports, twice at most.
    async fn start(env: &[(String, String)], args: &[&str], files: &Path) -> Self {
        for attempt in 1..=3 {
            let stack = Self::spawn(env, args, files);
            match stack.wait_until("Ready:", |drawn| drawn.contains("Ready:")).await {
                Ok(()) => return stack,
                Err(output) if attempt < 3 => eprintln!("run-local.sh did not start, again:\n{output}"),
                Err(output) => panic!("run-local.sh did not start, three times:\n{output}"),
            }
        }
        unreachable!()
    }

    fn spawn(env: &[(String, String)], args: &[&str], files: &Path) -> Self {
        let gateway_port = free_port();
        let mut command = Command::new("bash");
        command
            .arg(repo().join("scripts/run-local.sh"))
            .args(args)
            .current_dir(repo())
            .env("SKIP_BUILD", "1")
            .env("BIN_DIR", bin_dir())
            .env("GATEWAY_PORT", gateway_port.to_string())
            .env("ORDER_PORT", free_port().to_string())
            .env("PAYMENT_PORT", free_port().to_string())
            .env("TRACECTL_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("ORDER_DB_PATH", files.join("orders.sqlite3"))
            .env("STRIPE_LEDGER_PATH", files.join("stripe-ledger.sqlite3"))
            .env("TRACE_STORE", files.join("traces.jsonl"))
            .env("RUN_LOCAL_DIR", files)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut script = command.spawn().unwrap();
        let drawn = Arc::new((Mutex::new(String::new()), Notify::new()));
        let (stdout, stderr) = (script.stdout.take().unwrap(), script.stderr.take().unwrap());
        let sink = drawn.clone();
        tokio::spawn(async move {
            let (mut out, mut err) = (BufReader::new(stdout).lines(), BufReader::new(stderr).lines());
            let (mut out_open, mut err_open) = (true, true);
            while out_open || err_open {
                let line = tokio::select! {
                    line = out.next_line(), if out_open => line.ok().flatten().or_else(|| { out_open = false; None }),
                    line = err.next_line(), if err_open => line.ok().flatten().or_else(|| { err_open = false; None }),
                };
                if let Some(line) = line {
                    let mut drawn = sink.0.lock().unwrap();
                    drawn.push_str(&line);
                    drawn.push('\n');
                    sink.1.notify_waiters();
                }
            }
            sink.0.lock().unwrap().push_str(EXITED);
            sink.1.notify_waiters();
        });
        let gateway_url = format!("http://127.0.0.1:{gateway_port}");
        Self { script, gateway_url, drawn, stopped: false }
    }

    fn printed(&self) -> String {
        self.drawn.0.lock().unwrap().clone()
    }

    /// Waits until the waterfall of `trace_id` is drawn whole (the blank line after it).
    async fn wait_for_waterfall(&self, trace_id: &str) {
        let header = format!("trace {trace_id} ");
        let drawn = |drawn: &str| drawn.find(&header).is_some_and(|at| drawn[at..].contains("\n\n"));
        if let Err(output) = self.wait_until(&header, drawn).await {
            panic!("run-local.sh exited before it drew trace {trace_id}:\n{output}");
        }
    }

    /// Waits until what the script printed is `done`; its output if it exited first.
    async fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> Result<(), String> {
        let seen = tokio::time::timeout(DRAWN_TIMEOUT, async {
            loop {
                // Asked for before looking, so a line printed in between still wakes us.
                let next_line = self.drawn.1.notified();
                let drawn = self.printed();
                if done(&drawn) {
                    return Ok(());
                }
                if drawn.ends_with(EXITED) {
                    return Err(drawn);
                }
                next_line.await;
            }
        })
        .await;
        seen.unwrap_or_else(|_| panic!("run-local.sh never printed {what:?}:\n{}", self.printed()))
    }

    /// Ctrl-C in the first terminal.
    async fn stop(mut self) -> String {
        signal::kill(Pid::from_raw(self.script.id().unwrap() as i32), signal::Signal::SIGTERM).unwrap();
        let status =
            tokio::time::timeout(Duration::from_secs(30), self.script.wait()).await.unwrap().unwrap();
        self.stopped = true;
        let drawn = self.printed();
        assert!(status.success(), "run-local.sh exited with {status}:\n{drawn}");
        drawn
    }
}

/// A row's label: what comes before its first run of two spaces or more (the service and the
/// tree, or a compare's span), without the bar or the numbers.
fn row_label(row: &str) -> String {
    let indent = row.len() - row.trim_start().len();
    let body = &row[indent..];
    let mut label = String::new();
    for (i, c) in body.char_indices() {
        if c == ' ' && body[i..].starts_with("  ") {
            // The service column is padded: keep going past it to the span's name.
            let rest = body[i..].trim_start();
            if label.contains(' ') || label.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()) {
                break;
            }
            label.push(' ');
            label.push_str(&row_label(rest));
            break;
        }
        label.push(c);
    }
    format!("{}{}", " ".repeat(indent), label.trim_end())
}

/// A waterfall's rows, by label: its events and links (lines under a span) left out, and so are
/// the pool's `waiting for a connection` spans, which come and go with the timing of concurrent
/// requests.
fn waterfall_rows<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    lines
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with(['·', '↪']))
        .map(row_label)
        .filter(|label| !label.ends_with(POOL_WAIT))
        .collect()
}

/// Every waterfall in what `tracectl listen` drew.
fn waterfalls_in(drawn: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = drawn.lines().collect();
    let headers = lines.iter().enumerate().filter(|(_, l)| l.starts_with("trace ") && l.contains(" · "));
    headers
        .map(|(at, _)| waterfall_rows(lines[at + 1..].iter().copied().take_while(|l| !l.trim().is_empty())))
        .collect()
}

/// A compare's rows, each with what only one trace has (`only in A`, `only in B`). The pool's
/// waits (see [`waterfall_rows`]) count only as being there or not, on each side.
fn compare_rows(output: &str) -> Vec<String> {
    let (mut rows, mut waits) = (Vec::new(), std::collections::BTreeSet::new());
    let table = output.lines().skip_while(|l| !l.trim_end().ends_with("change")).skip(1);
    // Its attribute lines (`·  key = A → B`, with `--attrs`) are not rows.
    for line in table.take_while(|l| !l.trim().is_empty()).filter(|l| !l.trim_start().starts_with('·')) {
        let side = ["only in A", "only in B"].into_iter().find(|s| line.trim_end().ends_with(s));
        let row = format!("{}{}", row_label(line), side.map(|s| format!(" ({s})")).unwrap_or_default());
        if row.contains(POOL_WAIT) {
            waits.insert(row.trim().to_owned());
        } else {
            rows.push(row);
        }
    }
    rows.extend(waits);
    rows
}

/// Whether `shown` (with `…` rows elided) is in `real`, in order.
fn is_subsequence(shown: &[String], real: &[String]) -> bool {
    let mut real = real.iter();
    shown
        .iter()
        .filter(|l| l.trim() != "…")
        .all(|s| real.any(|r| without_ids(r.trim()) == without_ids(s.trim())))
}

/// `label` with the order ids in it (`ord_` and 32 hex digits: the id-in-span-name lesson's span
/// names) as `ord_{id}`: they differ from run to run, like the trace ids.
fn without_ids(label: &str) -> String {
    let id = |word: &str| {
        word.strip_prefix("ord_")
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    label.split(' ').map(|word| if id(word) { "ord_{id}" } else { word }).collect::<Vec<_>>().join(" ")
}

/// A command for a Kubernetes cluster (kind, minikube, kubectl) or an image build, checked against
/// deploy/kubernetes/ and the Dockerfile: the kustomization it applies exists, the objects it names
/// are in the manifests under the namespace they use, the images it builds or loads are the ones
/// the manifests run, each built for its own service.
fn check_cluster(page: &str, command: &str) {
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = format!("{page}: {command}");
    let manifests: String = ["base", "overlays/tail-sampling", "overlays/spm"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(repo().join("deploy/kubernetes").join(dir)).unwrap())
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let image_known = |image: &str| manifests.contains(&format!("image: {image}\n"));
    for pair in words.windows(2) {
        match pair {
            ["-k" | "kustomize", dir] => {
                assert!(
                    repo().join(dir).join("kustomization.yaml").exists(),
                    "{at}: no kustomization in {dir}"
                )
            }
            ["-n", namespace] => {
                assert!(
                    manifests.contains(&format!("namespace: {namespace}\n")),
                    "{at}: no namespace {namespace}"
                )
            }
            ["-t", image] => assert!(image_known(image), "{at}: the manifests run no {image}"),
            ["--build-arg", arg] => {
                let service = arg.strip_prefix("SERVICE=").unwrap_or_else(|| panic!("{at}: {arg}"));
                assert!(
                    command.contains(&format!("-t traced-checkout/{service}:dev")),
                    "{at}: built under another name"
                );
            }
            _ => {}
        }
    }
    for word in &words {
        if let Some((kind, name)) =
            word.split_once('/').filter(|(k, _)| ["svc", "deployment", "statefulset"].contains(k))
        {
            let kind = match kind {
                "svc" => "Service",
                "deployment" => "Deployment",
                _ => "StatefulSet",
            };
            assert!(
                manifests.contains(&format!("kind: {kind}\nmetadata:\n  name: {name}\n")),
                "{at}: the manifests have no {kind} {name}"
            );
        }
        if word.starts_with("traced-checkout/")
            && (words.contains(&"docker-image") || words.contains(&"load"))
        {
            assert!(image_known(word), "{at}: the manifests run no {word}");
        }
    }
}

/// A Docker command, checked against the compose file and `jaeger/`.
fn check_docker(page: &str, env: &[(String, String)], command: &str) {
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let compose = compose_with(&vars);
    let words: Vec<&str> = command.split_whitespace().collect();
    assert!(
        words.starts_with(&["docker", "compose"]),
        "{page}: {command}: only `docker compose` is documented"
    );
    let profiles: Vec<&str> = words.windows(2).filter(|w| w[0] == "--profile").map(|w| w[1]).collect();
    let services = active_services(&compose, &profiles);
    for profile in &profiles {
        let without = active_services(&compose, &[]).len();
        assert!(
            active_services(&compose, &[profile]).len() > without,
            "{page}: {command}: no profile {profile}"
        );
    }
    if let Some(at) = words.iter().position(|w| ["stop", "start", "restart", "logs"].contains(w)) {
        for service in &words[at + 1..] {
            assert!(services.contains(*service), "{page}: {command}: no service {service}");
        }
    }
    for (key, value) in env {
        let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
        assert!(text.contains(&format!("${{{key}")), "{page}: {command}: compose reads no {key}");
        match key.as_str() {
            "JAEGER_CONFIG" => {
                assert!(repo().join("jaeger").join(value).exists(), "{page}: no jaeger/{value}")
            }
            "OTLP_HOST" => assert!(services.contains(value), "{page}: {command}: no service {value}"),
            _ => {}
        }
    }
}

/// Runs one page's commands, in order, and checks what they printed and what its outputs show.
async fn run_page(page: &str, files: &Path) {
    let text = std::fs::read_to_string(repo().join(page)).unwrap();
    std::fs::create_dir_all(files).unwrap();
    let mut transcript = String::new();
    let mut stack: Option<LocalStack> = None;
    // What the stopped run-local.sh instances drew (terminal 1), for the waterfalls shown.
    let mut terminal_one = String::new();
    let mut last_trace: Option<String> = None;
    // The traces a command's comment named (`# terminal 2: trace A`), for `<A>` and `<B>` in any
    // later block.
    let mut named: Vec<(String, String)> = Vec::new();
    // What `VAR=$(…)` and `VAR=value` lines set, for the page's later commands.
    let mut variables: Vec<(String, String)> = Vec::new();
    let mut ran = 0;
    for block in blocks(&text) {
        let mut traces: Vec<String> = Vec::new();
        let mut printed: Vec<(String, String)> = Vec::new();
        for (command, comment) in block.commands.iter().zip(&block.comments) {
            let (env, rest) = split_env(command);
            let at = format!("{page}:{}: {command}", block.line);
            transcript.push_str(&format!("$ {command}\n"));
            // A cluster's commands (and the image builds they load) cannot run here: checked.
            if ["kind ", "kubectl ", "minikube ", "docker build "].iter().any(|c| rest.starts_with(c)) {
                check_cluster(page, &rest);
                continue;
            }
            if rest.starts_with("docker ") {
                check_docker(page, &env, &rest);
                if !rest.split_whitespace().any(|w| w == "up") {
                    continue;
                }
            }
            // `cargo …` is what runs this test; `git clone` and `cd` into the clone are how the
            // reader got here.
            if rest.starts_with("cargo ") || rest.starts_with("git clone ") || rest.starts_with("cd ") {
                continue;
            }
            let run_local =
                rest.strip_prefix("scripts/run-local.sh").filter(|a| a.is_empty() || a.starts_with(' '));
            if run_local.is_some_and(|args| args.trim().is_empty() || args.trim() == "--fresh")
                || rest.starts_with("docker ")
            {
                if let Some(running) = stack.take() {
                    let drawn = running.stop().await;
                    transcript.push_str(&format!("[terminal 1]\n{drawn}\n"));
                    terminal_one.push_str(&drawn);
                }
                let args: Vec<&str> = run_local.map(|a| a.split_whitespace().collect()).unwrap_or_default();
                stack = Some(LocalStack::start(&env, &args, files).await);
                ran += 1;
                continue;
            }
            // The exercises need no running stack: their checker (this test build's) runs each
            // in a lab of its own. One as shipped fails, saying why: that is the page's point.
            if rest.starts_with("scripts/exercise.sh") {
                let output = Command::new("bash")
                    .args(["-c", &rest])
                    .current_dir(repo())
                    .env("EXERCISE_BIN", crate::support::binary("exercise"))
                    .stdin(Stdio::null())
                    .output()
                    .await
                    .unwrap();
                let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                let judged = stdout.lines().any(|l| l.starts_with("FAIL: ") || l.ends_with(" done."));
                assert!(
                    output.status.success() || output.status.code() == Some(1) && judged,
                    "{at}:\n{stdout}"
                );
                transcript.push_str(&stdout);
                printed.push((rest, stdout));
                ran += 1;
                continue;
            }
            if stack.is_none() {
                stack = Some(LocalStack::start(&[], &[], files).await);
            }
            let running = stack.as_ref().unwrap();
            let mut line = command
                .replace("localhost:3000", running.gateway_url.trim_start_matches("http://"))
                .replace("target/run-local/", &format!("{}/", files.display()))
                .replace("target/debug/tracectl", bin_dir().join("tracectl").to_str().unwrap());
            // `VAR=$(command)`: the command runs, and what it printed is VAR from then on.
            let assigned = assignment(&line);
            if let Some((_, inner)) = &assigned {
                line = inner.clone();
            }
            let named_trace = |name: &str| named.iter().find(|(n, _)| n == name).map(|(_, id)| id);
            let a = named_trace("A").or(traces.first());
            let b = named_trace("B").or(traces.get(1));
            for (placeholder, id) in [("<A>", a), ("<B>", b), ("<trace-id>", last_trace.as_ref())] {
                if line.contains(placeholder) {
                    let id =
                        id.unwrap_or_else(|| panic!("{at}: {placeholder} names no trace printed before"));
                    line = line.replace(placeholder, id);
                }
            }
            let output = tokio::time::timeout(
                COMMAND_TIMEOUT,
                Command::new("bash")
                    .args(["-c", &line])
                    .current_dir(repo())
                    .env("GATEWAY_URL", &running.gateway_url)
                    .env("SKIP_BUILD", "1")
                    .env("BIN_DIR", bin_dir())
                    .env("NO_COLOR", "1")
                    .env("RUN_LOCAL_DIR", files)
                    .envs(variables.iter().map(|(k, v)| (k, v)))
                    .stdin(Stdio::null())
                    .output(),
            )
            .await
            .unwrap_or_else(|_| panic!("{at}: still running after {COMMAND_TIMEOUT:?}"))
            .unwrap();
            ran += 1;
            let (stdout, stderr) = (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr),
            );
            transcript.push_str(&stdout);
            if !stdout.ends_with('\n') {
                transcript.push('\n');
            }
            let refused_checkout = rest.contains("checkout.sh")
                && output.status.code() == Some(1)
                && stdout.starts_with("HTTP/1.1 ");
            let lint_found = rest.contains("tracectl lint")
                && output.status.code() == Some(1)
                && stdout.lines().any(|l| l.starts_with("lint: ") && l.contains(" finding"));
            assert!(
                output.status.success() || refused_checkout || lint_found,
                "{at}: {}\n{stdout}\n{stderr}",
                output.status
            );
            // A trace id a line set a variable to (`T=$(scripts/checkout.sh | …)`) is one too.
            let bare_id = Some(stdout.trim())
                .filter(|id| {
                    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && assigned.is_some()
                })
                .map(str::to_owned);
            if let Some(id) = trace_id_in(&stdout).or(bare_id) {
                // Drawn by this terminal 1, or by one stopped before (a trace shown again).
                if !terminal_one.contains(&format!("trace {id} ")) {
                    running.wait_for_waterfall(&id).await;
                }
                traces.push(id.clone());
                for name in ["A", "B"] {
                    if comment
                        .split([' ', ',', ':', ';'])
                        .collect::<Vec<_>>()
                        .windows(2)
                        .any(|w| w == ["trace", name])
                    {
                        named.retain(|(n, _)| n != name);
                        named.push((name.to_owned(), id.clone()));
                    }
                }
                last_trace = Some(id);
            }
            // What a search or a lint of the store lists, this page made: a page followed after
            // every page before it (on one store) must not count their traces as its own.
            if (rest.contains("tracectl search") || rest.contains("tracectl lint")) && rest.contains("--file")
            {
                for id in hex_ids(&stdout) {
                    let header = format!("trace {id} ");
                    let drawn_here = |drawn: &str| format!("{terminal_one}{drawn}").contains(&header);
                    let what = format!(
                        "{header}(listed by {at}), as a trace this page made: if it never comes, the \
                         store holds an earlier page's traces (does the page start run-local.sh --fresh?)"
                    );
                    let waited = running.wait_until(&what, drawn_here).await;
                    assert!(waited.is_ok(), "{at}: lists trace {id}, which this page did not make\n{stdout}");
                }
            }
            if let Some((name, _)) = assigned {
                variables.retain(|(k, _)| *k != name);
                variables.push((name, stdout.trim_end().to_owned()));
            }
            printed.push((rest, stdout));
        }
        let drawn = format!("{terminal_one}{}", stack.as_ref().map(LocalStack::printed).unwrap_or_default());
        keep_transcript(page, &format!("{transcript}[terminal 1 so far]\n{drawn}"));
        let waterfalls = waterfalls_in(&drawn);
        for shown in &block.outputs {
            let first = shown.lines().next().unwrap_or_default();
            let at = format!("{page}:{}: the output after this block", block.line);
            for key in attribute_keys(shown) {
                assert!(
                    printed.iter().any(|(_, out)| attribute_keys(out).contains(&key)),
                    "{at}: attribute {key} is shown, but no command of the block printed it"
                );
            }
            if first.starts_with("trace ") && first.contains(" · ") {
                let rows = waterfall_rows(shown.lines().skip(1));
                let drawn_with =
                    |drawn: &str| waterfalls_in(drawn).iter().any(|real| is_subsequence(&rows, real));
                // A trace of the block that no command waited for (the other half of a split
                // trace, say) may still be on its way: wait for it as a reader would.
                let mut waterfalls = waterfalls.clone();
                if !waterfalls.iter().any(|real| is_subsequence(&rows, real))
                    && let Some(running) = &stack
                {
                    let what = format!("{at}: the waterfall shown, {first}");
                    let _ = running.wait_until(&what, |drawn| drawn_with(drawn)).await;
                    waterfalls = waterfalls_in(&format!("{terminal_one}{}", running.printed()));
                }
                assert!(
                    waterfalls.iter().any(|real| is_subsequence(&rows, real)),
                    "{at}: these rows\n{rows:#?}\nare in no waterfall drawn:\n{waterfalls:#?}"
                );
            } else if shown.lines().any(|l| l.trim_end().ends_with("change")) {
                let real = printed.iter().rev().find(|(c, _)| c.contains("tracectl compare")).map(|(_, o)| o);
                let real = real.unwrap_or_else(|| panic!("{at}: a compare shown, but none run"));
                assert_eq!(
                    compare_rows(shown),
                    compare_rows(real),
                    "{at}: the compare shown is not the real one's"
                );
            } else if let Some(summary) = shown.lines().find(|l| l.starts_with("lint: ")) {
                let real = printed.iter().rev().find(|(c, _)| c.contains("tracectl lint")).map(|(_, o)| o);
                let real = real.unwrap_or_else(|| panic!("{at}: a lint shown, but none run"));
                assert!(real.lines().any(|l| l == summary), "{at}: lint said\n{real}\nnot {summary:?}");
            } else if printed.iter().any(|(c, _)| c.starts_with("scripts/exercise.sh")) {
                // Each line shown (`…` elides) is one the exercises' checker printed.
                let real: Vec<&str> =
                    printed.iter().flat_map(|(_, o)| o.lines()).map(str::trim_end).collect();
                for line in shown.lines().map(str::trim_end).filter(|l| l.trim() != "…") {
                    assert!(
                        real.contains(&line),
                        "{at}: {line:?} is not a line exercise.sh printed:\n{real:#?}"
                    );
                }
            } else if first.starts_with("HTTP/1.1 ") {
                assert!(
                    printed.iter().any(|(_, o)| o.lines().next() == Some(first)),
                    "{at}: no checkout answered {first:?}"
                );
            }
        }
    }
    if let Some(running) = stack.take() {
        transcript.push_str(&format!("[terminal 1]\n{}\n", running.stop().await));
    }
    keep_transcript(page, &transcript);
    assert!(ran > 0 || page == "REFERENCE.md", "{page} shows no command to run");
}

/// With `DOCS_TRANSCRIPT=DIR`, writes what the page's commands printed to `DIR`.
fn keep_transcript(page: &str, transcript: &str) {
    if let Ok(dir) = std::env::var("DOCS_TRANSCRIPT") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{}.txt", page.replace('/', "-"))), transcript).unwrap();
    }
}

/// The ` ```rust ` blocks of `page` that quote a file (first line `// <path>`): the path, and the
/// quoted lines.
fn quotes(page: &str) -> Vec<(String, Vec<String>)> {
    let mut quotes = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```rust" {
            continue;
        }
        let body: Vec<String> = lines.by_ref().take_while(|l| l.trim() != "```").map(str::to_owned).collect();
        if let Some(path) =
            body.first().and_then(|first| first.strip_prefix("// ")).filter(|p| p.ends_with(".rs"))
        {
            quotes.push((path.to_owned(), body[1..].to_vec()));
        }
    }
    quotes
}

#[test]
fn a_page_that_shows_the_clock_skew_line_explains_it() {
    let mut explained = 0;
    for page in PAGES {
        let text = std::fs::read_to_string(repo().join(page)).unwrap();
        if !text.contains("(clock skew:") {
            continue;
        }
        // The explanation: prose, not the line itself nor an output.
        let mut inside = false;
        let prose: String = text
            .lines()
            .filter(|l| {
                inside ^= l.trim_start().starts_with("```");
                !inside && !l.contains("(clock skew:")
            })
            .collect();
        assert!(
            prose.contains("clock skew"),
            "{page} shows tracectl's clock-skew line and says nothing of it"
        );
        explained += 1;
    }
    assert!(explained >= 1, "REFERENCE.md shows the line and says what it means");
}

#[test]
fn the_code_the_pages_quote_is_in_the_files_they_name() {
    let mut quoted = 0;
    for page in PAGES {
        for (path, lines) in quotes(&std::fs::read_to_string(repo().join(page)).unwrap()) {
            let file =
                std::fs::read_to_string(repo().join(&path)).unwrap_or_else(|e| panic!("{page}: {path}: {e}"));
            let file: Vec<&str> = file.lines().collect();
            let found =
                file.windows(lines.len()).any(|window| window.iter().zip(&lines).all(|(a, b)| a == b));
            assert!(found, "{page} quotes {path}, which does not hold:\n{}", lines.join("\n"));
            quoted += 1;
        }
    }
    assert!(quoted >= 7, "each mistake's page quotes its wrong and its right code ({quoted} quotes)");
}

#[test]
fn every_lesson_page_is_run() {
    let mut lessons: Vec<String> = std::fs::read_dir(repo().join("lessons"))
        .unwrap()
        .map(|e| format!("lessons/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|path| path.ends_with(".md"))
        .collect();
    lessons.sort();
    // Every picture a page shows is there, and every picture there is shown by a page.
    let text: String =
        lessons.iter().map(|page| std::fs::read_to_string(repo().join(page)).unwrap()).collect();
    let shown: Vec<&str> =
        text.split("](images/").skip(1).filter_map(|rest| rest.split(')').next()).collect();
    let mut kept: Vec<String> = std::fs::read_dir(repo().join("lessons/images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    let mut shown_sorted: Vec<String> = shown.iter().map(|s| s.to_string()).collect();
    shown_sorted.sort();
    shown_sorted.dedup();
    assert_eq!(shown_sorted, kept, "lessons/images/ and the pictures the pages show");
    let mut listed: Vec<String> =
        PAGES.iter().filter(|p| p.starts_with("lessons/")).map(|p| p.to_string()).collect();
    listed.sort();
    assert_eq!(lessons, listed, "a page under lessons/ that no test runs, or a test of a page that is gone");
    // Each page leads to the next, and the chain visits every lesson once.
    let mut visited = lessons_in_order();
    visited.sort();
    assert_eq!(visited, lessons, "the Next → links miss a lesson");
}

#[test]
fn the_parser_reads_commands_placeholders_and_outputs_as_the_pages_write_them() {
    let page = "text\n```sh\nscripts/run-local.sh                 # terminal 1\nA=1 scripts/checkout.sh \\\n  '{}'\n# a comment\n```\n\n```\ntrace 4bf92f3577b34da6a3ce929d0e0e4736 · 1 span\n```\n```rust\nfn main() {}\n```\n";
    let blocks = blocks(page);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].commands, ["scripts/run-local.sh", "A=1 scripts/checkout.sh '{}'"]);
    assert_eq!(blocks[0].comments, ["terminal 1", ""]);
    assert_eq!(blocks[0].outputs.len(), 1);
    assert_eq!(split_env("FIXES=slow-db X_Y=2 scripts/run-local.sh").1, "scripts/run-local.sh");
    assert_eq!(
        split_env("FIXES=slow-db scripts/run-local.sh").0,
        [("FIXES".to_owned(), "slow-db".to_owned())]
    );
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    assert_eq!(trace_id_in(&format!("HTTP/1.1 201\nTrace {id}: http://x")).as_deref(), Some(id));
    assert_eq!(trace_id_in(&format!("slowest happy: 1.0 ms, trace {id}\n")).as_deref(), Some(id));
    assert_eq!(trace_id_in(&format!("trace {id}0")), None);
    assert_eq!(
        trace_id_in(&format!("{{\"order_id\":\"ord_1\",\"trace_id\":\"{id}\"}}")).as_deref(),
        Some(id)
    );
    assert_eq!(
        row_label("order-service          ├─ INSERT orders              26.2 ms │███ │"),
        "order-service ├─ INSERT orders"
    );
    assert_eq!(
        row_label("      order-service check_stock             39.6 ms     43.8 ms"),
        "      order-service check_stock"
    );
    assert!(is_subsequence(&["a".into(), "…".into(), "c".into()], &["a".into(), "b".into(), "c".into()]));
    assert!(!is_subsequence(&["c".into(), "a".into()], &["a".into(), "b".into(), "c".into()]));
    assert_eq!(
        assignment("A=$(scripts/checkout.sh | tail -1)"),
        Some(("A".to_owned(), "scripts/checkout.sh | tail -1".to_owned()))
    );
    assert_eq!(assignment("KEY=lesson-1"), Some(("KEY".to_owned(), "printf %s lesson-1".to_owned())));
    assert_eq!(assignment("FIXES=slow-db scripts/run-local.sh"), None);
    assert_eq!(assignment("scripts/checkout.sh"), None);
    assert_eq!(
        attribute_keys(
            "order-service  ├─ SELECT orders  21.6 ms │██ │\n      ·  db.namespace   = main\n    db.system.name = sqlite\n  ·  +0.1 ms Validating order"
        ),
        ["db.namespace", "db.system.name"]
    );
}

/// What a page shows as output that no reader could have seen: a test's temporary directory or
/// this machine's paths, a port other than the documented ones, or a test harness's markers. A
/// transcript pasted from a test run fails here.
fn unseeable(line: &str) -> Option<String> {
    const PORTS: [&str; 11] =
        ["3000", "3001", "3002", "4317", "4318", "5778", "8080", "9090", "13133", "16686", "8888"];
    for marker in ["/tmp/", "/work/", "/home/", "[terminal 1", EXITED, "test result:", "running 1 test"] {
        if line.contains(marker) {
            return Some(format!("{marker:?}"));
        }
    }
    for host in ["localhost:", "127.0.0.1:", "0.0.0.0:"] {
        for (at, _) in line.match_indices(host) {
            let port: String = line[at + host.len()..].chars().take_while(char::is_ascii_digit).collect();
            if !port.is_empty() && !PORTS.contains(&port.as_str()) {
                return Some(format!("port {port}"));
            }
        }
    }
    None
}

#[test]
fn no_page_shows_output_a_reader_could_not_have_seen() {
    let mut outputs = 0;
    for page in PAGES {
        let text = std::fs::read_to_string(repo().join(page)).unwrap();
        let mut lines = text.lines().enumerate();
        while let Some((_, line)) = lines.next() {
            let Some(info) = line.trim_start().strip_prefix("```") else { continue };
            let shown = matches!(info.trim(), "" | "text" | "console");
            for (n, body) in lines.by_ref().take_while(|(_, l)| l.trim_start() != "```") {
                if let (true, Some(what)) = (shown, unseeable(body)) {
                    panic!("{page}:{}: {what} in an output no reader sees:\n{body}", n + 1);
                }
            }
            outputs += usize::from(shown);
        }
    }
    assert!(outputs > 40, "only {outputs} outputs read");
    assert!(unseeable("Ready: gateway on http://localhost:45011 (logs in target/run-local/).").is_some());
    assert!(unseeable("kept in /tmp/checkout-demo-tests-17/traces.jsonl").is_some());
    assert!(unseeable("[terminal 1 so far]").is_some());
    assert!(unseeable("Ready: gateway on http://localhost:3000 (logs in target/run-local/).").is_none());
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    assert_eq!(hex_ids(&format!("{id}  gateway POST /api/checkout\norder.id = ord_{id}")), [id]);
}

/// The lessons as a reader follows them: in the order of their Next → links, one after another,
/// on one folder (one store of traces, one orders database), so that what a page shows still
/// holds after every page before it; beside them, the README and the reference, each on a folder
/// of its own. A failure names its page and line.
#[tokio::test(flavor = "multi_thread")]
async fn every_documented_command_runs_and_every_output_shown_is_real() {
    let lessons_folder = fresh_db_path().parent().unwrap().to_owned();
    let lessons = async {
        for page in lessons_in_order() {
            run_page(&page, &lessons_folder).await;
        }
    };
    let others = async {
        for page in PAGES.iter().filter(|p| !p.starts_with("lessons/")) {
            run_page(page, fresh_db_path().parent().unwrap()).await;
        }
    };
    tokio::join!(lessons, others);
}

/// The lesson pages in the order their `Next →` links lead, from the concepts page.
fn lessons_in_order() -> Vec<String> {
    let mut page = "lessons/concepts.md".to_owned();
    let mut visited = vec![page.clone()];
    loop {
        let text = std::fs::read_to_string(repo().join(&page)).unwrap();
        let next = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("Next → ["))
            .unwrap_or_else(|| panic!("{page}: no Next → link"));
        let target =
            next.split_once("](").and_then(|(_, rest)| rest.split_once(')')).map(|(t, _)| t).unwrap();
        if target.starts_with("../README.md") {
            return visited;
        }
        page = format!("lessons/{target}");
        assert!(repo().join(&page).exists(), "{page}: its Next → link is to no page");
        assert!(!visited.contains(&page), "{page}: the Next → links go round in a loop");
        visited.push(page.clone());
    }
}

/// Every trace id (32 hex digits standing alone: not an order id's, `ord_<32 hex digits>`) in
/// `text`.
fn hex_ids(text: &str) -> Vec<&str> {
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    words
        .filter(|w| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .collect()
}

/// The ` ```mermaid ` blocks of `page`.
fn mermaid_blocks(page: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join(page)).unwrap();
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```mermaid" {
            blocks.push(lines.by_ref().take_while(|l| l.trim() != "```").collect::<Vec<_>>().join("\n"));
        }
    }
    blocks
}

/// What a diagram names as a span: `METHOD /path`, `INSERT table` and the like, and
/// `snake_case` names (a function's span).
fn span_names_in(diagram: &str) -> Vec<String> {
    let mut names = Vec::new();
    let words: Vec<&str> = diagram.split(|c: char| c.is_whitespace() || "|,:()[]\"".contains(c)).collect();
    for pair in words.windows(2) {
        let verb = ["GET", "POST", "PUT", "DELETE", "INSERT", "UPDATE", "SELECT"].contains(&pair[0]);
        if verb && !pair[1].is_empty() {
            names.push(format!("{} {}", pair[0], pair[1]));
        }
    }
    let snake = |w: &&&str| w.contains('_') && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    names.extend(words.iter().filter(snake).map(|w| w.to_string()));
    names
}

/// What a diagram names as a service: `gateway`, `stripe`, and every `…-service`.
fn services_in(diagram: &str) -> Vec<&str> {
    let words = diagram.split(|c: char| !(c.is_ascii_lowercase() || c == '-'));
    words.filter(|w| *w == "gateway" || *w == "stripe" || w.ends_with("-service")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_and_span_a_diagram_names_is_in_a_real_checkouts_trace() {
    let receiver = crate::support::receiver().await;
    let stack = crate::support::Stack::start(&receiver.endpoint(), &[]).await;
    let answer = crate::support::post_checkout(&stack).await.json().await.unwrap();
    let trace_id = crate::support::trace_id_of(&answer);
    let enough = |s: &[tracectl::model::Span]| {
        crate::support::of_trace(s, &trace_id).len() >= crate::support::CHECKOUT_SPANS
    };
    let spans = receiver.store.wait_for(crate::support::SPANS_TIMEOUT, enough).await.unwrap();
    stack.stop().await;
    let trace = crate::support::of_trace(&spans, &trace_id);
    let services: Vec<&str> = trace.iter().map(|s| s.service_name.as_str()).collect();
    let names: Vec<&str> = trace.iter().map(|s| s.name.as_str()).collect();
    for page in ["README.md", "lessons/concepts.md"] {
        let diagrams = mermaid_blocks(page);
        assert!(!diagrams.is_empty(), "{page} draws the checkout");
        for diagram in diagrams {
            let shown = span_names_in(&diagram);
            assert!(shown.len() >= 4, "{page}: the span names read from the diagram: {shown:?}");
            for name in shown {
                assert!(
                    names.contains(&name.as_str()),
                    "{page}'s diagram names the span {name:?}; a checkout's are {names:?}"
                );
            }
            for service in services_in(&diagram) {
                assert!(
                    services.contains(&service),
                    "{page}'s diagram names the service {service:?}; a checkout's are {services:?}"
                );
            }
        }
    }
}
