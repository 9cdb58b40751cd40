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
//! are drawn as extra roots marked `(orphan)`, because a missing parent is itself worth seeing
//! (or `(from a remote caller)`, when OTLP's span flags say the parent is in another process: a
//! caller that sent `traceparent` and exports elsewhere).
//!
//! As in Jaeger's trace view, the critical path is marked: a bar is `█` where its span is what the
//! end of the trace was waiting for, and `░` where the span ran but something else was (a parent
//! waiting on a child, a call running beside a slower one). See [`crate::analyze`].

use std::{collections::BTreeMap, fmt::Write as _};

use crate::{
    model::{Span, StatusCode, Value},
    report::millis,
    trace::Trace,
};

/// Width of the time bar, in characters.
const BAR_WIDTH: usize = 40;

/// Options for [`render`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also list each span's events under it.
    pub events: bool,
    /// Also list each span's attributes under it (and its events, with theirs): those whose key
    /// starts with one of these prefixes, every one when the list is empty. `None`: no attributes.
    pub attributes: Option<Vec<String>>,
    /// Use ANSI colours (for a terminal; never when piped).
    pub colour: bool,
}

/// ANSI styles, applied only when [`Options::colour`] is set.
#[derive(Debug, Clone, Copy)]
struct Paint {
    on: bool,
}

impl Paint {
    /// Bar colours, one per service in order of appearance.
    const SERVICE: [&'static str; 6] =
        ["\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[96m"];
    const RED: &'static str = "\x1b[1;31m";
    const DIM: &'static str = "\x1b[2m";
    const RESET: &'static str = "\x1b[0m";

    fn wrap(&self, style: &str, text: &str) -> String {
        if self.on { format!("{style}{text}{}", Self::RESET) } else { text.to_owned() }
    }
}

/// Renders a trace as text: a header line, then one row per span in tree order.
pub fn render(trace: &Trace, options: Options) -> String {
    let paint = Paint { on: options.colour };
    if trace.spans.is_empty() {
        return String::new();
    }
    let mut out = header(trace, paint);
    let path = crate::analyze::critical_path(trace);
    let mut rows = Vec::new();
    for &root in &trace.roots {
        walk(trace, root, "", "", &mut rows);
    }
    // Colours follow the order services first appear in the tree.
    let mut order: Vec<&str> = Vec::new();
    for (_, i) in &rows {
        let name = trace.spans[*i].service_name.as_str();
        if !order.contains(&name) {
            order.push(name);
        }
    }
    let layout = Layout {
        service_width: trace.services().iter().map(|s| s.chars().count()).max().unwrap_or(0).max(7),
        name_width: rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0),
        start: trace.start(),
        total: (trace.end() - trace.start()).max(1),
    };
    for (label, i) in rows {
        let colour = order.iter().position(|s| *s == trace.spans[i].service_name).unwrap_or(0);
        row(&mut out, trace, i, &label, colour % Paint::SERVICE.len(), &path, &layout, paint);
        details(&mut out, &trace.spans[i], &layout, &options, paint);
    }
    if !trace.skew_adjustments.is_empty() {
        let note = format!(
            "(clock skew: {} span subtree(s) shifted to fit inside their calls)",
            trace.skew_adjustments.len()
        );
        let _ = writeln!(out, "{}", paint.wrap(Paint::DIM, &note));
    }
    out
}

/// The widths and the time scale every row of one waterfall shares.
struct Layout {
    service_width: usize,
    name_width: usize,
    start: u64,
    total: u64,
}

/// The first line: the trace id, its spans, services and duration, its errors, the legend.
fn header(trace: &Trace, paint: Paint) -> String {
    let (span_count, service_count) = (trace.spans.len(), trace.services().len());
    let errors = trace.spans.iter().filter(|s| s.status == StatusCode::Error).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut out = format!(
        "trace {} · {span_count} span{} · {service_count} service{} · {}",
        trace.trace_id,
        plural(span_count),
        plural(service_count),
        millis(trace.end() - trace.start())
    );
    if errors > 0 {
        out.push_str(&paint.wrap(Paint::RED, &format!(" · {errors} error{}", plural(errors))));
    }
    out.push_str(&paint.wrap(Paint::DIM, " · █ critical path"));
    out.push('\n');
    out
}

/// One span's row: its service, its place in the tree, its duration, its bar, its error.
#[allow(clippy::too_many_arguments)] // one row's parts, each computed once for the whole drawing
fn row(
    out: &mut String,
    trace: &Trace,
    i: usize,
    label: &str,
    colour: usize,
    path: &[(usize, u64, u64)],
    layout: &Layout,
    paint: Paint,
) {
    let span = &trace.spans[i];
    let (service_width, name_width) = (layout.service_width, layout.name_width);
    let service = format!("{:<service_width$}", span.service_name);
    let _ = write!(
        out,
        "{}  {label:<name_width$}  {:>10} │{}│",
        paint.wrap(Paint::SERVICE[colour], &service),
        millis(span.duration_nanos()),
        paint.wrap(Paint::SERVICE[colour], &bar(span, i, path, layout.start, layout.total))
    );
    if span.status == StatusCode::Error {
        let mut mark = " ✗ ERROR".to_owned();
        if !span.status_message.is_empty() {
            let _ = write!(mark, ": {}", span.status_message);
        }
        out.push_str(&paint.wrap(Paint::RED, &mark));
    }
    out.push('\n');
}

/// Under a row: its links (always: they say what a tree cannot, that this span continues another
/// trace's work), and, when asked, its attributes and its events.
fn details(out: &mut String, span: &Span, layout: &Layout, options: &Options, paint: Paint) {
    let (service_width, name_width) = (layout.service_width, layout.name_width);
    let indent = format!("{:<service_width$}  {:>name_width$}  ", "", "·");
    for link in &span.links {
        let why: Vec<String> =
            link.attributes.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect();
        let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
        let line = format!("{indent}↪ linked to trace {} span {}{why}", link.trace_id, link.span_id);
        let _ = writeln!(out, "{}", paint.wrap(Paint::DIM, &line));
    }
    if let Some(prefixes) = &options.attributes {
        for line in attribute_lines(&span.attributes, prefixes) {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    if options.events || options.attributes.is_some() {
        for event in &span.events {
            let at = event.time_unix_nano.saturating_sub(span.start_unix_nano);
            let line = format!("{indent}+{} {}", millis(at), event.name);
            let _ = writeln!(out, "{}", paint.wrap(Paint::DIM, &line));
            for line in options.attributes.iter().flat_map(|p| attribute_lines(&event.attributes, p)) {
                let _ = writeln!(out, "{}", paint.wrap(Paint::DIM, &format!("{indent}    {line}")));
            }
        }
    }
}

/// `key = value` lines for the attributes whose key starts with one of `prefixes` (all, for none),
/// keys padded to one width; a string as it is, any other value as JSON.
fn attribute_lines(attributes: &BTreeMap<String, Value>, prefixes: &[String]) -> Vec<String> {
    let shown: Vec<(&String, &Value)> =
        attributes.iter().filter(|(key, _)| selected(key, prefixes)).collect();
    let width = shown.iter().map(|(key, _)| key.chars().count()).max().unwrap_or(0);
    shown.into_iter().map(|(key, value)| format!("{key:<width$} = {}", value_text(value))).collect()
}

/// Whether `--attrs PREFIXES` shows the attribute `key`: every one for no prefix.
pub(crate) fn selected(key: &str, prefixes: &[String]) -> bool {
    prefixes.is_empty() || prefixes.iter().any(|p| key.starts_with(p.as_str()))
}

/// A value as a reader wants it: a string as it is, anything else as JSON.
pub(crate) fn value_text(value: &Value) -> String {
    value.as_str().map_or_else(|| serde_json::to_string(value).unwrap_or_default(), str::to_owned)
}

/// Every span of `trace` named `name`, whole: what it is, where, when, how it ended, its
/// attributes, events, links and resource. `None` when no span has that name.
pub fn span_text(trace: &Trace, name: &str) -> Option<String> {
    let spans: Vec<&Span> = trace.spans.iter().filter(|s| s.name == name).collect();
    if spans.is_empty() {
        return None;
    }
    let start = trace.start();
    let mut out = String::new();
    for span in spans {
        let _ =
            writeln!(out, "{} {:?} ({:?} span {})", span.service_name, span.name, span.kind, span.span_id);
        let parent = span.parent_span_id.as_deref().map_or_else(
            || "none (the root)".to_owned(),
            |p| if span.parent_is_remote { format!("{p} (in the caller)") } else { p.to_owned() },
        );
        let _ = writeln!(out, "  trace      {}", span.trace_id);
        let _ = writeln!(out, "  parent     {parent}");
        let at = span.start_unix_nano.saturating_sub(start);
        let _ = writeln!(out, "  time       +{}, {}", millis(at), millis(span.duration_nanos()));
        let status = match span.status {
            StatusCode::Unset => "unset".to_owned(),
            StatusCode::Ok => "ok".to_owned(),
            StatusCode::Error if span.status_message.is_empty() => "error".to_owned(),
            StatusCode::Error => format!("error: {}", span.status_message),
        };
        let _ = writeln!(out, "  status     {status}");
        let section = |out: &mut String, title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                let _ = writeln!(out, "  {title}");
                for line in lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        };
        section(&mut out, "attributes", attribute_lines(&span.attributes, &[]));
        let mut events = Vec::new();
        for event in &span.events {
            events.push(format!(
                "+{} {}",
                millis(event.time_unix_nano.saturating_sub(span.start_unix_nano)),
                event.name
            ));
            events.extend(attribute_lines(&event.attributes, &[]).into_iter().map(|l| format!("    {l}")));
        }
        section(&mut out, "events", events);
        let links = span.links.iter().map(|l| format!("trace {} span {}", l.trace_id, l.span_id)).collect();
        section(&mut out, "links", links);
        section(&mut out, "resource", attribute_lines(&span.resource, &[]));
    }
    Some(out)
}

fn walk(trace: &Trace, i: usize, prefix: &str, child_prefix: &str, rows: &mut Vec<(String, usize)>) {
    // A missing parent in the caller's process is where the trace came from, not a lost span.
    let orphan = match (trace.orphan[i], trace.spans[i].parent_is_remote) {
        (false, _) => "",
        (true, true) => " (from a remote caller)",
        (true, false) => " (orphan)",
    };
    rows.push((format!("{prefix}{}{orphan}", trace.spans[i].name), i));
    let count = trace.children[i].len();
    for (n, &child) in trace.children[i].iter().enumerate() {
        let last = n + 1 == count;
        let branch = if last { "└─ " } else { "├─ " };
        let next = if last { "   " } else { "│  " };
        walk(trace, child, &format!("{child_prefix}{branch}"), &format!("{child_prefix}{next}"), rows);
    }
}

/// The span's bar: blanks before its start, a block for its duration (at least one), blanks after.
/// The span's bar: `█` for the cells whose middle falls in one of its critical-path sections,
/// `░` for the rest of it.
fn bar(span: &Span, index: usize, path: &[(usize, u64, u64)], trace_start: u64, total: u64) -> String {
    let scale =
        |t: u64| ((t.saturating_sub(trace_start)) as u128 * BAR_WIDTH as u128 / total as u128) as usize;
    let from = scale(span.start_unix_nano).min(BAR_WIDTH - 1);
    let to = scale(span.end_unix_nano).clamp(from + 1, BAR_WIDTH);
    let on_path = |cell: usize| {
        let middle = trace_start + ((2 * cell as u128 + 1) * total as u128 / (2 * BAR_WIDTH as u128)) as u64;
        path.iter().any(|&(i, s, e)| i == index && s <= middle && middle < e)
    };
    let cells: String = (from..to).map(|cell| if on_path(cell) { '█' } else { '░' }).collect();
    format!("{}{cells}{}", " ".repeat(from), " ".repeat(BAR_WIDTH - to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests::span;

    fn draw(spans: Vec<Span>) -> String {
        render(&Trace::new(spans), Options::default())
    }

    #[test]
    fn children_are_indented_under_their_parent_in_start_order() {
        let spans = vec![
            span("c2", Some("root"), "order", "second", 50, 100),
            span("root", None, "gateway", "POST /api/checkout", 0, 100),
            span("c1", Some("root"), "order", "first", 0, 40),
            span("g1", Some("c1"), "payment", "grandchild", 10, 20),
        ];
        let text = draw(spans);
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
        assert!(text.starts_with(&format!("trace {} · 4 spans · 3 services · 100.0 ms", "ab".repeat(16))));
        let lone = draw(vec![span("root", None, "order", "sales_report", 0, 100)]);
        assert!(
            lone.starts_with(&format!("trace {} · 1 span · 1 service · 100.0 ms", "ab".repeat(16))),
            "{lone}"
        );
    }

    #[test]
    fn bars_share_one_time_axis() {
        let spans = vec![
            span("root", None, "s", "root", 0, 100),
            span("late", Some("root"), "s", "late half", 50, 100),
        ];
        let text = draw(spans);
        let bars: Vec<&str> = text.lines().skip(1).map(|l| l.split('│').nth(1).unwrap()).collect();
        // The root is on the critical path until the child starts; then the child is.
        assert_eq!(bars[0], format!("{}{}", "█".repeat(20), "░".repeat(20)));
        assert_eq!(bars[1], format!("{}{}", " ".repeat(20), "█".repeat(20)));
    }

    #[test]
    fn the_critical_path_is_solid_and_work_in_the_shadow_of_slower_work_is_light() {
        // Two calls at once: the slower one is what the root waits for.
        let spans = vec![
            span("root", None, "s", "root", 0, 100),
            span("slow", Some("root"), "s", "slow", 0, 100),
            span("fast", Some("root"), "s", "fast", 0, 50),
        ];
        let text = draw(spans);
        assert!(text.lines().next().unwrap().ends_with("█ critical path"), "{text}");
        let bar = |name: &str| {
            let line = text.lines().find(|l| l.contains(name)).unwrap();
            line.split('│').nth(1).unwrap().to_owned()
        };
        assert_eq!(bar("slow"), "█".repeat(40));
        assert_eq!(bar("fast"), format!("{}{}", "░".repeat(20), " ".repeat(20)));
        assert_eq!(bar("root"), "░".repeat(40), "the root only waited");
    }

    #[test]
    fn spans_whose_parent_is_missing_are_shown_as_orphans_not_dropped() {
        let spans =
            vec![span("root", None, "s", "root", 0, 10), span("x", Some("gone"), "s", "lost child", 2, 5)];
        let text = draw(spans);
        assert!(text.contains("lost child (orphan)"), "{text}");
        assert_eq!(text.lines().count(), 3);
        let mut continued = span("g", Some("caller"), "s", "POST /api/checkout", 0, 10);
        continued.parent_is_remote = true;
        let text = draw(vec![continued]);
        assert!(text.contains("POST /api/checkout (from a remote caller)"), "{text}");
    }

    #[test]
    fn a_link_to_another_trace_is_drawn_under_its_span_with_why() {
        let mut resumed = span("root", None, "order-service", "POST /orders", 0, 10);
        resumed.links.push(crate::model::Link {
            trace_id: "cd".repeat(16),
            span_id: "ef".repeat(8),
            attributes: [("checkout.resumed_from".to_owned(), crate::model::Value::Str("abandoned".into()))]
                .into(),
        });
        let text = draw(vec![resumed]);
        let link = text.lines().nth(2).expect("a line for the link");
        assert!(
            link.ends_with(&format!(
                "↪ linked to trace {} span {} (checkout.resumed_from=abandoned)",
                "cd".repeat(16),
                "ef".repeat(8)
            )),
            "{text}"
        );
    }

    #[test]
    fn errors_are_marked_and_counted() {
        let mut failed = span("root", None, "s", "root", 0, 10);
        failed.status = StatusCode::Error;
        failed.status_message = "payment-service is unreachable".into();
        let text = draw(vec![failed]);
        assert!(text.lines().next().unwrap().contains("· 1 error ·"));
        assert!(text.contains("✗ ERROR: payment-service is unreachable"));
    }

    #[test]
    fn a_parent_cycle_is_shown_not_lost() {
        let spans = vec![span("a", Some("b"), "s", "a", 0, 10), span("b", Some("a"), "s", "b", 0, 10)];
        assert_eq!(draw(spans).lines().count(), 3);
    }

    #[test]
    fn with_attrs_each_span_lists_its_attributes_aligned_and_filtered_by_prefix_and_its_events_with_theirs() {
        use crate::model::Event;
        let mut root = span("root", None, "order", "POST /orders", 0, 100);
        root.attributes.insert("demo.scenario".into(), Value::Str("slow-db".into()));
        root.attributes.insert("http.response.status_code".into(), Value::Int(201));
        root.events.push(Event {
            name: "Order confirmed".into(),
            time_unix_nano: 90_000_000,
            attributes: BTreeMap::from([
                ("demo.waited_ms".into(), Value::Int(12)),
                ("level".into(), Value::Str("INFO".into())),
            ]),
        });
        let trace = Trace::new(vec![root]);
        let all = render(&trace, Options { attributes: Some(Vec::new()), ..Options::default() });
        let lines: Vec<&str> = all.lines().skip(2).map(str::trim_start).collect();
        assert_eq!(
            lines,
            [
                "·  demo.scenario             = slow-db",
                "·  http.response.status_code = 201",
                "·  +90.0 ms Order confirmed",
                "·      demo.waited_ms = 12",
                "·      level          = INFO",
            ],
            "{all}"
        );
        let demo = render(&trace, Options { attributes: Some(vec!["demo.".into()]), ..Options::default() });
        let lines: Vec<&str> = demo.lines().skip(2).map(str::trim_start).collect();
        assert_eq!(
            lines,
            ["·  demo.scenario = slow-db", "·  +90.0 ms Order confirmed", "·      demo.waited_ms = 12"]
        );
        assert_eq!(render(&trace, Options::default()).lines().count(), 2, "without --attrs: the rows alone");
    }

    #[test]
    fn one_span_printed_whole_says_what_when_how_and_every_attribute() {
        let mut child = span("c1", Some("root"), "order", "INSERT orders", 10, 30);
        child.attributes.insert("db.system.name".into(), Value::Str("sqlite".into()));
        child.status = StatusCode::Error;
        child.status_message = "locked".into();
        let trace = Trace::new(vec![span("root", None, "order", "POST /orders", 0, 100), child]);
        let text = span_text(&trace, "INSERT orders").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "order \"INSERT orders\" (Internal span c1)");
        assert!(lines.contains(&"  parent     root"), "{text}");
        assert!(lines.contains(&"  time       +10.0 ms, 20.0 ms"), "{text}");
        assert!(lines.contains(&"  status     error: locked"), "{text}");
        assert!(lines.contains(&"    db.system.name = sqlite"), "{text}");
        assert_eq!(span_text(&trace, "UPDATE orders"), None);
    }
}
