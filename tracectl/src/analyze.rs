//! Where did the time go? The analyses a tracing tutorial does by eye, done by the tool:
//!
//! - **critical path**: the chain of work that decided when the trace ended. Starting at the root,
//!   take the child that finished last; inside it, do the same; when a span has no child left
//!   that finished in time, its own time counts, and we step back to the parent and look for the
//!   child that finished before this one *started*. Children running in parallel therefore do not
//!   add up: only the one that finished last is waited for. A child that outlives its parent is
//!   clipped to the parent (the parent did not wait for it). This is the algorithm Jaeger's UI
//!   uses to highlight the critical path.
//! - **self time**: a span's time not covered by any of its children, summed per service and per
//!   operation. It says where work happened, rather than where time was merely waited through.
//! - **bottlenecks**: the spans with the most time on the critical path.
//! - **error origin**: the deepest ERROR spans whose children are all fine: where failure began.
//! - **untraced gaps**: time inside a span with children that no child covers. It is network,
//!   queueing, or work nobody instrumented.
//! - **lint**: the symptoms of instrumentation mistakes in the trace ([`crate::lint`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    model::{SpanRef, StatusCode},
    trace::Trace,
};

/// Gaps shorter than this are not reported: scheduling noise, not a finding.
pub const MIN_GAP_NANOS: u64 = 1_000_000;

/// A stretch of the critical path: `span` was the one being waited for from `start` to `end`
/// (nanoseconds since the trace started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The span.
    pub span: SpanRef,
    /// Start, relative to the trace start.
    pub start_nanos: u64,
    /// End, relative to the trace start.
    pub end_nanos: u64,
}

/// Time attributed to a service or an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// `service` or `service operation`.
    pub name: String,
    /// Nanoseconds.
    pub nanos: u64,
    /// Fraction of the trace duration (0–1; self times can sum above 1 when work runs in parallel).
    pub share: f64,
}

/// Time inside a span covered by none of its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The span with the gap.
    pub span: SpanRef,
    /// Start, relative to the trace start.
    pub start_nanos: u64,
    /// Length in nanoseconds.
    pub nanos: u64,
}

/// An ERROR span whose children are all fine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorOrigin {
    /// The span.
    pub span: SpanRef,
    /// Its status message.
    pub message: String,
    /// Its `error.type` attribute, if any.
    pub error_type: Option<String>,
}

/// Everything `tracectl analyze` reports about one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The trace id.
    pub trace_id: String,
    /// From first start to last end, in nanoseconds.
    pub duration_nanos: u64,
    /// Number of spans.
    pub spans: usize,
    /// Spans whose parent is missing.
    pub orphans: usize,
    /// The critical path from the main root, in time order.
    pub critical_path: Vec<Section>,
    /// Critical-path time per span, largest first.
    pub bottlenecks: Vec<Share>,
    /// Self time per service, largest first.
    pub self_time_by_service: Vec<Share>,
    /// Self time per operation (`service operation`), largest first.
    pub self_time_by_operation: Vec<Share>,
    /// Where errors began.
    pub error_origins: Vec<ErrorOrigin>,
    /// Untraced gaps of at least [`MIN_GAP_NANOS`], longest first.
    pub gaps: Vec<Gap>,
    /// What `tracectl lint` finds in this trace alone, with the default thresholds.
    pub lint: Vec<crate::lint::Finding>,
}

/// `[start, end)` intervals merged into disjoint, sorted ones.
fn union(mut intervals: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    intervals.retain(|(s, e)| e > s);
    intervals.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in intervals {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// The parts of `[start, end)` not covered by `covered` (disjoint and sorted).
fn uncovered(start: u64, end: u64, covered: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut cursor = start;
    for &(s, e) in covered {
        if s > cursor {
            gaps.push((cursor, s.min(end)));
        }
        cursor = cursor.max(e);
        if cursor >= end {
            break;
        }
    }
    if cursor < end {
        gaps.push((cursor, end));
    }
    gaps.retain(|(s, e)| e > s);
    gaps
}

/// Each child's interval clipped to its parent (recursively): how long the parent waited.
fn clipped_intervals(trace: &Trace) -> Vec<Option<(u64, u64)>> {
    let mut clipped: Vec<Option<(u64, u64)>> = vec![None; trace.spans.len()];
    let mut stack: Vec<usize> = trace.roots.clone();
    for &r in &trace.roots {
        clipped[r] = Some((
            trace.spans[r].start_unix_nano,
            trace.spans[r].end_unix_nano.max(trace.spans[r].start_unix_nano),
        ));
    }
    while let Some(i) = stack.pop() {
        let Some((ps, pe)) = clipped[i] else { continue };
        for &c in &trace.children[i] {
            let (s, e) = (trace.spans[c].start_unix_nano.max(ps), trace.spans[c].end_unix_nano.min(pe));
            clipped[c] = (e > s).then_some((s, e));
            stack.push(c);
        }
    }
    clipped
}

/// The critical path of the main root, in time order: `(span index, start, end)` sections.
pub(crate) fn critical_path(trace: &Trace) -> Vec<(usize, u64, u64)> {
    let Some(root) = trace.root() else { return Vec::new() };
    let clipped = clipped_intervals(trace);
    // Children with a non-empty clipped interval, latest finishing first.
    let children: Vec<Vec<usize>> = trace
        .children
        .iter()
        .map(|kids| {
            let mut kids: Vec<usize> = kids.iter().copied().filter(|&c| clipped[c].is_some()).collect();
            kids.sort_by_key(|&c| std::cmp::Reverse(clipped[c].map(|(_, e)| e)));
            kids
        })
        .collect();
    let interval = |i: usize| clipped[i].unwrap_or((0, 0));

    let mut sections = Vec::new();
    let (mut current, mut until) = (root, interval(root).1);
    // `returning`: we came back up from a child that started at `until`; only a sibling that
    // finished strictly before it can have been waited for.
    let mut returning = false;
    // Each step either descends or moves `until` strictly back, so this is a generous bound.
    for _ in 0..(4 * trace.spans.len() + 4) {
        let last_child = children[current].iter().copied().find(|&c| {
            let end = interval(c).1;
            if returning { end < until } else { end <= until }
        });
        match last_child {
            Some(child) => {
                let child_end = interval(child).1;
                if until > child_end {
                    sections.push((current, child_end, until));
                }
                current = child;
                until = child_end;
                returning = false;
            }
            None => {
                let start = interval(current).0;
                if until > start {
                    sections.push((current, start, until));
                }
                match trace.parent[current] {
                    Some(parent) if current != root => {
                        until = start;
                        current = parent;
                        returning = true;
                    }
                    _ => break,
                }
            }
        }
    }
    sections.reverse();
    sections
}

fn shares(totals: BTreeMap<String, u64>, duration: u64) -> Vec<Share> {
    let mut shares: Vec<Share> = totals
        .into_iter()
        .filter(|(_, nanos)| *nanos > 0)
        .map(|(name, nanos)| Share { name, nanos, share: nanos as f64 / duration.max(1) as f64 })
        .collect();
    shares.sort_by(|a, b| b.nanos.cmp(&a.nanos).then_with(|| a.name.cmp(&b.name)));
    shares
}

/// Analyses one assembled trace.
pub fn analyze(trace: &Trace) -> Analysis {
    let t0 = trace.start();
    let duration = trace.duration_nanos();

    let path = critical_path(trace);
    let mut on_path: BTreeMap<String, u64> = BTreeMap::new();
    for &(i, s, e) in &path {
        let span = &trace.spans[i];
        *on_path.entry(format!("{} {}", span.service_name, span.name)).or_default() += e - s;
    }

    let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_operation: BTreeMap<String, u64> = BTreeMap::new();
    let mut gaps = Vec::new();
    for (i, span) in trace.spans.iter().enumerate() {
        let (start, end) = (span.start_unix_nano, span.end_unix_nano.max(span.start_unix_nano));
        let covered = union(
            trace.children[i]
                .iter()
                .map(|&c| (trace.spans[c].start_unix_nano.max(start), trace.spans[c].end_unix_nano.min(end)))
                .collect(),
        );
        let free = uncovered(start, end, &covered);
        let self_time: u64 = free.iter().map(|(s, e)| e - s).sum();
        *by_service.entry(span.service_name.clone()).or_default() += self_time;
        *by_operation.entry(format!("{} {}", span.service_name, span.name)).or_default() += self_time;
        if !trace.children[i].is_empty() {
            gaps.extend(free.into_iter().filter(|(s, e)| e - s >= MIN_GAP_NANOS).map(|(s, e)| Gap {
                span: SpanRef::from(&trace.spans[i]),
                start_nanos: s - t0,
                nanos: e - s,
            }));
        }
    }
    gaps.sort_by(|a, b| b.nanos.cmp(&a.nanos).then(a.start_nanos.cmp(&b.start_nanos)));

    Analysis {
        trace_id: trace.trace_id.clone(),
        duration_nanos: duration,
        spans: trace.spans.len(),
        orphans: trace.orphan.iter().filter(|o| **o).count(),
        critical_path: path
            .iter()
            .map(|&(i, s, e)| Section {
                span: SpanRef::from(&trace.spans[i]),
                start_nanos: s - t0,
                end_nanos: e - t0,
            })
            .collect(),
        bottlenecks: shares(on_path, duration),
        self_time_by_service: shares(by_service, duration),
        self_time_by_operation: shares(by_operation, duration),
        error_origins: error_origins(trace),
        gaps,
        lint: crate::lint::lint(std::slice::from_ref(trace), &crate::lint::Thresholds::default()),
    }
}

/// Where the trace's errors began: each failed span none of whose children failed, in the order
/// they ended.
fn error_origins(trace: &Trace) -> Vec<ErrorOrigin> {
    let is_error = |i: usize| trace.spans[i].status == StatusCode::Error;
    let mut origins: Vec<(u64, ErrorOrigin)> = (0..trace.spans.len())
        .filter(|&i| is_error(i) && !trace.children[i].iter().any(|&c| is_error(c)))
        .map(|i| {
            let span = &trace.spans[i];
            let origin = ErrorOrigin {
                span: SpanRef::from(span),
                message: span.status_message.clone(),
                error_type: span.str_attribute("error.type").map(str::to_owned),
            };
            (span.end_unix_nano, origin)
        })
        .collect();
    origins.sort_by_key(|(end, _)| *end);
    origins.into_iter().map(|(_, origin)| origin).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests::span;

    const MS: u64 = 1_000_000;

    /// The critical path as `(name, start_ms, end_ms)`.
    fn path(a: &Analysis) -> Vec<(&str, u64, u64)> {
        a.critical_path.iter().map(|s| (s.span.name.as_str(), s.start_nanos / MS, s.end_nanos / MS)).collect()
    }

    fn ms(shares: &[Share]) -> Vec<(&str, u64)> {
        shares.iter().map(|s| (s.name.as_str(), s.nanos / MS)).collect()
    }

    #[test]
    fn a_lone_root_is_its_own_critical_path_and_all_self_time() {
        let a = analyze(&Trace::new(vec![span("r", None, "svc", "root", 0, 40)]));
        assert_eq!(path(&a), [("root", 0, 40)]);
        assert_eq!(ms(&a.self_time_by_service), [("svc", 40)]);
        assert_eq!(a.self_time_by_service[0].share, 1.0);
        assert!(a.gaps.is_empty() && a.error_origins.is_empty());
    }

    #[test]
    fn sequential_children_are_all_on_the_path_with_the_parents_own_time_between_them() {
        // root 0..100: a 10..40, b 50..90. Worked by hand: root waits 0..10, a 10..40,
        // root 40..50, b 50..90, root 90..100.
        let a = analyze(&Trace::new(vec![
            span("r", None, "svc", "root", 0, 100),
            span("a", Some("r"), "svc", "a", 10, 40),
            span("b", Some("r"), "svc", "b", 50, 90),
        ]));
        assert_eq!(
            path(&a),
            [("root", 0, 10), ("a", 10, 40), ("root", 40, 50), ("b", 50, 90), ("root", 90, 100)]
        );
        assert_eq!(ms(&a.bottlenecks), [("svc b", 40), ("svc a", 30), ("svc root", 30)]);
        // The root's uncovered time (0..10, 40..50, 90..100) is both self time and gaps.
        assert_eq!(ms(&a.self_time_by_operation), [("svc b", 40), ("svc a", 30), ("svc root", 30)]);
        let gaps: Vec<(u64, u64)> = a.gaps.iter().map(|g| (g.start_nanos / MS, g.nanos / MS)).collect();
        assert_eq!(gaps, [(0, 10), (40, 10), (90, 10)]);
    }

    #[test]
    fn parallel_children_do_not_add_up_only_the_last_to_finish_is_waited_for() {
        // root 0..100: fast 0..30 and slow 0..80 run together; then tail 85..95.
        let a = analyze(&Trace::new(vec![
            span("r", None, "svc", "root", 0, 100),
            span("f", Some("r"), "svc", "fast", 0, 30),
            span("s", Some("r"), "svc", "slow", 0, 80),
            span("t", Some("r"), "svc", "tail", 85, 95),
        ]));
        assert_eq!(path(&a), [("slow", 0, 80), ("root", 80, 85), ("tail", 85, 95), ("root", 95, 100)]);
        assert!(!a.critical_path.iter().any(|s| s.span.name == "fast"), "fast ran in the shadow of slow");
        // Self time still counts both parallel children.
        assert_eq!(ms(&a.self_time_by_service), [("svc", 30 + 80 + 10 + 10)]);
    }

    #[test]
    fn a_child_that_outlives_its_parent_is_clipped_to_the_parent_on_the_path() {
        // root 0..50; async child 20..120 keeps running after the root answered.
        let a = analyze(&Trace::new(vec![
            span("r", None, "svc", "root", 0, 50),
            span("c", Some("r"), "worker", "fire-and-forget", 20, 120),
        ]));
        assert_eq!(path(&a), [("root", 0, 20), ("fire-and-forget", 20, 50)]);
        // The trace lasts until the child ends, and the child's self time is all of it.
        assert_eq!(a.duration_nanos / MS, 120);
        assert_eq!(ms(&a.self_time_by_service), [("worker", 100), ("svc", 20)]);
    }

    #[test]
    fn nested_work_is_followed_down_to_the_deepest_span_and_back_up() {
        // gateway 0..100 → client 5..95 → server 10..90 → db 20..80.
        let a = analyze(&Trace::new(vec![
            span("g", None, "gateway", "GET /", 0, 100),
            span("c", Some("g"), "gateway", "call", 5, 95),
            span("s", Some("c"), "backend", "serve", 10, 90),
            span("d", Some("s"), "backend", "query", 20, 80),
        ]));
        assert_eq!(
            path(&a),
            [
                ("GET /", 0, 5),
                ("call", 5, 10),
                ("serve", 10, 20),
                ("query", 20, 80),
                ("serve", 80, 90),
                ("call", 90, 95),
                ("GET /", 95, 100)
            ]
        );
        let total: u64 = a.critical_path.iter().map(|s| s.end_nanos - s.start_nanos).sum();
        assert_eq!(total, a.duration_nanos, "the critical path covers the whole trace exactly once");
        // The network time around the call shows as gaps inside the client span.
        assert!(a.gaps.iter().any(|g| g.span.name == "call" && g.start_nanos == 5 * MS && g.nanos == 5 * MS));
    }

    #[test]
    fn the_error_origin_is_the_deepest_error_whose_children_are_fine() {
        use crate::model::StatusCode::Error;
        let mut spans = vec![
            span("g", None, "gateway", "POST /api/checkout", 0, 100),
            span("c", Some("g"), "gateway", "POST /orders", 5, 95),
            span("o", Some("c"), "order-service", "POST /orders", 10, 90),
            span("p", Some("o"), "order-service", "POST /payments", 20, 25),
            span("v", Some("o"), "order-service", "validate", 11, 19),
        ];
        for s in spans.iter_mut().filter(|s| s.span_id != "v") {
            s.status = Error;
        }
        spans[3].status_message = "payment-service is unreachable".into();
        spans[3].attributes.insert("error.type".into(), crate::model::Value::Str("connection_error".into()));
        let a = analyze(&Trace::new(spans));
        assert_eq!(a.error_origins.len(), 1);
        let origin = &a.error_origins[0];
        assert_eq!(
            (origin.span.service.as_str(), origin.span.name.as_str()),
            ("order-service", "POST /payments")
        );
        assert_eq!(origin.message, "payment-service is unreachable");
        assert_eq!(origin.error_type.as_deref(), Some("connection_error"));
    }

    #[test]
    fn orphans_are_counted_and_kept_off_the_main_critical_path() {
        let a = analyze(&Trace::new(vec![
            span("r", None, "svc", "root", 0, 50),
            span("x", Some("missing"), "other", "orphan", 10, 200),
        ]));
        assert_eq!(a.orphans, 1);
        assert_eq!(path(&a), [("root", 0, 50)]);
        assert_eq!(a.spans, 2);
    }

    #[test]
    fn intervals_merge_and_their_complement_is_the_gaps() {
        assert_eq!(union(vec![(5, 10), (0, 3), (8, 12), (12, 12)]), [(0, 3), (5, 12)]);
        assert_eq!(uncovered(0, 20, &[(0, 3), (5, 12)]), [(3, 5), (12, 20)]);
        assert_eq!(uncovered(0, 10, &[(0, 10)]), []);
    }
}
