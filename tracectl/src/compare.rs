//! Two traces of the same request side by side (`tracectl compare A B`): before and after a fix,
//! a fast checkout and a slow one.
//!
//! Spans are matched by service, name and path from the root: a span of B is A's span with the
//! same service and name under the same matched parent, repeated siblings (three Stripe attempts)
//! matched in start order. The two traces are drawn as one tree, each span with its duration in A
//! and in B and the change; a span only in one of them (the retries) says so. A one-line verdict
//! comes first: how much slower or faster B is, and what most of it was.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{
    analyze::{Analysis, Share, analyze},
    model::StatusCode,
    report::millis,
    trace::Trace,
    waterfall::{selected, value_text},
};

/// A span's place: `(service, name, ordinal among same-named siblings)` from the root down.
type Key = Vec<(String, String, usize)>;

/// One span of the merged tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Depth below the root (the root is 0).
    pub depth: usize,
    /// The span's service.
    pub service: String,
    /// The span's name.
    pub name: String,
    /// Its duration in A, if A has it.
    pub a_nanos: Option<u64>,
    /// Its duration in B, if B has it.
    pub b_nanos: Option<u64>,
    /// Whether it is an error in A.
    pub a_error: bool,
    /// Whether it is an error in B.
    pub b_error: bool,
    /// Its attributes in A and B, when they were asked for ([`compare_with`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
}

/// One attribute of a span in A and in B (as text: a string as it is, anything else as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeChange {
    /// The attribute's key.
    pub key: String,
    /// Its value in A, if A's span has it.
    pub a: Option<String>,
    /// Its value in B, if B's span has it.
    pub b: Option<String>,
}

/// One trace's side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The trace id.
    pub trace_id: String,
    /// From first start to last end.
    pub duration_nanos: u64,
    /// The span with the most time on the critical path.
    pub bottleneck: Option<Share>,
    /// Self time per service.
    pub self_time_by_service: Vec<Share>,
}

/// Everything `compare` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The one-line answer.
    pub verdict: String,
    /// The first trace.
    pub a: Side,
    /// The second trace.
    pub b: Side,
    /// The merged span tree, in tree order.
    pub rows: Vec<Row>,
    /// Spans (`service name`) that are errors in B and were not in A.
    pub errors_appeared: Vec<String>,
    /// Spans that were errors in A and are not in B.
    pub errors_gone: Vec<String>,
}

/// The spans of `trace` by their [`Key`], and each key's children in start order.
fn keyed(trace: &Trace) -> (BTreeMap<Key, usize>, BTreeMap<Key, Vec<Key>>) {
    let (mut by_key, mut children) = (BTreeMap::new(), BTreeMap::new());
    let mut stack: Vec<(Key, Vec<usize>)> = vec![(Vec::new(), trace.roots.clone())];
    while let Some((parent, kids)) = stack.pop() {
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut keys = Vec::new();
        for &i in &kids {
            let span = &trace.spans[i];
            let ordinal = seen.entry((span.service_name.clone(), span.name.clone())).or_default();
            let mut key = parent.clone();
            key.push((span.service_name.clone(), span.name.clone(), *ordinal));
            *ordinal += 1;
            by_key.insert(key.clone(), i);
            keys.push(key.clone());
            stack.push((key, trace.children[i].clone()));
        }
        children.insert(parent, keys);
    }
    (by_key, children)
}

/// Compares `a` with `b`.
pub fn compare(a: &Trace, b: &Trace) -> Comparison {
    compare_with(a, b, None)
}

/// Compares `a` with `b`, each row with its span's attributes in both whose key starts with one of
/// `attributes`' prefixes (every one for an empty list; none for `None`).
pub fn compare_with(a: &Trace, b: &Trace, attributes: Option<&[String]>) -> Comparison {
    let ((a_keys, a_children), (b_keys, b_children)) = (keyed(a), keyed(b));
    let order = merged_order(a, b, (&a_keys, &a_children), (&b_keys, &b_children));
    let mut rows = Vec::new();
    for key in &order {
        let (service, name, _) = key.last().cloned().unwrap_or_default();
        let side = |trace: &Trace, keys: &BTreeMap<Key, usize>| {
            keys.get(key)
                .map(|&i| (trace.spans[i].duration_nanos(), trace.spans[i].status == StatusCode::Error))
        };
        let (in_a, in_b) = (side(a, &a_keys), side(b, &b_keys));
        let changes = attributes.map_or_else(Vec::new, |prefixes| {
            let in_a = a_keys.get(key).map(|&i| &a.spans[i].attributes);
            let in_b = b_keys.get(key).map(|&i| &b.spans[i].attributes);
            attribute_changes(in_a, in_b, prefixes)
        });
        rows.push(Row {
            depth: key.len() - 1,
            service,
            name,
            a_nanos: in_a.map(|(d, _)| d),
            b_nanos: in_b.map(|(d, _)| d),
            a_error: in_a.is_some_and(|(_, e)| e),
            b_error: in_b.is_some_and(|(_, e)| e),
            attributes: changes,
        });
    }
    let label = |r: &Row| format!("{} {}", r.service, r.name);
    let errors_appeared = rows.iter().filter(|r| r.b_error && !r.a_error).map(label).collect();
    let errors_gone = rows.iter().filter(|r| r.a_error && !r.b_error).map(label).collect();
    let (a_analysis, b_analysis) = (analyze(a), analyze(b));
    let verdict = verdict(&rows, &order, &a_analysis, &b_analysis);
    let side = |trace: &Trace, analysis: Analysis| Side {
        trace_id: trace.trace_id.clone(),
        duration_nanos: trace.duration_nanos(),
        bottleneck: analysis.bottlenecks.into_iter().next(),
        self_time_by_service: analysis.self_time_by_service,
    };
    Comparison { verdict, a: side(a, a_analysis), b: side(b, b_analysis), rows, errors_appeared, errors_gone }
}

/// Every span key of either trace, parents before children, siblings in the order they started
/// (A's time, else B's).
fn merged_order(
    a: &Trace,
    b: &Trace,
    (a_keys, a_children): (&BTreeMap<Key, usize>, &BTreeMap<Key, Vec<Key>>),
    (b_keys, b_children): (&BTreeMap<Key, usize>, &BTreeMap<Key, Vec<Key>>),
) -> Vec<Key> {
    let offset = |trace: &Trace, i: usize| trace.spans[i].start_unix_nano.saturating_sub(trace.start());
    let mut stack: Vec<Key> = vec![Vec::new()];
    let mut order: Vec<Key> = Vec::new();
    while let Some(parent) = stack.pop() {
        let mut kids: Vec<Key> = a_children.get(&parent).cloned().unwrap_or_default();
        for key in b_children.get(&parent).into_iter().flatten() {
            if !kids.contains(key) {
                kids.push(key.clone());
            }
        }
        let start = |key: &Key| match (a_keys.get(key), b_keys.get(key)) {
            (Some(&i), _) => offset(a, i),
            (None, Some(&i)) => offset(b, i),
            (None, None) => 0,
        };
        kids.sort_by_key(|key| (start(key), key.last().map(|k| k.2)));
        if !parent.is_empty() {
            order.push(parent);
        }
        stack.extend(kids.into_iter().rev());
    }
    order
}

/// The attributes with one of `prefixes` that either side has, each with its value in A and in B.
fn attribute_changes(
    in_a: Option<&BTreeMap<String, crate::model::Value>>,
    in_b: Option<&BTreeMap<String, crate::model::Value>>,
    prefixes: &[String],
) -> Vec<AttributeChange> {
    let mut names: Vec<&String> = in_a.into_iter().chain(in_b).flat_map(|attrs| attrs.keys()).collect();
    names.sort_unstable();
    names.dedup();
    let value = |attrs: Option<&BTreeMap<String, crate::model::Value>>, name: &String| {
        attrs.and_then(|attrs| attrs.get(name)).map(value_text)
    };
    names
        .into_iter()
        .filter(|name| selected(name, prefixes))
        .map(|name| AttributeChange { key: name.clone(), a: value(in_a, name), b: value(in_b, name) })
        .collect()
}

/// Seconds from one second up, milliseconds below.
fn human(nanos: u64) -> String {
    if nanos >= 1_000_000_000 { format!("{:.1} s", nanos as f64 / 1e9) } else { millis(nanos) }
}

/// "B is 3.8 s slower; 3.7 s of it is 2 × stripe POST /v1/charges only in B".
fn verdict(rows: &[Row], keys: &[Key], a: &Analysis, b: &Analysis) -> String {
    let delta = b.duration_nanos as i128 - a.duration_nanos as i128;
    if delta.unsigned_abs() < 1_000_000 {
        return format!(
            "A and B take the same time ({} and {})",
            human(a.duration_nanos),
            human(b.duration_nanos)
        );
    }
    let (slower, side) = if delta > 0 { ("slower", "B") } else { ("faster", "A") };
    let head = format!(
        "B is {} {slower} ({} → {})",
        human(delta.unsigned_abs() as u64),
        human(a.duration_nanos),
        human(b.duration_nanos)
    );
    let groups = only_on_the_longer_side(rows, keys, delta > 0);
    let only_total: u64 = groups.values().map(|(_, nanos)| nanos).sum();
    if only_total * 2 >= delta.unsigned_abs() as u64 {
        let mut groups: Vec<(String, (usize, u64))> = groups.into_iter().collect();
        groups.sort_by(|x, y| y.1.1.cmp(&x.1.1).then(x.0.cmp(&y.0)));
        let what: Vec<String> = groups.iter().map(|(name, (count, _))| format!("{count} × {name}")).collect();
        return format!("{head}; {} of it is {} only in {side}", human(only_total), what.join(", "));
    }
    // Else: the operation whose own time changed most, in the same direction; or, when the same
    // work just ran differently (one after another, or at once), whose time on the critical path.
    let biggest = |before: &[Share], after: &[Share]| biggest_change(by_name(before), by_name(after), delta);
    let signed = |change: i128| {
        format!("{}{}", if change > 0 { "+" } else { "−" }, human(change.unsigned_abs() as u64))
    };
    if let Some((name, change)) = biggest(&a.self_time_by_operation, &b.self_time_by_operation) {
        return format!("{head}; most of it in {name} itself ({})", signed(change));
    }
    if let Some((name, change)) = biggest(&a.bottlenecks, &b.bottlenecks) {
        return format!("{head}; most of it is {name}'s time on the critical path ({})", signed(change));
    }
    head
}

/// The rows only on the longer side (`in_b`: B is), topmost only (their parent is in both),
/// grouped by name: how many, and their time.
fn only_on_the_longer_side(rows: &[Row], keys: &[Key], in_b: bool) -> BTreeMap<String, (usize, u64)> {
    let only = |r: &Row| if in_b { r.a_nanos.is_none() } else { r.b_nanos.is_none() };
    let mut groups: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for (n, row) in rows.iter().enumerate() {
        let parent_in_both = keys[n].len() == 1
            || rows.iter().zip(keys).any(|(p, k)| k[..] == keys[n][..keys[n].len() - 1] && !only(p));
        if only(row) && parent_in_both {
            let group = groups.entry(format!("{} {}", row.service, row.name)).or_default();
            group.0 += 1;
            group.1 += row.a_nanos.or(row.b_nanos).unwrap_or(0);
        }
    }
    groups
}

/// Shares summed by name: a bottleneck is per span, and repeated spans share a name.
fn by_name(shares: &[Share]) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for share in shares {
        *total.entry(share.name.clone()).or_default() += share.nanos;
    }
    total
}

/// The name whose time changed most from `before` to `after` in the direction of `delta`, if it
/// accounts for at least half of `delta`.
fn biggest_change(
    before: BTreeMap<String, u64>,
    after: BTreeMap<String, u64>,
    delta: i128,
) -> Option<(String, i128)> {
    let change =
        |name: &String| *after.get(name).unwrap_or(&0) as i128 - *before.get(name).unwrap_or(&0) as i128;
    let mut changes: Vec<(String, i128)> =
        before.keys().chain(after.keys()).map(|n| (n.clone(), change(n))).collect();
    changes.sort_by(|x, y| (y.1 * delta.signum()).cmp(&(x.1 * delta.signum())).then(x.0.cmp(&y.0)));
    changes.into_iter().next().filter(|(_, change)| {
        change.signum() == delta.signum() && change.unsigned_abs() * 2 >= delta.unsigned_abs()
    })
}

/// The comparison as text.
pub fn text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", c.verdict);
    let _ = writeln!(out, "A {}  B {}\n", c.a.trace_id, c.b.trace_id);
    let labels: Vec<String> =
        c.rows.iter().map(|r| format!("{}{} {}", "  ".repeat(r.depth), r.service, r.name)).collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let _ = writeln!(out, "{:width$}  {:>10}  {:>10}  {:>11}", "", "A", "B", "change");
    for (row, label) in c.rows.iter().zip(&labels) {
        let cell = |nanos: Option<u64>, error: bool| {
            nanos
                .map_or_else(|| "—".to_owned(), |n| format!("{}{}", millis(n), if error { " ✗" } else { "" }))
        };
        let change = match (row.a_nanos, row.b_nanos) {
            (Some(a), Some(b)) => signed(b as i128 - a as i128),
            (None, Some(_)) => "only in B".to_owned(),
            (Some(_), None) => "only in A".to_owned(),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{label:width$}  {:>10}  {:>10}  {change:>11}",
            cell(row.a_nanos, row.a_error),
            cell(row.b_nanos, row.b_error)
        );
        // Its attributes: one value where A and B agree, `A → B` where they do not.
        let key_width = row.attributes.iter().map(|c| c.key.chars().count()).max().unwrap_or(0);
        let indent = "  ".repeat(row.depth + 1);
        for change in &row.attributes {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
            let value = if change.a == change.b {
                or_dash(&change.a)
            } else {
                format!("{} → {}", or_dash(&change.a), or_dash(&change.b))
            };
            let _ = writeln!(out, "{indent}·  {:key_width$} = {value}", change.key);
        }
    }
    let _ = writeln!(out, "\nerrors only in B: {}", counted(&c.errors_appeared));
    let _ = writeln!(out, "errors only in A: {}", counted(&c.errors_gone));
    let bottleneck = |s: &Side| {
        s.bottleneck
            .as_ref()
            .map_or_else(|| "none".to_owned(), |b| format!("{} ({} on the path)", b.name, human(b.nanos)))
    };
    let _ = writeln!(out, "critical path's bottleneck: A {} → B {}", bottleneck(&c.a), bottleneck(&c.b));
    self_time_by_service(&mut out, c);
    out
}

/// Repeated names once each, with how many (`3 × stripe POST /v1/charges`); `none` for none.
fn counted(names: &[String]) -> String {
    let mut counted: Vec<(&String, usize)> = Vec::new();
    for name in names {
        match counted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counted.push((name, 1)),
        }
    }
    let shown: Vec<String> =
        counted.iter().map(|(n, c)| if *c == 1 { (*n).clone() } else { format!("{c} × {n}") }).collect();
    if shown.is_empty() { "none".to_owned() } else { shown.join(", ") }
}

/// The comparison's last table: each service's self time in A and in B, and the change.
fn self_time_by_service(out: &mut String, c: &Comparison) {
    let _ = writeln!(out, "\nself time by service:");
    let mut services: Vec<&str> =
        c.a.self_time_by_service.iter().chain(&c.b.self_time_by_service).map(|s| s.name.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let of = |side: &Side, name: &str| {
        side.self_time_by_service.iter().find(|s| s.name == name).map_or(0, |s| s.nanos)
    };
    let width = services.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for name in services {
        let (a, b) = (of(&c.a, name), of(&c.b, name));
        let (a_text, b_text, change) = (millis(a), millis(b), signed(b as i128 - a as i128));
        let _ = writeln!(out, "  {name:width$}  {a_text:>10}  {b_text:>10}  {change:>11}");
    }
}

fn signed(nanos: i128) -> String {
    let sign = if nanos < 0 { "−" } else { "+" };
    format!("{sign}{}", millis(nanos.unsigned_abs() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests::span;

    /// A checkout, fast: the gateway over Stripe's one attempt (80 ms).
    fn fast() -> Trace {
        Trace::new(vec![
            span("r", None, "gateway", "POST /api/checkout", 0, 300),
            span("v", Some("r"), "order-service", "validate_order", 0, 50),
            span("c", Some("r"), "stripe", "POST /v1/charges", 100, 180),
        ])
    }

    /// The same checkout, slow: Stripe's first two attempts time out (1.5 s each), the third
    /// answers in 80 ms, and validation got slower by 10 ms.
    fn slow() -> Trace {
        let mut first = span("c1", Some("r"), "stripe", "POST /v1/charges", 100, 1_600);
        first.status = StatusCode::Error;
        let mut second = span("c2", Some("r"), "stripe", "POST /v1/charges", 1_600, 3_100);
        second.status = StatusCode::Error;
        Trace::new(vec![
            span("r", None, "gateway", "POST /api/checkout", 0, 3_300),
            span("v", Some("r"), "order-service", "validate_order", 0, 60),
            first,
            second,
            span("c3", Some("r"), "stripe", "POST /v1/charges", 3_100, 3_180),
        ])
    }

    #[test]
    fn the_retries_only_in_b_are_the_verdict_and_rows_match_by_path_and_order() {
        let c = compare(&fast(), &slow());
        // Worked by hand: 3300 − 300 = 3000 ms slower; the attempts only in B are the 2nd (1500 ms)
        // and 3rd (80 ms): 1580 ms, over half of it.
        assert_eq!(
            c.verdict,
            "B is 3.0 s slower (300.0 ms → 3.3 s); 1.6 s of it is 2 × stripe POST /v1/charges only in B"
        );
        let rows: Vec<(usize, &str, Option<u64>, Option<u64>)> = c
            .rows
            .iter()
            .map(|r| {
                (r.depth, r.name.as_str(), r.a_nanos.map(|n| n / 1_000_000), r.b_nanos.map(|n| n / 1_000_000))
            })
            .collect();
        assert_eq!(
            rows,
            [
                (0, "POST /api/checkout", Some(300), Some(3_300)),
                (1, "validate_order", Some(50), Some(60)),
                // The first attempt matches A's only one.
                (1, "POST /v1/charges", Some(80), Some(1_500)),
                (1, "POST /v1/charges", None, Some(1_500)),
                (1, "POST /v1/charges", None, Some(80)),
            ]
        );
        assert_eq!(c.errors_appeared, ["stripe POST /v1/charges", "stripe POST /v1/charges"]);
        assert!(c.errors_gone.is_empty());
        // The other way round: faster, the same spans only in A.
        let back = compare(&slow(), &fast());
        assert_eq!(
            back.verdict,
            "B is 3.0 s faster (3.3 s → 300.0 ms); 1.6 s of it is 2 × stripe POST /v1/charges only in A"
        );
        assert_eq!(back.errors_gone.len(), 2);
    }

    #[test]
    fn without_spans_only_on_one_side_the_verdict_names_the_biggest_change_of_own_time() {
        // The same shape; the INSERT takes 1.2 s longer of its own time.
        let a = Trace::new(vec![
            span("r", None, "order-service", "POST /orders", 0, 100),
            span("i", Some("r"), "order-service", "INSERT orders", 10, 40),
        ]);
        let b = Trace::new(vec![
            span("r", None, "order-service", "POST /orders", 0, 1_300),
            span("i", Some("r"), "order-service", "INSERT orders", 10, 1_240),
        ]);
        let c = compare(&a, &b);
        assert_eq!(
            c.verdict,
            "B is 1.2 s slower (100.0 ms → 1.3 s); most of it in order-service INSERT orders itself (+1.2 s)"
        );
        assert_eq!(c.a.bottleneck.as_ref().unwrap().name, "order-service POST /orders");
        assert_eq!(c.b.bottleneck.as_ref().unwrap().name, "order-service INSERT orders");
        let text = text(&c);
        assert!(text.starts_with(&c.verdict), "{text}");
        assert!(text.contains("critical path's bottleneck: A order-service POST /orders"), "{text}");
        assert!(text.contains("+1200.0 ms"), "{text}");
    }

    #[test]
    fn the_same_work_run_at_once_instead_of_in_turn_is_named_by_its_time_on_the_critical_path() {
        let staircase = Trace::new(vec![
            span("r", None, "order-service", "inventory", 0, 160),
            span("1", Some("r"), "order-service", "check_stock", 0, 39),
            span("2", Some("r"), "order-service", "check_stock", 40, 79),
            span("3", Some("r"), "order-service", "check_stock", 80, 119),
            span("4", Some("r"), "order-service", "check_stock", 120, 159),
        ]);
        let at_once = Trace::new(vec![
            span("r", None, "order-service", "inventory", 0, 40),
            span("1", Some("r"), "order-service", "check_stock", 0, 39),
            span("2", Some("r"), "order-service", "check_stock", 0, 39),
            span("3", Some("r"), "order-service", "check_stock", 0, 39),
            span("4", Some("r"), "order-service", "check_stock", 0, 39),
        ]);
        let c = compare(&staircase, &at_once);
        // Worked by hand: each check takes 39 ms in both, so no own time changed; on the critical
        // path the four checks took 4 × 39 = 156 ms in A, one of them 39 ms in B.
        assert_eq!(
            c.verdict,
            "B is 120.0 ms faster (160.0 ms → 40.0 ms); most of it is order-service check_stock's time on the critical path (−117.0 ms)"
        );
        assert!(c.rows.iter().filter(|r| r.name == "check_stock").all(|r| r.a_nanos == r.b_nanos));
    }

    #[test]
    fn with_attributes_each_row_lists_its_attributes_in_a_and_b_filtered_by_prefix() {
        use crate::model::Value;
        let (mut a, mut b) = (slow(), fast());
        for trace in [&mut a, &mut b] {
            let resent = trace.spans.len() == 5;
            for span in trace.spans.iter_mut().filter(|s| s.name == "POST /v1/charges") {
                span.attributes.insert("http.request.method".into(), Value::Str("POST".into()));
                if resent && span.span_id != "c1" {
                    span.attributes.insert("http.request.resend_count".into(), Value::Int(1));
                }
                span.attributes.insert("server.port".into(), Value::Int(443));
            }
        }
        let c = compare_with(&a, &b, Some(&["http.request".to_owned()]));
        let charges: Vec<&Row> = c.rows.iter().filter(|r| r.name == "POST /v1/charges").collect();
        let change = |key: &str, a: Option<&str>, b: Option<&str>| AttributeChange {
            key: key.into(),
            a: a.map(str::to_owned),
            b: b.map(str::to_owned),
        };
        // The first attempts match: the same method in both, no resend in either.
        assert_eq!(charges[0].attributes, [change("http.request.method", Some("POST"), Some("POST"))]);
        // The retries are only in A: their resend count is A's alone.
        assert_eq!(
            charges[1].attributes,
            [
                change("http.request.method", Some("POST"), None),
                change("http.request.resend_count", Some("1"), None)
            ]
        );
        let text = text(&c);
        assert!(text.contains("    ·  http.request.method = POST\n"), "{text}");
        assert!(text.contains("    ·  http.request.resend_count = 1 → —\n"), "{text}");
        assert!(!text.contains("server.port"), "filtered by prefix: {text}");
        assert!(compare(&a, &b).rows.iter().all(|r| r.attributes.is_empty()), "none unless asked");
        assert!(!serde_json::to_string(&compare(&a, &b)).unwrap().contains("attributes"));
    }

    #[test]
    fn a_trace_against_itself_is_the_same_time_with_no_changes() {
        let c = compare(&fast(), &fast());
        assert!(c.verdict.starts_with("A and B take the same time"), "{}", c.verdict);
        assert!(c.rows.iter().all(|r| r.a_nanos == r.b_nanos));
    }
}
