//! Text for people: an [`Analysis`] and a list of traces, as a terminal shows them. (`--json`
//! prints the same data with serde instead.)

use std::{
    fmt::Write as _,
    time::{Duration, UNIX_EPOCH},
};

use serde::Serialize;

use crate::{analyze::Analysis, model::StatusCode, trace::Trace};

/// Milliseconds with one decimal: `287.4 ms`.
pub fn millis(nanos: u64) -> String {
    format!("{:.1} ms", nanos as f64 / 1e6)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn bold(colour: bool, text: &str) -> String {
    if colour { format!("\x1b[1m{text}\x1b[0m") } else { text.to_owned() }
}

/// How many rows the self-time and bottleneck tables show.
const TOP: usize = 8;

/// A step shorter than this prints as `0.0 ms`.
const SLIVER_NANOS: u64 = 50_000;

/// The critical path as listed: a step that would print as `0.0 ms` (a parent's sliver between two
/// children, say) is folded into the step after it, or the one before it at the end, so every line
/// says something and the steps still add up to the trace.
fn listed(path: &[crate::analyze::Section]) -> Vec<(u64, u64, &crate::model::SpanRef)> {
    let mut steps: Vec<(u64, u64, &crate::model::SpanRef)> = Vec::with_capacity(path.len());
    let mut carried: Option<u64> = None;
    for (n, s) in path.iter().enumerate() {
        let last = n + 1 == path.len();
        if s.end_nanos - s.start_nanos < SLIVER_NANOS && (!last || !steps.is_empty()) {
            match steps.last_mut() {
                Some(previous) if last => previous.1 = s.end_nanos,
                _ => carried = Some(carried.unwrap_or(s.start_nanos)),
            }
            continue;
        }
        steps.push((carried.take().unwrap_or(s.start_nanos), s.end_nanos, &s.span));
    }
    steps
}

/// The analysis as text.
pub fn analysis_text(a: &Analysis, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        bold(colour, &format!("analysis of trace {} ({})", a.trace_id, millis(a.duration_nanos)))
    );

    let _ = writeln!(out, "\ncritical path, in time order (what the end of the trace waited for):");
    let width = a.critical_path.iter().map(|s| s.span.service.len()).max().unwrap_or(0);
    for (start, end, span) in listed(&a.critical_path) {
        let _ = writeln!(
            out,
            "  {:>10} → {:>10}  {:>10}  {:<width$}  {}",
            millis(start),
            millis(end),
            millis(end - start),
            span.service,
            span.name
        );
    }

    let table = |out: &mut String, title: &str, rows: &[crate::analyze::Share]| {
        let _ = writeln!(out, "\n{title}:");
        let width = rows.iter().take(TOP).map(|r| r.name.chars().count()).max().unwrap_or(0);
        for r in rows.iter().take(TOP) {
            let _ = writeln!(out, "  {:<width$}  {:>10}  {:>6}", r.name, millis(r.nanos), percent(r.share));
        }
    };
    table(&mut out, "bottlenecks (time on the critical path)", &a.bottlenecks);
    table(&mut out, "self time by service (time not covered by a child span)", &a.self_time_by_service);
    table(&mut out, "self time by operation", &a.self_time_by_operation);

    let _ = writeln!(out);
    errors_and_gaps(&mut out, a);
    if a.orphans > 0 {
        let _ = writeln!(
            out,
            "orphans: {} span(s) whose parent is missing (lost, unsampled or not yet exported)",
            a.orphans
        );
    }
    let _ = write!(out, "\n{}", crate::lint::text(&a.lint, 1));
    out
}

/// Where errors began, and the untraced gaps: the analysis's last two parts.
fn errors_and_gaps(out: &mut String, a: &Analysis) {
    if a.error_origins.is_empty() {
        let _ = writeln!(out, "errors: none");
    } else {
        let _ = writeln!(out, "error origin (deepest failing spans whose children are fine):");
        for e in &a.error_origins {
            let kind = e.error_type.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default();
            let message = if e.message.is_empty() { String::new() } else { format!(": {}", e.message) };
            let _ = writeln!(out, "  {} {}{kind}{message}", e.span.service, e.span.name);
        }
    }

    if a.gaps.is_empty() {
        let _ = writeln!(out, "untraced gaps: none of 1 ms or more");
    } else {
        let _ = writeln!(
            out,
            "untraced gaps (time inside a span that no child covers: network, queueing, or uninstrumented work):"
        );
        for g in a.gaps.iter().take(TOP) {
            let _ = writeln!(
                out,
                "  {:>10} at {:>10}  in {} {}",
                millis(g.nanos),
                millis(g.start_nanos),
                g.span.service,
                g.span.name
            );
        }
    }
}

/// One line of `tracectl search`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceSummary {
    /// The trace id.
    pub trace_id: String,
    /// The root span's service.
    pub root_service: String,
    /// The root span's operation.
    pub root_operation: String,
    /// When it started (RFC 3339, UTC).
    pub start: String,
    /// From first start to last end, in nanoseconds.
    pub duration_nanos: u64,
    /// Number of spans.
    pub spans: usize,
    /// Whether any span has status ERROR.
    pub error: bool,
}

impl TraceSummary {
    /// Summarises an assembled trace.
    pub fn of(trace: &Trace) -> Self {
        let root = trace.root().map(|r| &trace.spans[r]);
        let start = UNIX_EPOCH + Duration::from_nanos(trace.start());
        Self {
            trace_id: trace.trace_id.clone(),
            root_service: root.map(|s| s.service_name.clone()).unwrap_or_default(),
            root_operation: root.map(|s| s.name.clone()).unwrap_or_default(),
            start: humantime::format_rfc3339_millis(start).to_string(),
            duration_nanos: trace.duration_nanos(),
            spans: trace.spans.len(),
            error: trace.spans.iter().any(|s| s.status == StatusCode::Error),
        }
    }
}

/// The search results as a table.
pub fn search_text(rows: &[TraceSummary], colour: bool) -> String {
    if rows.is_empty() {
        return "no traces found\n".to_owned();
    }
    let width = rows.iter().map(|r| r.root_service.len() + 1 + r.root_operation.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32}  {:<width$}  {:<24}  {:>10}  {:>5}  error",
        "trace id", "root", "start", "duration", "spans"
    );
    for r in rows {
        let root = format!("{} {}", r.root_service, r.root_operation);
        let error = if r.error { if colour { "\x1b[1;31myes\x1b[0m" } else { "yes" } } else { "" };
        let _ = writeln!(
            out,
            "{:<32}  {:<width$}  {:<24}  {:>10}  {:>5}  {error}",
            r.trace_id,
            root,
            r.start,
            millis(r.duration_nanos),
            r.spans
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze::analyze, trace::tests::span};

    #[test]
    fn millis_have_one_decimal() {
        assert_eq!(millis(287_449_000), "287.4 ms");
        assert_eq!(millis(0), "0.0 ms");
    }

    #[test]
    fn the_analysis_text_lists_the_path_tables_errors_and_gaps() {
        let mut failing = span("c", Some("r"), "backend", "call", 10, 30);
        failing.status = StatusCode::Error;
        failing.status_message = "boom".into();
        let text = analysis_text(
            &analyze(&Trace::new(vec![span("r", None, "front", "root", 0, 40), failing])),
            false,
        );
        assert!(text.contains("critical path"), "{text}");
        assert!(text.contains("backend  call"), "{text}");
        assert!(text.contains("front root") && text.contains("50.0%"), "{text}");
        assert!(text.contains("  backend call: boom"), "{text}");
        assert!(text.contains("10.0 ms at     0.0 ms  in front root"), "{text}");
    }

    #[test]
    fn the_critical_path_listing_folds_steps_that_would_print_as_zero_into_their_neighbours() {
        // The root's slivers before, between and after its two children: 10 µs each.
        let micros = |mut s: crate::model::Span, start: u64, end: u64| {
            (s.start_unix_nano, s.end_unix_nano) = (start * 1_000, end * 1_000);
            s
        };
        let spans = vec![
            micros(span("r", None, "front", "root", 0, 0), 0, 100_030),
            micros(span("a", Some("r"), "back", "first", 0, 0), 10, 50_010),
            micros(span("b", Some("r"), "back", "second", 0, 0), 50_020, 100_020),
        ];
        let analysis = analyze(&Trace::new(spans));
        assert_eq!(analysis.critical_path.len(), 5, "root, first, root, second, root");
        let text = analysis_text(&analysis, false);
        let steps: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("critical path"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(steps.len(), 2, "{text}");
        assert!(!text.contains(" 0.0 ms  front"), "{text}");
        let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(steps[0]), "0.0 ms → 50.0 ms 50.0 ms back first", "{text}");
        assert_eq!(words(steps[1]), "50.0 ms → 100.0 ms 50.0 ms back second", "{text}");
    }

    #[test]
    fn a_summary_names_the_root_and_flags_errors() {
        let mut s = span("c", Some("r"), "b", "child", 5, 10);
        s.status = StatusCode::Error;
        let summary =
            TraceSummary::of(&Trace::new(vec![span("r", None, "gateway", "POST /api/checkout", 0, 20), s]));
        assert_eq!(
            (summary.root_service.as_str(), summary.root_operation.as_str()),
            ("gateway", "POST /api/checkout")
        );
        assert!(summary.error);
        assert_eq!(summary.start, "1970-01-01T00:00:00.000Z");
        assert!(search_text(&[summary], false).contains("gateway POST /api/checkout"));
    }
}
