//! `loadgen`: drives a weighted mix of teaching scenarios through the gateway at a chosen
//! concurrency, for a duration or a number of checkouts, and ends with a table per scenario:
//! requests, errors by status, and p50/p90/p99 latency, then each scenario's slowest checkout and
//! its trace id (read from the W3C `traceresponse` header), to open the trace behind the p99.
//!
//! ```text
//! loadgen --concurrency 8 --duration 20s --mix happy=6,pool-contention=2,slow-db=1
//! ```
//!
//! Latencies go into an HDR histogram per scenario (3 significant digits, 1 µs to 10 min), the
//! standard way to keep percentiles exact without keeping every sample.

use std::{
    collections::BTreeMap,
    io::IsTerminal as _,
    process::ExitCode,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// Drive checkouts through the gateway and report latency per scenario.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The gateway.
    #[arg(long, env = "GATEWAY_URL", default_value = "http://localhost:3000")]
    url: String,
    /// Checkouts in flight at once.
    #[arg(long, short, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    concurrency: u16,
    /// Stop after this long (e.g. `30s`, `2m`); the default when no `--count` is given is 30 s.
    #[arg(long, short, value_parser = humantime::parse_duration, conflicts_with = "count")]
    duration: Option<Duration>,
    /// Stop after this many checkouts.
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// The scenarios to send, with weights: `happy=8,card-declined=1,out-of-stock=1`.
    #[arg(long, default_value = "happy=8,card-declined=1,out-of-stock=1", value_parser = parse_mix)]
    mix: Mix,
    /// An instrumentation mistake every checkout makes on purpose (`no-propagation`, …: `GET
    /// /api/mistakes` lists them), beside its scenario.
    #[arg(long)]
    mistake: Option<String>,
    /// Per-request timeout.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    timeout: Duration,
    /// No progress bar (it is never drawn when stderr is not a terminal).
    #[arg(long)]
    quiet: bool,
}

/// Scenarios and their weights.
#[derive(Debug, Clone)]
struct Mix(Vec<(String, u32)>);

impl Mix {
    fn pick(&self) -> &str {
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut ticket = fastrand::u32(0..total);
        for (name, weight) in &self.0 {
            if ticket < *weight {
                return name;
            }
            ticket -= weight;
        }
        &self.0[0].0
    }
}

fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut mix = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let weight: u32 =
            weight.trim().parse().map_err(|_| format!("{part:?}: the weight must be a whole number"))?;
        if weight > 0 {
            mix.push((name.trim().to_owned(), weight));
        }
    }
    if mix.is_empty() {
        return Err("name at least one scenario with a weight above 0".into());
    }
    Ok(Mix(mix))
}

/// What happened to one scenario's requests.
struct Stats {
    requests: u64,
    /// Answers by HTTP status, and `conn`/`timeout` for requests that got none.
    outcomes: BTreeMap<String, u64>,
    latency_us: Histogram<u64>,
    /// How many answers said their trace was sampled (kept), and how many said it was not.
    sampled: u64,
    unsampled: u64,
    /// The slowest request whose trace was sampled, and that trace.
    slowest: Option<(Duration, String)>,
}

impl Stats {
    fn new() -> Self {
        Self {
            requests: 0,
            outcomes: BTreeMap::new(),
            // 1 µs to 10 minutes at 3 significant digits: fixed bounds, so recording never fails.
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"),
            sampled: 0,
            unsampled: 0,
            slowest: None,
        }
    }

    fn errors(&self) -> u64 {
        self.outcomes.iter().filter(|(k, _)| !k.starts_with('2')).map(|(_, n)| n).sum()
    }
}

type Report = Arc<Mutex<BTreeMap<String, Stats>>>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let url = args.url.trim_end_matches('/').to_owned();
    let mistake: String = args
        .mistake
        .as_deref()
        .map(|m| format!("&mistake={}", form_urlencoded::byte_serialize(m.as_bytes()).collect::<String>()))
        .unwrap_or_default();
    let http = match reqwest::Client::builder().timeout(args.timeout).build() {
        Ok(http) => http,
        Err(e) => return fail(&format!("cannot build an HTTP client: {e}")),
    };
    // Fail fast, and clearly, when there is nothing to load.
    if let Err(why) = healthy(&http, &url).await {
        return fail(&why);
    }

    let deadline = match (args.count, args.duration) {
        (Some(_), _) => None,
        (None, d) => Some(Instant::now() + d.unwrap_or(Duration::from_secs(30))),
    };
    let progress = progress_bar(&args, deadline.is_some());
    let report: Report = Arc::default();
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (http, url, mix, report, issued, progress) = (
                http.clone(),
                url.clone(),
                args.mix.clone(),
                report.clone(),
                issued.clone(),
                progress.clone(),
            );
            let (count, mistake) = (args.count, mistake.clone());
            tokio::spawn(async move {
                loop {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if count.is_some_and(|c| n >= c) || deadline.is_some_and(|d| Instant::now() >= d) {
                        return;
                    }
                    let scenario = mix.pick().to_owned();
                    let (outcome, took, trace) = checkout(&http, &url, &scenario, &mistake, n).await;
                    record(&report, scenario, outcome, took, trace);
                    if deadline.is_none() {
                        progress.inc(1);
                    } else {
                        progress.set_position(started.elapsed().as_secs());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        if let Err(e) = worker.await {
            return fail(&format!("a worker failed: {e}"));
        }
    }
    progress.finish_and_clear();

    summary(&report, started.elapsed(), &url)
}

/// Prints the report's table; a failure when no request got an answer at all.
fn summary(report: &Report, elapsed: Duration, url: &str) -> ExitCode {
    let report = report.lock().unwrap_or_else(PoisonError::into_inner);
    print!("{}", table(&report, elapsed));
    let (requests, answered): (u64, u64) = report.values().fold((0, 0), |(r, a), s| {
        (
            r + s.requests,
            a + s.outcomes.iter().filter(|(k, _)| k.parse::<u16>().is_ok()).map(|(_, n)| n).sum::<u64>(),
        )
    });
    if requests > 0 && answered == 0 {
        eprintln!("loadgen: no request got an answer from {url}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `Err` with why, unless the gateway at `url` answers its health check.
async fn healthy(http: &reqwest::Client, url: &str) -> Result<(), String> {
    match http.get(format!("{url}/health")).timeout(Duration::from_secs(5)).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the gateway at {url} is not healthy: GET /health answered {}", r.status())),
        Err(e) => Err(format!("the gateway at {url} is unreachable: {e}")),
    }
}

/// Adds one checkout of `scenario` to the report: its outcome, its latency, and its trace (the
/// slowest sampled one is kept, to be named at the end).
fn record(report: &Report, scenario: String, outcome: String, took: Duration, trace: Option<Trace>) {
    let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
    let stats = report.entry(scenario).or_insert_with(Stats::new);
    stats.requests += 1;
    *stats.outcomes.entry(outcome).or_default() += 1;
    stats.latency_us.saturating_record(took.as_micros().max(1) as u64);
    match trace {
        Some(Trace { sampled: false, .. }) => stats.unsampled += 1,
        Some(Trace { id, sampled: true }) => {
            stats.sampled += 1;
            if stats.slowest.as_ref().is_none_or(|(slowest, _)| took > *slowest) {
                stats.slowest = Some((took, id));
            }
        }
        None => {}
    }
}

/// A checkout's trace, as its answer's `traceresponse` header says: its id, and whether it was
/// sampled (the flags' last bit), so kept and exported.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    id: String,
    sampled: bool,
}

/// One checkout: its outcome (status code, or why there was none), how long it took, and its
/// trace if the answer said.
async fn checkout(
    http: &reqwest::Client,
    url: &str,
    scenario: &str,
    mistake: &str,
    n: u64,
) -> (String, Duration, Option<Trace>) {
    let body = serde_json::json!({
        // One customer per request, so a pool-contention wait names whom it queued behind.
        "customer_id": format!("load-{n}"),
        "items": [{"sku": "sku-book", "quantity": 1}, {"sku": "sku-mug", "quantity": 2}, {"sku": "sku-sticker", "quantity": 3}],
        "card_token": "tok_visa"
    });
    let scenario: String = form_urlencoded::byte_serialize(scenario.as_bytes()).collect();
    let start = Instant::now();
    let result =
        http.post(format!("{url}/api/checkout?scenario={scenario}{mistake}")).json(&body).send().await;
    let (outcome, trace) = match result {
        Ok(response) => {
            let status = response.status().as_u16().to_string();
            let trace =
                response.headers().get("traceresponse").and_then(|v| v.to_str().ok()).and_then(trace_of);
            // Read the body: the request is complete only when the answer is.
            let _ = response.bytes().await;
            (status, trace)
        }
        Err(e) if e.is_timeout() => ("timeout".to_owned(), None),
        Err(_) => ("conn".to_owned(), None),
    };
    (outcome, start.elapsed(), trace)
}

/// The trace of a `traceresponse` value (`00-<32 hex>-<16 hex>-<2 hex>`), if it is one.
fn trace_of(traceresponse: &str) -> Option<Trace> {
    let mut parts = traceresponse.split('-');
    let (_version, id, _span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let flags = u8::from_str_radix(flags, 16).ok().filter(|_| flags.len() == 2 && hex(flags))?;
    (id.len() == 32 && hex(id)).then(|| Trace { id: id.to_owned(), sampled: flags & 1 == 1 })
}

fn progress_bar(args: &Args, timed: bool) -> ProgressBar {
    if args.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (length, template) = match (timed, args.count) {
        (false, Some(count)) => (count, "{bar:40} {pos}/{len} checkouts · {per_sec} · eta {eta}"),
        _ => (args.duration.unwrap_or(Duration::from_secs(30)).as_secs(), "{bar:40} {pos}/{len} s"),
    };
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn millis(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn table(report: &BTreeMap<String, Stats>, elapsed: Duration) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:>8} {:>7}  {:<22} {:>10} {:>10} {:>10}",
        "scenario", "requests", "errors", "outcomes", "p50", "p90", "p99"
    );
    let mut total = 0;
    for (name, stats) in report {
        total += stats.requests;
        let outcomes: Vec<String> = stats.outcomes.iter().map(|(k, n)| format!("{k}×{n}")).collect();
        let q = |p: f64| millis(stats.latency_us.value_at_quantile(p));
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>7}  {:<22} {:>10} {:>10} {:>10}",
            name,
            stats.requests,
            stats.errors(),
            outcomes.join(" "),
            q(0.50),
            q(0.90),
            q(0.99)
        );
    }
    let secs = elapsed.as_secs_f64().max(f64::EPSILON);
    let _ = writeln!(out, "{total} checkouts in {secs:.1} s: {:.1} per second", total as f64 / secs);
    let (sampled, unsampled) =
        report.values().fold((0, 0), |(s, u), stats| (s + stats.sampled, u + stats.unsampled));
    if unsampled > 0 {
        let _ = writeln!(out, "traces sampled (kept): {sampled} of {}", sampled + unsampled);
        for (name, stats) in report {
            let _ = writeln!(out, "  {name}: {} of {}", stats.sampled, stats.sampled + stats.unsampled);
        }
    }
    for (name, stats) in report {
        if let Some((took, trace_id)) = &stats.slowest {
            let _ = writeln!(out, "slowest {name}: {}, trace {trace_id}", millis(took.as_micros() as u64));
        }
    }
    out
}

fn fail(message: &str) -> ExitCode {
    eprintln!("loadgen: {message}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_parses_weights_and_picks_only_what_it_names() {
        let mix = parse_mix("happy=3, slow-db=1,card-declined=0").unwrap();
        assert_eq!(mix.0, [("happy".to_owned(), 3), ("slow-db".to_owned(), 1)]);
        for _ in 0..1_000 {
            assert!(["happy", "slow-db"].contains(&mix.pick()));
        }
        assert!(parse_mix("happy=x").is_err());
        assert!(parse_mix("happy=0").is_err());
        assert_eq!(parse_mix("happy").unwrap().0, [("happy".to_owned(), 1)]);
    }

    #[test]
    fn a_traceresponse_gives_its_trace_and_whether_it_was_sampled_and_anything_else_none() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let trace = |sampled| Some(Trace { id: id.to_owned(), sampled });
        assert_eq!(trace_of(&format!("00-{id}-00f067aa0ba902b7-01")), trace(true));
        assert_eq!(trace_of(&format!("00-{id}-00f067aa0ba902b7-03")), trace(true));
        assert_eq!(trace_of(&format!("00-{id}-00f067aa0ba902b7-00")), trace(false));
        assert_eq!(trace_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), None);
        assert_eq!(trace_of(&format!("00-{id}-00f067aa0ba902b7")), None);
        assert_eq!(trace_of("00-4bf92f35"), None);
        assert_eq!(trace_of(""), None);
    }

    #[test]
    fn the_table_names_each_scenarios_slowest_trace() {
        let mut report = BTreeMap::new();
        let mut stats = Stats::new();
        stats.requests = 1;
        stats.outcomes.insert("201".into(), 1);
        stats.latency_us.saturating_record(432_400);
        stats.slowest = Some((Duration::from_micros(432_400), "4bf92f3577b34da6a3ce929d0e0e4736".into()));
        report.insert("pool-contention".to_owned(), stats);
        let all_kept = table(&report, Duration::from_secs(1));
        assert!(
            all_kept.ends_with("slowest pool-contention: 432.4 ms, trace 4bf92f3577b34da6a3ce929d0e0e4736\n"),
            "{all_kept}"
        );
        assert!(!all_kept.contains("sampled"), "every trace kept: nothing to say\n{all_kept}");
        let outage = report.entry("stripe-outage".to_owned()).or_insert_with(Stats::new);
        (outage.sampled, outage.unsampled) = (2, 18);
        report.get_mut("pool-contention").unwrap().sampled = 1;
        let table = table(&report, Duration::from_secs(1));
        assert!(
            table.contains(
                "traces sampled (kept): 3 of 21\n  pool-contention: 1 of 1\n  stripe-outage: 2 of 20\n"
            ),
            "{table}"
        );
    }
}
