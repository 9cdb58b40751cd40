//! Drawing one trace as a waterfall: the span tree, indented, with each span's service, name,
//! duration and a bar on a time axis shared by the whole trace.
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · 9 spans · 4 services · 287.4 ms
//! gateway          POST /api/checkout           287.4 ms │████████████████████████████████████████│
//! gateway          └─ POST /orders              285.1 ms │███████████████████████████████████████▏│
//! ```
//!
//! Spans whose parent never arrived (lost, sampled out, or still in flight) are not dropped: they
//! are drawn as extra roots marked `(orphan)`, because a missing parent is itself worth seeing.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::model::{Span, StatusCode};

/// Width of the time bar, in characters.
const BAR_WIDTH: usize = 40;

/// Options for [`render`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also list each span's events under it.
    pub events: bool,
}

/// A span and its children, ordered by start time.
struct Node<'a> {
    span: &'a Span,
    orphan: bool,
    children: Vec<Node<'a>>,
}

/// Builds the span forest of one trace: true roots first, then orphans, each level by start time.
fn forest(spans: &[Span]) -> Vec<Node<'_>> {
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        match span.parent_span_id.as_deref() {
            Some(parent) if ids.contains(parent) && parent != span.span_id => {
                children.entry(parent).or_default().push(span)
            }
            Some(_) => roots.push((span, true)),
            None => roots.push((span, false)),
        }
    }
    fn build<'a>(span: &'a Span, orphan: bool, children: &mut HashMap<&str, Vec<&'a Span>>) -> Node<'a> {
        let mut kids = children.remove(span.span_id.as_str()).unwrap_or_default();
        kids.sort_by_key(|s| (s.start_unix_nano, s.end_unix_nano));
        Node { span, orphan, children: kids.into_iter().map(|k| build(k, false, children)).collect() }
    }
    roots.sort_by_key(|(s, orphan)| (*orphan, s.start_unix_nano));
    let mut forest: Vec<Node<'_>> =
        roots.into_iter().map(|(s, orphan)| build(s, orphan, &mut children)).collect();
    // Whatever is left sits in a parent cycle (malformed input): show it rather than lose it.
    let mut leftover: Vec<&Span> = children.into_values().flatten().collect();
    leftover.sort_by_key(|s| s.start_unix_nano);
    forest.extend(leftover.into_iter().map(|s| Node { span: s, orphan: true, children: Vec::new() }));
    forest
}

/// Milliseconds with one decimal.
fn millis(nanos: u64) -> String {
    format!("{:.1} ms", nanos as f64 / 1e6)
}

/// Renders a trace (all spans share one trace id) as text.
pub fn render(spans: &[Span], options: Options) -> String {
    let mut out = String::new();
    let Some(first) = spans.first() else {
        return out;
    };
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start).max(start);
    let total = (end - start).max(1);
    let mut services: Vec<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let errors = spans.iter().filter(|s| s.status == StatusCode::Error).count();
    let _ = write!(
        out,
        "trace {} · {} spans · {} services · {}",
        first.trace_id,
        spans.len(),
        services.len(),
        millis(end - start)
    );
    if errors > 0 {
        let _ = write!(out, " · {errors} error{}", if errors == 1 { "" } else { "s" });
    }
    out.push('\n');

    let service_width = services.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(7);
    let mut rows = Vec::new();
    for root in forest(spans) {
        walk(&root, "", "", &mut rows);
    }
    let name_width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    for (label, span) in rows {
        let _ = write!(
            out,
            "{:<service_width$}  {:<name_width$}  {:>10} │{}│",
            span.service_name,
            label,
            millis(span.duration_nanos()),
            bar(span, start, total)
        );
        if span.status == StatusCode::Error {
            let _ = write!(out, " ✗ ERROR");
            if !span.status_message.is_empty() {
                let _ = write!(out, ": {}", span.status_message);
            }
        }
        out.push('\n');
        if options.events {
            for event in &span.events {
                let at = event.time_unix_nano.saturating_sub(span.start_unix_nano);
                let _ = writeln!(
                    out,
                    "{:<service_width$}  {:>name_width$}  +{} {}",
                    "",
                    "·",
                    millis(at),
                    event.name
                );
            }
        }
    }
    out
}

fn walk<'a>(node: &Node<'a>, prefix: &str, child_prefix: &str, rows: &mut Vec<(String, &'a Span)>) {
    let orphan = if node.orphan { " (orphan)" } else { "" };
    rows.push((format!("{prefix}{}{orphan}", node.span.name), node.span));
    let count = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == count;
        let branch = if last { "└─ " } else { "├─ " };
        let next = if last { "   " } else { "│  " };
        walk(child, &format!("{child_prefix}{branch}"), &format!("{child_prefix}{next}"), rows);
    }
}

/// The span's bar: blanks before its start, a block for its duration (at least one), blanks after.
fn bar(span: &Span, trace_start: u64, total: u64) -> String {
    let scale =
        |t: u64| ((t.saturating_sub(trace_start)) as u128 * BAR_WIDTH as u128 / total as u128) as usize;
    let from = scale(span.start_unix_nano).min(BAR_WIDTH - 1);
    let to = scale(span.end_unix_nano).clamp(from + 1, BAR_WIDTH);
    format!("{}{}{}", " ".repeat(from), "█".repeat(to - from), " ".repeat(BAR_WIDTH - to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use std::collections::BTreeMap;

    pub(crate) fn span(
        id: &str,
        parent: Option<&str>,
        service: &str,
        name: &str,
        start_ms: u64,
        end_ms: u64,
    ) -> Span {
        Span {
            trace_id: "t".repeat(32),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            kind: Kind::Internal,
            service_name: service.into(),
            start_unix_nano: start_ms * 1_000_000,
            end_unix_nano: end_ms * 1_000_000,
            attributes: BTreeMap::new(),
            resource: BTreeMap::new(),
            events: Vec::new(),
            status: StatusCode::Unset,
            status_message: String::new(),
        }
    }

    #[test]
    fn children_are_indented_under_their_parent_in_start_order() {
        let spans = vec![
            span("c2", Some("root"), "order", "second", 50, 100),
            span("root", None, "gateway", "POST /api/checkout", 0, 100),
            span("c1", Some("root"), "order", "first", 0, 40),
            span("g1", Some("c1"), "payment", "grandchild", 10, 20),
        ];
        let text = render(&spans, Options::default());
        let rows: Vec<&str> = text.lines().skip(1).collect();
        let labels = [
            "gateway  POST /api/checkout",
            "order    ├─ first ",
            "payment  │  └─ grandchild",
            "order    └─ second ",
        ];
        assert_eq!(rows.len(), labels.len(), "{text}");
        for (row, label) in rows.iter().zip(labels) {
            assert!(row.starts_with(label), "{row:?} should start with {label:?}");
        }
        assert!(text.starts_with(&format!("trace {} · 4 spans · 3 services · 100.0 ms", "t".repeat(32))));
    }

    #[test]
    fn bars_share_one_time_axis() {
        let spans = vec![
            span("root", None, "s", "root", 0, 100),
            span("late", Some("root"), "s", "late half", 50, 100),
        ];
        let text = render(&spans, Options::default());
        let bars: Vec<&str> = text.lines().skip(1).map(|l| l.split('│').nth(1).unwrap()).collect();
        assert_eq!(bars[0], "█".repeat(40));
        assert_eq!(bars[1], format!("{}{}", " ".repeat(20), "█".repeat(20)));
    }

    #[test]
    fn spans_whose_parent_is_missing_are_shown_as_orphans_not_dropped() {
        let spans =
            vec![span("root", None, "s", "root", 0, 10), span("x", Some("gone"), "s", "lost child", 2, 5)];
        let text = render(&spans, Options::default());
        assert!(text.contains("lost child (orphan)"), "{text}");
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn errors_are_marked_and_counted() {
        let mut failed = span("root", None, "s", "root", 0, 10);
        failed.status = StatusCode::Error;
        failed.status_message = "payment-service is unreachable".into();
        let text = render(&[failed], Options::default());
        assert!(text.lines().next().unwrap().ends_with("· 1 error"));
        assert!(text.contains("✗ ERROR: payment-service is unreachable"));
    }

    #[test]
    fn a_parent_cycle_is_shown_not_lost() {
        let spans = vec![span("a", Some("b"), "s", "a", 0, 10), span("b", Some("a"), "s", "b", 0, 10)];
        assert_eq!(render(&spans, Options::default()).lines().count(), 3);
    }
}
