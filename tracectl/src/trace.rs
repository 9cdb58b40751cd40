//! One trace, assembled: its spans as a tree, whatever order they arrived in.
//!
//! Real traces are imperfect, and the assembly says so rather than hiding it:
//! - a span whose parent never arrived is an **orphan**: kept, and shown as an extra root;
//! - parent links that form a cycle (corrupt data) are broken, the span becoming an orphan;
//! - **clock skew**: spans from different machines are timed by different clocks. When a SERVER
//!   span does not fit inside the CLIENT span that called it (it cannot really start before it
//!   was called), its whole subtree is shifted to sit in the middle of the call, leaving equal
//!   network time on both sides, as Jaeger's clock-skew adjuster does; a SERVER span longer than
//!   its call (the caller timed out and the callee went on) is only kept from starting before
//!   it, as Jaeger's is too. Each shift is recorded.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::model::{Kind, Span};

/// A trace: its spans and the tree over them. Indices refer to `spans`.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The trace id (32 hex digits).
    pub trace_id: String,
    /// Every span, sorted by start time (after any clock-skew adjustment).
    pub spans: Vec<Span>,
    /// Each span's parent, if the parent is in this trace.
    pub parent: Vec<Option<usize>>,
    /// Each span's children, by start time.
    pub children: Vec<Vec<usize>>,
    /// Spans without a parent in the trace: true roots first, then orphans, each by start time.
    pub roots: Vec<usize>,
    /// Which roots are orphans (they name a parent that is not here).
    pub orphan: Vec<bool>,
    /// Subtrees moved to correct clock skew.
    pub skew_adjustments: Vec<SkewAdjustment>,
}

/// A subtree shifted in time to correct clock skew between two machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewAdjustment {
    /// The span at the top of the moved subtree (a SERVER span).
    pub span_id: String,
    /// Its service.
    pub service: String,
    /// How far it moved, in nanoseconds (negative: earlier).
    pub shift_nanos: i64,
}

impl Trace {
    /// The spans whose parent is missing from this trace and was in the same process (a parent in
    /// the caller, continued from `traceparent`, may never be exported here): a parent still on
    /// its way, or one that never ended.
    pub fn missing_parents(&self) -> Vec<&Span> {
        let orphans = self.roots.iter().filter(|&&r| self.orphan[r]).map(|&r| &self.spans[r]);
        orphans.filter(|span| !span.parent_is_remote).collect()
    }

    /// Groups spans by trace id into traces, ordered by their start.
    pub fn group(spans: Vec<Span>) -> Vec<Trace> {
        let mut by_id: HashMap<String, Vec<Span>> = HashMap::new();
        for span in spans {
            by_id.entry(span.trace_id.clone()).or_default().push(span);
        }
        let mut traces: Vec<Trace> = by_id.into_values().map(Trace::new).collect();
        traces.sort_by_key(|t| (t.start(), t.trace_id.clone()));
        traces
    }

    /// Assembles one trace. All spans should share a trace id; duplicates (same span id) are
    /// dropped, keeping the first.
    pub fn new(spans: Vec<Span>) -> Trace {
        let mut seen = HashSet::new();
        let mut spans: Vec<Span> = spans.into_iter().filter(|s| seen.insert(s.span_id.clone())).collect();
        spans.sort_by(|a, b| (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id)));
        let trace_id = spans.first().map(|s| s.trace_id.clone()).unwrap_or_default();

        let index: HashMap<&str, usize> =
            spans.iter().enumerate().map(|(i, s)| (s.span_id.as_str(), i)).collect();
        let mut parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| s.parent_span_id.as_deref().and_then(|p| index.get(p).copied()).filter(|&p| p != i))
            .collect();
        break_cycles(&mut parent);

        let mut trace = Trace {
            trace_id,
            orphan: vec![false; spans.len()],
            children: vec![Vec::new(); spans.len()],
            roots: Vec::new(),
            parent,
            spans,
            skew_adjustments: Vec::new(),
        };
        trace.link();
        trace.adjust_clock_skew();
        trace
    }

    /// Fills `children`, `roots` and `orphan` from `parent`.
    fn link(&mut self) {
        for children in &mut self.children {
            children.clear();
        }
        self.roots.clear();
        for (i, parent) in self.parent.iter().enumerate() {
            match parent {
                Some(p) => self.children[*p].push(i),
                None => {
                    self.orphan[i] = self.spans[i].parent_span_id.is_some();
                    self.roots.push(i);
                }
            }
        }
        let spans = &self.spans;
        for children in &mut self.children {
            children.sort_by_key(|&c| (spans[c].start_unix_nano, spans[c].end_unix_nano));
        }
        let orphan = &self.orphan;
        self.roots.sort_by_key(|&r| (orphan[r], spans[r].start_unix_nano));
    }

    fn adjust_clock_skew(&mut self) {
        // Top-down, so a subtree is placed before its own children are checked against it.
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            if let Some(p) = self.parent[i] {
                let (parent, child) = (&self.spans[p], &self.spans[i]);
                let crosses_machines = parent.kind == Kind::Client
                    && child.kind == Kind::Server
                    && parent.service_name != child.service_name;
                let fits = child.start_unix_nano >= parent.start_unix_nano
                    && child.end_unix_nano <= parent.end_unix_nano;
                // As Jaeger's adjuster decides (`calculateSkew`, `cmd/query/app/querysvc/v2/
                // adjuster/clockskew.go` at v2.12.0): a child longer than its call is a caller that
                // timed out, or did not wait, while the callee went on; only a start before the
                // call is skew then. Otherwise it is centred in the call.
                let shift = if child.duration_nanos() > parent.duration_nanos() {
                    i64::try_from(parent.start_unix_nano.saturating_sub(child.start_unix_nano)).unwrap_or(0)
                } else {
                    let slack = parent.duration_nanos().saturating_sub(child.duration_nanos()) / 2;
                    (parent.start_unix_nano + slack) as i64 - child.start_unix_nano as i64
                };
                if crosses_machines && !fits && shift != 0 {
                    self.shift_subtree(i, shift);
                    self.skew_adjustments.push(SkewAdjustment {
                        span_id: self.spans[i].span_id.clone(),
                        service: self.spans[i].service_name.clone(),
                        shift_nanos: shift,
                    });
                }
            }
            stack.extend(self.children[i].iter().rev().copied());
        }
    }

    fn shift_subtree(&mut self, root: usize, shift: i64) {
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            let span = &mut self.spans[i];
            span.start_unix_nano = span.start_unix_nano.saturating_add_signed(shift);
            span.end_unix_nano = span.end_unix_nano.saturating_add_signed(shift);
            for event in &mut span.events {
                event.time_unix_nano = event.time_unix_nano.saturating_add_signed(shift);
            }
            stack.extend(self.children[i].iter().copied());
        }
    }

    /// The earliest start of any span.
    pub fn start(&self) -> u64 {
        self.spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0)
    }

    /// The latest end of any span.
    pub fn end(&self) -> u64 {
        self.spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(0).max(self.start())
    }

    /// From the first start to the last end.
    pub fn duration_nanos(&self) -> u64 {
        self.end() - self.start()
    }

    /// The distinct services, sorted.
    pub fn services(&self) -> Vec<&str> {
        let mut services: Vec<&str> = self.spans.iter().map(|s| s.service_name.as_str()).collect();
        services.sort_unstable();
        services.dedup();
        services
    }

    /// The main root: the earliest true root, else the earliest orphan.
    pub fn root(&self) -> Option<usize> {
        self.roots.first().copied()
    }
}

/// Cuts parent links that lead round in a circle, so every span has a path to a root.
fn break_cycles(parent: &mut [Option<usize>]) {
    // 0 = not visited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; parent.len()];
    for start in 0..parent.len() {
        let mut path = Vec::new();
        let mut i = start;
        loop {
            match state[i] {
                2 => break,
                1 => {
                    // `i` closes a cycle: make it a root.
                    parent[i] = None;
                    break;
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    match parent[i] {
                        Some(p) => i = p,
                        None => break,
                    }
                }
            }
        }
        for p in path {
            state[p] = 2;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::StatusCode;
    use std::collections::BTreeMap;

    /// A span for hand-built traces: times in milliseconds.
    pub(crate) fn span(
        id: &str,
        parent: Option<&str>,
        service: &str,
        name: &str,
        start_ms: u64,
        end_ms: u64,
    ) -> Span {
        Span {
            trace_id: "ab".repeat(16),
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
            links: Vec::new(),
            status: StatusCode::Unset,
            status_message: String::new(),
            parent_is_remote: false,
        }
    }

    pub(crate) fn with_kind(mut span: Span, kind: Kind) -> Span {
        span.kind = kind;
        span
    }

    fn names(trace: &Trace, ids: &[usize]) -> Vec<String> {
        ids.iter().map(|&i| trace.spans[i].name.clone()).collect()
    }

    #[test]
    fn spans_in_any_order_form_one_tree_with_children_by_start_time() {
        let trace = Trace::new(vec![
            span("c", Some("a"), "s", "second", 50, 60),
            span("b", Some("a"), "s", "first", 10, 20),
            span("a", None, "s", "root", 0, 100),
        ]);
        assert_eq!(names(&trace, &trace.roots), ["root"]);
        let root = trace.root().unwrap();
        assert_eq!(names(&trace, &trace.children[root]), ["first", "second"]);
        assert_eq!(trace.duration_nanos(), 100_000_000);
    }

    #[test]
    fn a_span_whose_parent_is_missing_is_an_orphan_root_after_the_true_root() {
        let trace =
            Trace::new(vec![span("x", Some("gone"), "s", "lost", 0, 5), span("a", None, "s", "root", 1, 10)]);
        assert_eq!(names(&trace, &trace.roots), ["root", "lost"]);
        assert!(trace.orphan[trace.roots[1]]);
        assert!(!trace.orphan[trace.roots[0]]);
    }

    #[test]
    fn a_parent_cycle_is_broken_and_every_span_kept() {
        let trace =
            Trace::new(vec![span("a", Some("b"), "s", "a", 0, 10), span("b", Some("a"), "s", "b", 1, 9)]);
        assert_eq!(trace.roots.len(), 1);
        assert_eq!(trace.spans.len(), 2);
    }

    #[test]
    fn duplicate_span_ids_are_kept_once() {
        let trace =
            Trace::new(vec![span("a", None, "s", "root", 0, 10), span("a", None, "s", "root", 0, 10)]);
        assert_eq!(trace.spans.len(), 1);
    }

    #[test]
    fn a_server_span_outside_its_client_call_is_centred_in_the_call_with_its_subtree() {
        // The callee's clock runs 50 ms behind: its SERVER span appears to start before the call.
        let trace = Trace::new(vec![
            span("root", None, "gateway", "POST /api/checkout", 0, 100),
            with_kind(span("call", Some("root"), "gateway", "POST /orders", 10, 90), Kind::Client),
            with_kind(span("srv", Some("call"), "order-service", "POST /orders", 0, 60), Kind::Server),
            span("work", Some("srv"), "order-service", "validate", 10, 20),
        ]);
        let by_name = |n: &str| trace.spans.iter().find(|s| s.name == n && s.kind != Kind::Client).unwrap();
        let server = trace.spans.iter().find(|s| s.kind == Kind::Server).unwrap();
        // Call 10..90 (80 ms), server 60 ms long: 10 ms of network on each side.
        assert_eq!((server.start_unix_nano, server.end_unix_nano), (20_000_000, 80_000_000));
        assert_eq!(by_name("validate").start_unix_nano, 30_000_000, "the subtree moves with it");
        assert_eq!(trace.skew_adjustments.len(), 1);
        assert_eq!(trace.skew_adjustments[0].shift_nanos, 20_000_000);
    }

    #[test]
    fn a_server_span_that_outlives_a_timed_out_call_is_not_moved_unless_it_starts_before_it() {
        // payment-service gave Stripe 400 ms; Stripe took 900 ms. Both clocks agree: nothing moves,
        // as in Jaeger (`calculateSkew`, v2.12.0), and the trace shows both sides of the timeout.
        let timed_out = |server_start| {
            Trace::new(vec![
                with_kind(span("call", None, "payment-service", "POST /v1/charges", 100, 500), Kind::Client),
                with_kind(
                    span("srv", Some("call"), "stripe", "POST /v1/charges", server_start, server_start + 900),
                    Kind::Server,
                ),
            ])
        };
        let trace = timed_out(101);
        assert!(trace.skew_adjustments.is_empty(), "{:?}", trace.skew_adjustments);
        let server = trace.spans.iter().find(|s| s.kind == Kind::Server).unwrap();
        assert_eq!(server.start_unix_nano, 101_000_000);
        // The same call, the callee's clock 60 ms behind: only moved to start with the call.
        let trace = timed_out(40);
        assert_eq!(trace.skew_adjustments.len(), 1);
        assert_eq!(trace.skew_adjustments[0].shift_nanos, 60_000_000);
    }

    #[test]
    fn spans_in_the_same_service_are_never_skew_adjusted() {
        let trace = Trace::new(vec![
            span("root", None, "s", "root", 10, 20),
            span("child", Some("root"), "s", "outlives its parent", 15, 40),
        ]);
        assert!(trace.skew_adjustments.is_empty());
        assert_eq!(trace.spans[1].end_unix_nano, 40_000_000);
    }
}
