//! `tracectl listen`: an OTLP/HTTP receiver that prints each trace as a waterfall once it is
//! complete, so a learner without Jaeger sees every checkout's trace in the terminal.
//!
//! "Complete" is a guess, as it is for every tracing backend: spans of one trace arrive from
//! several processes, each exporting on its own schedule, so a trace is printed once no new span
//! of it has arrived for `quiet` (default 1.5 s, above the services' 1 s export delay in the demo).
//! A span arriving after that is printed as a new, partial trace, its parent shown as missing.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    io::Write,
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{
    count::TraceCounter,
    lint::{self, Thresholds},
    model::Span,
    receiver::{self, SpanStore},
    store::FileStore,
    trace::Trace,
    waterfall::{self, Options},
};

/// What `listen` needs to know.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Where to listen for OTLP/HTTP.
    pub addr: SocketAddr,
    /// Where to listen for OTLP/gRPC too, if anywhere.
    pub grpc_addr: Option<SocketAddr>,
    /// How long a trace must be quiet before it is printed.
    pub quiet: Duration,
    /// Most traces held while waiting; beyond it the oldest is printed early, with a warning.
    pub max_traces: usize,
    /// Draw span events too.
    pub events: bool,
    /// Also print the analysis (critical path, self time, …) of each trace.
    pub analyze: bool,
    /// Also draw each span's attributes, those with one of these key prefixes (all for none).
    pub attributes: Option<Vec<String>>,
    /// Also lint each trace, with these thresholds, against the traces drawn before it.
    pub lint: Option<Thresholds>,
    /// Use ANSI colours.
    pub colour: bool,
    /// Print one JSON line per trace instead of a drawing.
    pub json: bool,
    /// Draw nothing; print only how many spans and traces arrived, at exit (for benchmarks).
    pub stats: bool,
    /// Also keep every export in this file (`--store`), for `show`, `analyze`, `compare` and
    /// `search` to read with `--file`.
    pub store: Option<FileStore>,
    /// Follow this Jaeger's query API (`--jaeger`) instead of receiving OTLP: where Jaeger holds
    /// the OTLP ports, each trace it receives is drawn all the same.
    pub follow: Option<crate::jaeger::Jaeger>,
}

/// What the receiver feeds: the spans to draw, and the store file if there is one.
#[derive(Debug, Clone)]
struct Received {
    spans: SpanStore,
    file: Option<FileStore>,
}

impl receiver::Sink for Received {
    fn accept(
        &self,
        request: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
    ) -> u64 {
        if let Some(file) = &self.file {
            file.append(request);
        }
        self.spans.accept(request)
    }
}

/// A trace whose spans are still arriving.
struct Pending {
    spans: Vec<Span>,
    first_seen: Instant,
    last_seen: Instant,
}

/// How long a trace whose root never arrives is waited for before it is drawn anyway.
const MAX_WAIT_FOR_ROOT: Duration = Duration::from_secs(30);

/// How much longer than the quiet time a trace that started in another process is waited for:
/// the OTLP batch processor's default export delay (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
const REMOTE_ROOT_GRACE: Duration = Duration::from_secs(5);

/// Whether a pending trace is complete enough to draw: quiet for `quiet`, and its root span has
/// arrived. The root (the first SERVER span, which ends last) is exported last, and a slow
/// request can go quiet for longer than `quiet` in the middle (say, while a call times out), so
/// quiet alone would draw it in pieces.
///
/// A trace continued from a caller that sent `traceparent` has no root here: its top span's
/// parent is in the caller's process. When every span whose parent is missing says its parent is
/// remote, the trace may be whole, or a service's caller may not have exported yet (a
/// downstream SERVER span's parent is remote too): it is drawn once quiet for
/// [`REMOTE_ROOT_GRACE`] beyond `quiet`. Any other trace whose root never comes (it was lost) is
/// waited for at most [`MAX_WAIT_FOR_ROOT`].
fn ready_to_draw(pending: &Pending, now: Instant, quiet: Duration) -> bool {
    let quiet_for = now.duration_since(pending.last_seen);
    if quiet_for < quiet {
        return false;
    }
    if pending.spans.iter().any(|s| s.parent_span_id.is_none()) {
        return true;
    }
    let ids: HashSet<&str> = pending.spans.iter().map(|s| s.span_id.as_str()).collect();
    let continued = pending
        .spans
        .iter()
        .all(|s| s.parent_span_id.as_deref().is_none_or(|p| ids.contains(p)) || s.parent_is_remote);
    (continued && quiet_for >= quiet + REMOTE_ROOT_GRACE)
        || now.duration_since(pending.first_seen) >= MAX_WAIT_FOR_ROOT.max(quiet)
}

/// Runs the receiver until `shutdown` completes, writing waterfalls to `out`; prints what is
/// still pending before returning. Returns how many findings `--lint` made (0 without it).
pub async fn run(
    options: ListenOptions,
    mut out: impl Write,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<usize> {
    if options.stats {
        return run_stats(options, out, shutdown).await.map(|()| 0);
    }
    let store = SpanStore::default();
    let _feeds = feed(&options, &store, &mut out).await?;
    out.flush()?;

    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut linted = Linted::default();
    let mut tick = tokio::time::interval(
        (options.quiet / 4).clamp(Duration::from_millis(10), Duration::from_millis(250)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        collect(&store, &mut pending, now);
        evict_over_limit(&mut pending, options.max_traces, &options, &mut linted, &mut out)?;
        let quiet: Vec<String> = pending
            .iter()
            .filter(|(_, p)| ready_to_draw(p, now, options.quiet))
            .map(|(id, _)| id.clone())
            .collect();
        print_traces(&mut pending, quiet, &options, &mut linted, &mut out)?;
    }
    // Shutting down: whatever has arrived is printed rather than lost.
    collect(&store, &mut pending, Instant::now());
    let all: Vec<String> = pending.keys().cloned().collect();
    print_traces(&mut pending, all, &options, &mut linted, &mut out)?;
    out.flush()?;
    Ok(linted.found)
}

/// What feeds the drawing: a receiver (and its gRPC twin), or a task following Jaeger. Kept
/// alive for as long as it is held.
struct Feeds {
    _http: Option<receiver::RunningReceiver<Received>>,
    _grpc: Option<crate::grpc::RunningGrpcReceiver<Received>>,
    _following: Option<AbortOnDrop>,
}

/// Starts what `options` asks to feed `store`, and says where on `out` (on the log, with `--json`,
/// whose stdout carries only JSON lines).
async fn feed(options: &ListenOptions, store: &SpanStore, out: &mut impl Write) -> std::io::Result<Feeds> {
    let mut banner = |text: String| -> std::io::Result<()> {
        if options.json {
            tracing::info!("{text}");
            Ok(())
        } else {
            writeln!(out, "tracectl: {text}")
        }
    };
    let received = Received { spans: store.clone(), file: options.store.clone() };
    let mut feeds = Feeds { _http: None, _grpc: None, _following: None };
    if let Some(jaeger) = &options.follow {
        banner(format!("following the traces Jaeger receives, through its API at {}", jaeger.url()))?;
        feeds._following = Some(AbortOnDrop(tokio::spawn(follow(jaeger.clone(), store.clone()))));
    } else {
        let running = receiver::spawn(options.addr, received.clone()).await?;
        banner(format!("receiving OTLP/HTTP traces on {}/v1/traces", running.endpoint()))?;
        feeds._http = Some(running);
        if let Some(addr) = options.grpc_addr {
            let grpc = crate::grpc::spawn(addr, received).await?;
            banner(format!("receiving OTLP/gRPC traces on {}", grpc.endpoint()))?;
            feeds._grpc = Some(grpc);
        }
    }
    banner(format!("each trace is drawn once it has been quiet for {} ms", options.quiet.as_millis()))?;
    Ok(feeds)
}

/// How many traces `--lint` checks a new trace against (a split trace's other half, a detached
/// trace's request, the other names of a template).
const LINT_WINDOW: usize = 100;

/// What `--lint` keeps between traces: the traces drawn lately, and how many findings there were.
#[derive(Default)]
struct Linted {
    recent: VecDeque<Trace>,
    found: usize,
}

impl Linted {
    /// The findings that involve `trace`, checked with the traces drawn before it.
    fn check(&mut self, trace: &Trace, thresholds: &Thresholds) -> Vec<lint::Finding> {
        self.recent.push_back(trace.clone());
        if self.recent.len() > LINT_WINDOW {
            self.recent.pop_front();
        }
        let findings = lint::lint_naming(self.recent.make_contiguous(), &trace.trace_id, thresholds);
        self.found += findings.len();
        findings
    }
}

/// `--stats`: counts spans per trace id over the whole run and prints the totals at shutdown.
/// (Per trace id, not per drawn trace: under load, one trace's spans can arrive further apart
/// than `quiet`, and counting per drawn trace would split it in two.)
async fn run_stats(
    options: ListenOptions,
    mut out: impl Write,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let counter = TraceCounter::default();
    let running = receiver::spawn(options.addr, counter.clone()).await?;
    writeln!(
        out,
        "tracectl: receiving OTLP/HTTP traces on {}/v1/traces, counting spans per trace",
        running.endpoint()
    )?;
    let _grpc = match options.grpc_addr {
        Some(addr) => {
            let grpc = crate::grpc::spawn(addr, counter.clone()).await?;
            writeln!(out, "tracectl: receiving OTLP/gRPC traces on {}", grpc.endpoint())?;
            Some(grpc)
        }
        None => None,
    };
    out.flush()?;
    shutdown.await;
    writeln!(out, "{}", serde_json::json!({"received": counter.counts()}))?;
    out.flush()
}

fn collect(store: &SpanStore, pending: &mut HashMap<String, Pending>, now: Instant) {
    for span in store.drain() {
        let entry = pending.entry(span.trace_id.clone()).or_insert_with(|| Pending {
            spans: Vec::new(),
            first_seen: now,
            last_seen: now,
        });
        entry.last_seen = now;
        entry.spans.push(span);
    }
}

fn evict_over_limit(
    pending: &mut HashMap<String, Pending>,
    max_traces: usize,
    options: &ListenOptions,
    linted: &mut Linted,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let excess = pending.len().saturating_sub(max_traces.max(1));
    if excess == 0 {
        return Ok(());
    }
    let mut by_age: Vec<(Instant, String)> =
        pending.iter().map(|(id, p)| (p.first_seen, id.clone())).collect();
    by_age.sort();
    let oldest: Vec<String> = by_age.into_iter().take(excess).map(|(_, id)| id).collect();
    tracing::warn!(
        traces = excess,
        max_traces,
        "too many traces in flight: drawing the oldest before they are quiet"
    );
    print_traces(pending, oldest, options, linted, out)
}

fn print_traces(
    pending: &mut HashMap<String, Pending>,
    trace_ids: Vec<String>,
    options: &ListenOptions,
    linted: &mut Linted,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut ready: Vec<Pending> = trace_ids.iter().filter_map(|id| pending.remove(id)).collect();
    ready.sort_by_key(|p| p.first_seen);
    for pending in ready {
        let trace = Trace::new(pending.spans);
        let analysis = options.analyze.then(|| crate::analyze::analyze(&trace));
        let findings = options.lint.as_ref().map(|thresholds| linted.check(&trace, thresholds));
        if options.json {
            // One JSON document per line, so `tracectl listen --json | jq` works as a stream.
            let line = serde_json::json!({
                "trace_id": trace.trace_id,
                "duration_nanos": trace.duration_nanos(),
                "spans": trace.spans,
                "analysis": analysis,
                "lint": findings,
            });
            writeln!(out, "{line}")?;
        } else {
            let drawing = Options {
                events: options.events,
                attributes: options.attributes.clone(),
                colour: options.colour,
            };
            writeln!(out, "\n{}", waterfall::render(&trace, drawing))?;
            if let Some(analysis) = &analysis {
                writeln!(out, "{}", crate::report::analysis_text(analysis, options.colour))?;
            }
            if let Some(findings) = findings.filter(|f| !f.is_empty()) {
                write!(out, "\n{}", lint::text(&findings, 1))?;
            }
        }
    }
    out.flush()
}

/// How often `--jaeger` asks Jaeger for new spans.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// The `service.name` Jaeger traces itself under (`service.telemetry.resource` in jaeger/*.yaml,
/// and Jaeger's own default).
const JAEGERS_OWN_SERVICE: &str = "jaeger";

/// A task aborted when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `--jaeger`: every [`FOLLOW_EVERY`], the traces of every service Jaeger knows that started since
/// this began (the newest 100 of each), and each span not seen before pushed into `store`, as a
/// receiver would push it, so the quiet rule draws each trace once it stops growing. A Jaeger that
/// does not answer is said once, and again when it answers. Jaeger's own spans (it traces its
/// query API, as service `jaeger`) are left out: each poll would make more of them to draw.
async fn follow(jaeger: crate::jaeger::Jaeger, store: SpanStore) {
    let started = std::time::SystemTime::now();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut down = false;
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    loop {
        tick.tick().await;
        let lookback = started.elapsed().unwrap_or_default() + Duration::from_secs(60);
        let spans = async {
            let mut spans = Vec::new();
            for service in jaeger.services().await?.into_iter().filter(|s| s != JAEGERS_OWN_SERVICE) {
                let query = crate::jaeger::SearchQuery {
                    service,
                    operation: None,
                    min_duration: None,
                    lookback,
                    limit: 100,
                    errors: false,
                };
                spans.extend(jaeger.search(&query).await?.spans);
            }
            Ok::<_, crate::jaeger::JaegerError>(spans)
        };
        match spans.await {
            Ok(spans) => {
                if std::mem::take(&mut down) {
                    tracing::info!("Jaeger answers again");
                }
                let new: Vec<Span> = spans
                    .into_iter()
                    .filter(|s| seen.insert((s.trace_id.clone(), s.span_id.clone())))
                    .collect();
                if !new.is_empty() {
                    store.push(new);
                }
            }
            Err(e) if !down => {
                down = true;
                tracing::warn!(
                    "Jaeger does not answer: {e}; asking again every {} ms",
                    FOLLOW_EVERY.as_millis()
                );
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests::span;

    fn pending(spans: Vec<Span>, first_seen: Instant, last_seen: Instant) -> Pending {
        Pending { spans, first_seen, last_seen }
    }

    #[test]
    fn a_quiet_trace_is_drawn_once_its_root_has_arrived() {
        let t0 = Instant::now();
        let quiet = Duration::from_millis(1500);
        let with_root = pending(vec![span("r", None, "s", "root", 0, 10)], t0, t0);
        assert!(!ready_to_draw(&with_root, t0 + Duration::from_millis(1000), quiet), "not quiet yet");
        assert!(ready_to_draw(&with_root, t0 + Duration::from_millis(1500), quiet));
    }

    #[test]
    fn a_quiet_trace_without_its_root_waits_for_it_up_to_the_maximum() {
        // A slow request: its first spans went quiet while a call was timing out.
        let t0 = Instant::now();
        let quiet = Duration::from_millis(1500);
        let rootless = pending(vec![span("c", Some("r"), "s", "child", 0, 10)], t0, t0);
        assert!(!ready_to_draw(&rootless, t0 + Duration::from_secs(5), quiet), "keeps waiting for the root");
        assert!(ready_to_draw(&rootless, t0 + MAX_WAIT_FOR_ROOT, quiet), "gives up eventually");
    }

    #[test]
    fn a_trace_continued_from_a_remote_caller_is_drawn_after_a_grace_not_the_maximum() {
        let t0 = Instant::now();
        let quiet = Duration::from_millis(1500);
        let remote = |mut s: Span| {
            s.parent_is_remote = true;
            s
        };
        // The gateway's SERVER span, continuing a caller's traceparent, and its child.
        let continued = pending(
            vec![
                remote(span("g", Some("caller"), "gateway", "POST /api/checkout", 0, 10)),
                span("c", Some("g"), "gateway", "POST /orders", 1, 9),
            ],
            t0,
            t0,
        );
        assert!(!ready_to_draw(&continued, t0 + quiet, quiet), "its caller's export may be on its way");
        assert!(ready_to_draw(&continued, t0 + quiet + REMOTE_ROOT_GRACE, quiet));
        // A span whose missing parent is local (the SERVER span above it has not arrived) waits
        // for it as before, even beside a remote-parented one.
        let partial = pending(
            vec![
                remote(span("g", Some("caller"), "gateway", "POST /api/checkout", 0, 10)),
                span("s", Some("lost"), "stripe", "POST /v1/charges", 1, 2),
            ],
            t0,
            t0,
        );
        assert!(!ready_to_draw(&partial, t0 + quiet + REMOTE_ROOT_GRACE, quiet));
    }
}
