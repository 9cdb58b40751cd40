//! tracectl binary: parse the command line, run the command, print for people or (`--json`) for
//! programs. Every failure is one line on stderr and exit code 1.

use std::{io::IsTerminal as _, net::SocketAddr, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use serde::Serialize;
use tracectl::{
    analyze::analyze,
    jaeger::{DEFAULT_URL, Jaeger, SearchQuery},
    lint::{self, Thresholds},
    listen::{self, ListenOptions},
    report::{self, TraceSummary},
    trace::Trace,
    waterfall::{self, Options},
};

/// Read traces from the terminal: receive them (`listen`) or fetch them from Jaeger (`show`,
/// `analyze`, `search`, `services`, `operations`), draw them as waterfalls, and find where the time went.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Print JSON (one document; `listen` prints one line per trace) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive OTLP traces (as Jaeger does on 4318) and draw each one as a waterfall.
    Listen(ListenArgs),
    /// Fetch a trace from Jaeger (or a store file) and draw it as a waterfall.
    Show {
        /// The 32-hex-digit trace id (from a response's trace_id or a log line).
        trace_id: String,
        /// Also draw each span's events.
        #[arg(long)]
        events: bool,
        /// Also draw each span's attributes under it, and its events with theirs: every one, or
        /// those whose key starts with one of PREFIXES (`--attrs demo.,db.`).
        #[arg(long, value_name = "PREFIXES", num_args = 0..=1, default_missing_value = "")]
        attrs: Option<String>,
        /// Print the spans of this name whole (attributes, events, links, resource) instead of
        /// the waterfall.
        #[arg(long, value_name = "NAME")]
        span: Option<String>,
        /// While a span's parent is missing (the rest of a trace just made may still be on its
        /// way), ask again for up to this long, then draw what there is with a note.
        #[arg(long, default_value = "5s")]
        wait: humantime::Duration,
        #[command(flatten)]
        source: Source,
    },
    /// Fetch a trace from Jaeger (or a store file) and say where its time went.
    Analyze {
        /// The 32-hex-digit trace id.
        trace_id: String,
        /// While a span's parent is missing (the rest of a trace just made may still be on its
        /// way), ask again for up to this long, then draw what there is with a note.
        #[arg(long, default_value = "5s")]
        wait: humantime::Duration,
        #[command(flatten)]
        source: Source,
    },
    /// Compare two traces (from Jaeger, or a store file): their spans side by side, what only
    /// one has, errors, the bottleneck, self time per service, and a one-line verdict.
    Compare {
        /// The first trace (before), a 32-hex-digit trace id.
        a: String,
        /// The second trace (after).
        b: String,
        /// Also list each span's attributes, its value in A and in B (`A → B` where they differ):
        /// every one, or those whose key starts with one of PREFIXES (`--attrs http.request`).
        #[arg(long, value_name = "PREFIXES", num_args = 0..=1, default_missing_value = "")]
        attrs: Option<String>,
        #[command(flatten)]
        source: Source,
    },
    /// List the most recent traces through a service (up to --limit), from Jaeger or a store
    /// file, slowest first.
    Search {
        /// Traces that passed through this service.
        #[arg(long)]
        service: String,
        /// … and this operation (span name), e.g. "POST /api/checkout".
        #[arg(long)]
        operation: Option<String>,
        /// Only traces with a span of the service at least this long (e.g. 1s, 500ms, 250us).
        #[arg(long)]
        min_duration: Option<humantime::Duration>,
        /// How far back to look (e.g. 15m, 1h, 2d): 1h in Jaeger by default; in a --file, every
        /// trace unless given.
        #[arg(long)]
        lookback: Option<humantime::Duration>,
        /// Most traces to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only traces in which a span of the service failed (status ERROR): Jaeger's
        /// `error=true` search, so the --limit most recent failed traces are listed.
        #[arg(long)]
        errors: bool,
        #[command(flatten)]
        source: Source,
    },
    /// Find the symptoms of instrumentation mistakes (orphans, detached work, split traces, wrong
    /// parents, too many spans, ids in span names, unrecorded errors) and name each, with its
    /// spans and its likely cause; exit 1 when there are any, 0 when there are none.
    Lint {
        /// One trace (with --file, checked among the store's other traces); without it, every
        /// trace in --file, or the traces the --service searches find.
        trace_id: Option<String>,
        /// Search Jaeger for the traces through this service (repeat it for each service: a split
        /// trace's second half is found under the service that was called).
        #[arg(long)]
        service: Vec<String>,
        /// How far back to look (e.g. 15m, 1h): 1h in Jaeger by default; in a --file, every
        /// trace unless given.
        #[arg(long)]
        lookback: Option<humantime::Duration>,
        /// Most traces each search returns.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        thresholds: ThresholdArgs,
        #[command(flatten)]
        source: Source,
    },
    /// List the services Jaeger has seen.
    Services {
        #[command(flatten)]
        jaeger: JaegerArg,
    },
    /// List the operations (span names) Jaeger has seen for a service, with their span kinds.
    Operations {
        /// The service, e.g. gateway.
        #[arg(long)]
        service: String,
        /// Only operations of this span kind.
        #[arg(long, value_parser = ["server", "client", "internal", "producer", "consumer"])]
        span_kind: Option<String>,
        #[command(flatten)]
        jaeger: JaegerArg,
    },
}

/// `tracectl listen`'s arguments.
#[derive(Debug, clap::Args)]
struct ListenArgs {
    /// OTLP/HTTP address; point services at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://<addr>.
    #[arg(long, default_value = "127.0.0.1:4318", env = "TRACECTL_ADDR")]
    addr: SocketAddr,
    /// Also receive OTLP/gRPC here (e.g. 127.0.0.1:4317), for OTEL_EXPORTER_OTLP_PROTOCOL=grpc.
    #[arg(long)]
    grpc_addr: Option<SocketAddr>,
    /// Draw a trace once no span of it has arrived for this many milliseconds.
    #[arg(long, default_value_t = 1_500)]
    quiet_ms: u64,
    /// Most traces held while waiting for them to go quiet.
    #[arg(long, default_value_t = 1_000)]
    max_traces: usize,
    /// Also draw each span's events (log lines such as "Validating order").
    #[arg(long)]
    events: bool,
    /// Also draw each span's attributes under it, and its events with theirs: every one, or
    /// those whose key starts with one of PREFIXES (`--attrs demo.,db.`).
    #[arg(long, value_name = "PREFIXES", num_args = 0..=1, default_missing_value = "")]
    attrs: Option<String>,
    /// Also analyse each trace (critical path, self time, errors, gaps, lint's findings).
    #[arg(long)]
    analyze: bool,
    /// Also lint each trace (against the traces drawn before it), and exit 1 at the end
    /// if anything was found: see `tracectl lint --help`.
    #[arg(long)]
    lint: bool,
    #[command(flatten)]
    thresholds: ThresholdArgs,
    /// Draw nothing; at exit print how many spans and traces arrived (for benchmarks).
    #[arg(long, conflicts_with_all = ["events", "analyze", "lint"])]
    stats: bool,
    /// Also keep every export in FILE (OTLP/JSON lines, as the OTLP file exporter writes
    /// them), to read again with `show`, `analyze`, `compare` and `search --file FILE`.
    #[arg(long, value_name = "FILE")]
    store: Option<std::path::PathBuf>,
    /// The store's size cap, in MiB; past it the oldest exports are dropped.
    #[arg(long, default_value_t = tracectl::store::DEFAULT_MAX_BYTES >> 20, requires = "store")]
    store_max_mb: u64,
    /// Receive nothing: follow the traces this Jaeger receives, through its query API (for
    /// when Jaeger holds the OTLP ports), and draw each the same way.
    #[arg(long, value_name = "URL", conflicts_with_all = ["grpc_addr", "store", "stats"])]
    jaeger: Option<String>,
}

/// `lint`'s thresholds.
#[derive(Debug, clap::Args)]
struct ThresholdArgs {
    /// wrong-parent: how far a child may start before, or end after, its parent, in ms.
    #[arg(long, default_value_t = Thresholds::default().skew_allowance_nanos as f64 / 1e6)]
    skew_ms: f64,
    /// too-many-spans: a trace with more spans than this …
    #[arg(long, default_value_t = Thresholds::default().max_spans)]
    max_spans: usize,
    /// … when more than half of them are shorter than this, in ms.
    #[arg(long, default_value_t = Thresholds::default().short_span_nanos as f64 / 1e6)]
    short_ms: f64,
    /// unbounded-names: this many distinct names of one template (names that differ only in an
    /// id) are unbounded.
    #[arg(long, default_value_t = Thresholds::default().max_names_per_template)]
    max_names: usize,
}

impl ThresholdArgs {
    fn thresholds(&self) -> Thresholds {
        let nanos = |ms: f64| (ms.max(0.0) * 1e6) as u64;
        Thresholds {
            skew_allowance_nanos: nanos(self.skew_ms),
            max_spans: self.max_spans,
            short_span_nanos: nanos(self.short_ms),
            max_names_per_template: self.max_names.max(2),
        }
    }
}

#[derive(Debug, clap::Args)]
struct JaegerArg {
    /// Jaeger's query URL.
    #[arg(long = "jaeger", env = "JAEGER_URL", default_value = DEFAULT_URL)]
    url: String,
}

/// Where traces are read from: Jaeger, or a file `listen --store` wrote.
#[derive(Debug, clap::Args)]
struct Source {
    #[command(flatten)]
    jaeger: JaegerArg,
    /// Read traces from this store file (`tracectl listen --store FILE`) instead of Jaeger.
    #[arg(long, value_name = "FILE")]
    file: Option<std::path::PathBuf>,
}

impl Source {
    /// Trace `trace_id`, asked for again every [`POLL`] while a span's parent is missing (its
    /// exporter sends in batches, every few seconds: the rest of a trace just made may still be on
    /// its way), up to `wait`; then a note on stderr says what is missing.
    async fn whole_trace(&self, trace_id: &str, wait: Duration) -> Result<Trace, Box<dyn std::error::Error>> {
        let asked = std::time::Instant::now();
        loop {
            let trace = Trace::new(self.trace(trace_id).await?);
            let missing = trace.missing_parents();
            if missing.is_empty() {
                return Ok(trace);
            }
            if asked.elapsed() >= wait {
                let names: Vec<String> =
                    missing.iter().map(|s| format!("{} {}", s.service_name, s.name)).collect();
                eprintln!(
                    "note: {} span(s) of trace {} name a parent it does not hold ({}), after {} of \
                     waiting: it may still be on its way (run this again), or never come (a span that \
                     never ended: `tracectl lint` names it an orphan)",
                    missing.len(),
                    trace.trace_id,
                    names.join(", "),
                    humantime::format_duration(wait),
                );
                return Ok(trace);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The spans of one trace.
    async fn trace(&self, trace_id: &str) -> Result<Vec<tracectl::model::Span>, Box<dyn std::error::Error>> {
        Ok(match &self.file {
            Some(file) => tracectl::store::trace(file, trace_id)?,
            None => Jaeger::new(&self.jaeger.url)?.trace(trace_id).await?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // A closed stderr loses the log lines, and must not stop the receiver (tracing-subscriber says
    // so on stderr by default, which panics when stderr is gone).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        // `tracectl search | head -1`: the reader left, which is not our failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tracectl: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout, returning an error instead of panicking as `print!` does when the reader is
/// gone (a closed pipe).
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Colour only for a person at a terminal, and never when NO_COLOR is set.
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn print_json(value: &impl Serialize) -> Result<(), Box<dyn std::error::Error>> {
    emit(&format!("{}\n", serde_json::to_string_pretty(value)?))?;
    Ok(())
}

/// `--attrs`'s prefixes: `None` without the flag, an empty list (every attribute) with no value.
fn prefixes(attrs: Option<String>) -> Option<Vec<String>> {
    attrs.map(|list| list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
}

#[derive(Serialize)]
struct TraceJson<'a> {
    trace_id: &'a str,
    duration_nanos: u64,
    spans: &'a [tracectl::model::Span],
}

type Outcome = Result<ExitCode, Box<dyn std::error::Error>>;

/// Each command, given its arguments: the library does the work, these print it.
async fn run(cli: Cli) -> Outcome {
    let json = cli.json;
    match cli.command {
        Command::Listen(args) => listen(args, json).await,
        Command::Show { trace_id, events, attrs, span, wait, source } => {
            show(source.whole_trace(&trace_id, wait.into()).await?, events, attrs, span, json)
        }
        Command::Analyze { trace_id, wait, source } => {
            let trace = source.whole_trace(&trace_id, wait.into()).await?;
            let analysis = analyze(&trace);
            if json {
                print_json(&analysis)?;
            } else {
                let drawing = waterfall::render(&trace, Options { colour: colour(), ..Options::default() });
                emit(&format!("{drawing}\n{}", report::analysis_text(&analysis, colour())))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { a, b, attrs, source } => {
            let (a, b) = (Trace::new(source.trace(&a).await?), Trace::new(source.trace(&b).await?));
            let comparison = tracectl::compare::compare_with(&a, &b, prefixes(attrs).as_deref());
            if json {
                print_json(&comparison)?;
            } else {
                emit(&tracectl::compare::text(&comparison))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search { service, operation, min_duration, lookback, limit, errors, source } => {
            let query = SearchQuery {
                service,
                operation,
                min_duration: min_duration.map(Into::into),
                lookback: lookback.map_or(DEFAULT_LOOKBACK, Into::into),
                limit: limit.max(1),
                errors,
            };
            search(&query, lookback.map(Into::into), &source, json).await
        }
        Command::Lint { trace_id, service, lookback, limit, thresholds, source } => {
            let lookback = lookback.map(Into::into);
            lint(trace_id, service, lookback, limit, &thresholds.thresholds(), &source, json).await
        }
        Command::Services { jaeger } => services(&Jaeger::new(&jaeger.url)?, json).await,
        Command::Operations { service, span_kind, jaeger } => {
            operations(&Jaeger::new(&jaeger.url)?, &service, span_kind.as_deref(), json).await
        }
    }
}

/// `listen`: receive (or follow Jaeger) and draw; exit 1 when `--lint` found anything.
async fn listen(args: ListenArgs, json: bool) -> Outcome {
    let store = match &args.store {
        Some(path) => Some(
            tracectl::store::FileStore::open(path, args.store_max_mb.max(1) << 20)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let options = ListenOptions {
        addr: args.addr,
        grpc_addr: args.grpc_addr,
        quiet: Duration::from_millis(args.quiet_ms),
        max_traces: args.max_traces,
        events: args.events,
        attributes: prefixes(args.attrs),
        analyze: args.analyze,
        lint: args.lint.then(|| args.thresholds.thresholds()),
        colour: colour(),
        json,
        stats: args.stats,
        store,
        follow: args.jaeger.as_deref().map(Jaeger::new).transpose()?,
    };
    let found = listen::run(options, std::io::stdout(), shutdown_signal()).await?;
    Ok(if found > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `services`: the services Jaeger has seen, a line each.
async fn services(jaeger: &Jaeger, json: bool) -> Outcome {
    let services = jaeger.services().await?;
    if json {
        print_json(&services)?;
    } else {
        emit(&services.iter().map(|s| format!("{s}\n")).collect::<String>())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `operations`: a service's span names with their kinds, a line each.
async fn operations(jaeger: &Jaeger, service: &str, span_kind: Option<&str>, json: bool) -> Outcome {
    let operations = jaeger.operations(service, span_kind).await?;
    if json {
        print_json(&operations)?;
    } else if operations.is_empty() {
        emit(&format!("no operations found for {service}\n"))?;
    } else {
        let width = operations.iter().map(|o| o.span_kind.len()).max().unwrap_or(0);
        let lines = operations.iter().map(|o| format!("{:width$}  {}\n", o.span_kind, o.name));
        emit(&lines.collect::<String>())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `show`: the waterfall, or one span's every field (`--span`), or the trace as JSON.
fn show(trace: Trace, events: bool, attrs: Option<String>, span: Option<String>, json: bool) -> Outcome {
    let missing = |name: &str| format!("no span {name:?} in trace {}", trace.trace_id);
    match (span, json) {
        (Some(name), true) => {
            let spans: Vec<_> = trace.spans.iter().filter(|s| s.name == name).collect();
            if spans.is_empty() {
                return Err(missing(&name).into());
            }
            print_json(&spans)?;
        }
        (Some(name), false) => emit(&waterfall::span_text(&trace, &name).ok_or_else(|| missing(&name))?)?,
        (None, true) => {
            let spans = &trace.spans;
            print_json(&TraceJson {
                trace_id: &trace.trace_id,
                duration_nanos: trace.duration_nanos(),
                spans,
            })?;
        }
        (None, false) => {
            let options = Options { events, attributes: prefixes(attrs), colour: colour() };
            emit(&waterfall::render(&trace, options))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How often `show` and `analyze` ask again for a trace whose spans are still arriving.
const POLL: Duration = Duration::from_millis(250);

/// How far back a search of Jaeger looks when not told.
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(3600);

/// The spans of the store `file`, those of the traces started within `lookback` if given.
fn stored(file: &std::path::Path, lookback: Option<Duration>) -> Result<Vec<tracectl::model::Span>, String> {
    let spans = tracectl::store::read(file)?;
    Ok(match lookback {
        Some(lookback) => tracectl::store::within(spans, lookback, std::time::SystemTime::now()),
        None => spans,
    })
}

/// `search`: over a store file (within `lookback`, if given) or Jaeger, slowest first.
async fn search(query: &SearchQuery, lookback: Option<Duration>, source: &Source, json: bool) -> Outcome {
    let traces = match &source.file {
        Some(file) => query.over_store(stored(file, lookback)?),
        None => {
            let found = Jaeger::new(&source.jaeger.url)?.search(query).await?;
            if found.filtered_here {
                eprintln!(
                    "note: this Jaeger ignores the error filter (its HTTP API reads it from 2.19 on): \
                     shown are the failed traces among the newest {} it sent; raise --limit to look further back",
                    query.limit
                );
            }
            Trace::group(found.spans)
        }
    };
    let mut rows: Vec<TraceSummary> = traces.iter().map(TraceSummary::of).collect();
    rows.sort_by(|a, b| b.duration_nanos.cmp(&a.duration_nanos).then(a.trace_id.cmp(&b.trace_id)));
    if json {
        print_json(&rows)?;
    } else {
        emit(&report::search_text(&rows, colour()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lint`: one trace (among the others of its store), a whole store, or what Jaeger's searches for
/// `services` find; exit 1 when anything is found.
async fn lint(
    trace_id: Option<String>,
    services: Vec<String>,
    lookback: Option<Duration>,
    limit: usize,
    thresholds: &Thresholds,
    source: &Source,
    json: bool,
) -> Outcome {
    let trace_id = trace_id.as_deref().map(tracectl::jaeger::parse_trace_id).transpose()?;
    let spans = match (&trace_id, &source.file) {
        // One trace of a store is linted among the others (its split half, the request a
        // detached trace left): the findings that name it are reported.
        (Some(id), Some(file)) => {
            let spans = tracectl::store::read(file)?;
            if !spans.iter().any(|s| s.trace_id == *id) {
                return Err(format!("no trace {id} in {}", file.display()).into());
            }
            spans
        }
        (Some(id), None) => source.trace(id).await?,
        (None, Some(file)) => stored(file, lookback)?,
        (None, None) if services.is_empty() => {
            return Err("lint needs a trace id, --file FILE, or --service SERVICE to search".into());
        }
        (None, None) => {
            let lookback = lookback.unwrap_or(DEFAULT_LOOKBACK);
            Jaeger::new(&source.jaeger.url)?.spans_of(services, lookback, limit.max(1)).await?
        }
    };
    let traces = Trace::group(spans);
    let (findings, linted) = match &trace_id {
        Some(id) => (lint::lint_naming(&traces, id, thresholds), 1),
        None => (lint::lint(&traces, thresholds), traces.len()),
    };
    if json {
        print_json(&findings)?;
    } else {
        emit(&lint::text(&findings, linted))?;
    }
    Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal arriving in between cannot kill the process before it prints what
/// it holds.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                },
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
