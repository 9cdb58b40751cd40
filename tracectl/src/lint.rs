//! `tracectl lint`: the symptoms instrumentation mistakes leave in traces, found and named.
//!
//! Each check reads what a person reads in Jaeger when they know what to look for, and says what
//! usually causes it:
//! - **orphan**: a span names a parent in its own process that never arrived (a span kept open past
//!   its work is not exported until it ends, if ever). A parent in the caller (OTLP's flags say
//!   remote: a trace continued from `traceparent`) is not one.
//! - **detached**: a trace whose root is not an entry span (INTERNAL or CLIENT), made while a span
//!   of the same process was open in another trace, and linked to nothing: work started without
//!   the request's context (a `tokio::spawn` without `.in_current_span()`). A background job's own
//!   trace outlives the request beside it, or is linked to it, and is not one.
//! - **split**: a CLIENT span with no SERVER child, while a trace rooted at a SERVER span of the
//!   service it called starts within the call: the call carried no `traceparent` (or the callee
//!   did not read it). The callee is the service the call names (`peer.service`), or, where it
//!   names none (most instrumentations), the SERVER span that answers where the call went: the
//!   method, port and path of the HTTP semantic conventions.
//! - **wrong-parent**: a child that starts before its parent, or ends after it, beyond the clock-skew
//!   allowance, or that says an id (an attribute `….id`) other than the one its nearest ancestor
//!   with that attribute says: a span attached to whatever was current, another request's (a
//!   guard held across `.await`).
//! - **too-many-spans**: a trace of more than the threshold of spans, most of them shorter than the
//!   threshold: a span per tiny step.
//! - **unbounded-names**: span names that differ only in an id-like token (digits, or a long
//!   alphanumeric run with a digit): every id a new operation.
//! - **unrecorded-error**: a SERVER span answering 5xx, or a CLIENT span getting one, whose status
//!   is unset: searching for errors misses it.
//!
//! Cross-trace checks (detached, split, unbounded names) see only the traces they are given: give
//! lint every trace of the time in question (a store file, a search).

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use serde::Serialize;

use crate::{
    model::{Kind, Span, SpanRef, StatusCode},
    trace::Trace,
};

/// The thresholds of the checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// How far a child may start before, or end after, its parent (clocks of one machine drift
    /// little; across machines tracectl has already corrected skew), in nanoseconds.
    pub skew_allowance_nanos: u64,
    /// A trace with more spans than this may have too many.
    pub max_spans: usize,
    /// … when more than half of its spans are shorter than this, in nanoseconds.
    pub short_span_nanos: u64,
    /// Span names that differ only in an id are unbounded from this many distinct names on.
    pub max_names_per_template: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            skew_allowance_nanos: 5_000_000,
            max_spans: 50,
            short_span_nanos: 1_000_000,
            max_names_per_template: 3,
        }
    }
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// A span whose parent never arrived.
    Orphan,
    /// A trace rooted at work that is not an entry span.
    Detached,
    /// One request in two traces.
    Split,
    /// A child outside its parent's time.
    WrongParent,
    /// A span per tiny step.
    TooManySpans,
    /// Ids in span names.
    UnboundedNames,
    /// An HTTP failure with the span's status unset.
    UnrecordedError,
}

impl Check {
    /// The name lint prints (`orphan`, `too-many-spans`, …).
    pub fn name(self) -> &'static str {
        match self {
            Check::Orphan => "orphan",
            Check::Detached => "detached",
            Check::Split => "split",
            Check::WrongParent => "wrong-parent",
            Check::TooManySpans => "too-many-spans",
            Check::UnboundedNames => "unbounded-names",
            Check::UnrecordedError => "unrecorded-error",
        }
    }

    /// What usually causes it.
    pub fn likely_cause(self) -> &'static str {
        match self {
            Check::Orphan => {
                "the parent span was kept open past its work (held in a long-lived value), so it was not exported when its children were, if ever"
            }
            Check::Detached => {
                "work started without the request's context: a tokio::spawn (or a thread) without .in_current_span() / .instrument(span)"
            }
            Check::Split => {
                "the call was sent without the context (a request built without injecting traceparent: a plain HTTP client), or the callee did not read it (it never extracts, or its propagator reads another header)"
            }
            Check::WrongParent => {
                "the span took whatever span was current: an entered guard (Span::enter) held across an .await lets other tasks' spans attach to it"
            }
            Check::TooManySpans => {
                "a span for every tiny step: record the steps as events or attributes of one span"
            }
            Check::UnboundedNames => {
                "an id in the span name: name spans by their template and put the id in an attribute"
            }
            Check::UnrecordedError => {
                "the failure was answered but not recorded: set the span's status to error (and error.type)"
            }
        }
    }
}

/// One symptom, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is.
    pub check: Check,
    /// The traces involved (two for a split trace).
    pub trace_ids: Vec<String>,
    /// The spans involved.
    pub spans: Vec<SpanRef>,
    /// What was seen, in one line.
    pub detail: String,
    /// What usually causes it.
    pub likely_cause: &'static str,
}

impl Finding {
    fn new(check: Check, trace_ids: Vec<String>, spans: Vec<SpanRef>, detail: String) -> Self {
        Self { check, trace_ids, spans, detail, likely_cause: check.likely_cause() }
    }
}

/// Every finding in `traces`, trace by trace in the order given, each check in turn.
pub fn lint(traces: &[Trace], thresholds: &Thresholds) -> Vec<Finding> {
    check(traces, None, thresholds)
}

/// The findings that name trace `trace_id`, checked among `traces` (which hold it): what
/// [`lint`] finds there, without the checks of one trace alone run on every other trace.
pub fn lint_naming(traces: &[Trace], trace_id: &str, thresholds: &Thresholds) -> Vec<Finding> {
    let mut findings = check(traces, Some(trace_id), thresholds);
    findings.retain(|f| f.trace_ids.iter().any(|id| id == trace_id));
    findings
}

/// Every check; the checks of one trace alone only on `only` when given.
fn check(traces: &[Trace], only: Option<&str>, thresholds: &Thresholds) -> Vec<Finding> {
    let linked = linked_spans(traces);
    let mut findings = Vec::new();
    for trace in traces {
        let alone = only.is_none_or(|id| trace.trace_id == id);
        if alone {
            orphans(trace, &mut findings);
        }
        detached(trace, traces, &linked, &mut findings);
        split(trace, traces, thresholds, &mut findings);
        if alone {
            wrong_parents(trace, thresholds, &mut findings);
            too_many_spans(trace, thresholds, &mut findings);
            unrecorded_errors(trace, &mut findings);
        }
    }
    unbounded_names(traces, thresholds, &mut findings);
    findings
}

/// `(trace id, span id)` of every span that links to another, or that another links to.
fn linked_spans(traces: &[Trace]) -> BTreeSet<(String, String)> {
    let mut linked = BTreeSet::new();
    for span in traces.iter().flat_map(|t| &t.spans) {
        for link in &span.links {
            linked.insert((link.trace_id.clone(), link.span_id.clone()));
            linked.insert((span.trace_id.clone(), span.span_id.clone()));
        }
    }
    linked
}

fn orphans(trace: &Trace, findings: &mut Vec<Finding>) {
    for &root in &trace.roots {
        let span = &trace.spans[root];
        if trace.orphan[root] && !span.parent_is_remote {
            let parent = span.parent_span_id.as_deref().unwrap_or_default();
            findings.push(Finding::new(
                Check::Orphan,
                vec![trace.trace_id.clone()],
                vec![SpanRef::from(span)],
                format!("its parent {parent}, in the same process, never arrived"),
            ));
        }
    }
}

/// The process a span came from: its `service.instance.id`, else its service.
fn process(span: &Span) -> &str {
    span.resource.get("service.instance.id").and_then(|v| v.as_str()).unwrap_or(&span.service_name)
}

fn detached(
    trace: &Trace,
    traces: &[Trace],
    linked: &BTreeSet<(String, String)>,
    findings: &mut Vec<Finding>,
) {
    let Some(r) = trace.root() else { return };
    let root = &trace.spans[r];
    let entry = matches!(root.kind, Kind::Server | Kind::Consumer | Kind::Producer);
    if entry || trace.orphan[r] || linked.contains(&(trace.trace_id.clone(), root.span_id.clone())) {
        return;
    }
    // A span of the same process, in another trace, that was open all the while.
    let within = traces.iter().filter(|other| other.trace_id != trace.trace_id).find_map(|other| {
        other.spans.iter().find(|s| {
            process(s) == process(root)
                && s.start_unix_nano <= root.start_unix_nano
                && s.end_unix_nano >= root.end_unix_nano
        })
    });
    if let Some(open) = within {
        findings.push(Finding::new(
            Check::Detached,
            vec![trace.trace_id.clone(), open.trace_id.clone()],
            vec![SpanRef::from(root), SpanRef::from(open)],
            format!(
                "a trace rooted at {:?} span {:?}, made while {:?} of trace {} was open in the same process",
                root.kind, root.name, open.name, open.trace_id
            ),
        ));
    }
}

/// The service a CLIENT span calls, as its attributes name it.
fn peer(span: &Span) -> Option<&str> {
    span.str_attribute("peer.service").or_else(|| span.str_attribute("service.peer.name"))
}

/// Where an HTTP span says its request went, each part if it says it: the method, the port and
/// the path, read from the HTTP semantic conventions' attributes (the stable names, then the
/// older ones many instrumentations still send). Few instrumentations name the service they call;
/// every HTTP one says these.
#[derive(Debug, Default, PartialEq)]
struct Target<'a> {
    method: Option<&'a str>,
    port: Option<i64>,
    path: Option<Cow<'a, str>>,
}

impl<'a> Target<'a> {
    /// A CLIENT span's: `url.full` (`http.url`), `server.port` (`net.peer.port`).
    fn of_call(span: &'a Span) -> Self {
        let url = span.str_attribute("url.full").or_else(|| span.str_attribute("http.url"));
        let (url_port, path) = url.map(split_url).unwrap_or_default();
        let port = int_attribute(span, &["server.port", "net.peer.port"]).or(url_port);
        Target { method: method(span), port, path: path.map(Cow::Owned) }
    }

    /// A SERVER span's: `url.path` (`http.target`), `server.port` (`net.host.port`, or the port
    /// in `server.address` / `http.host`).
    fn of_request(span: &'a Span) -> Self {
        let target = span.str_attribute("url.path").or_else(|| span.str_attribute("http.target"));
        let path = target.map(|t| Cow::Borrowed(t.split(['?', '#']).next().unwrap_or(t)));
        let host = span.str_attribute("server.address").or_else(|| span.str_attribute("http.host"));
        let host_port = host.and_then(|h| h.rsplit_once(':')).and_then(|(_, p)| p.parse().ok());
        let port = int_attribute(span, &["server.port", "net.host.port"]).or(host_port);
        Target { method: method(span), port, path }
    }

    /// Whether a request with `self` can be the call with `call`: the port or the path said by
    /// both and the same, and nothing both say different.
    fn answers(&self, call: &Target<'_>) -> bool {
        fn agree<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<bool> {
            Some(a? == b?)
        }
        let (path, call_path) = (self.path.as_deref(), call.path.as_deref());
        let checks = [agree(self.method, call.method), agree(self.port, call.port), agree(path, call_path)];
        let located = agree(self.port, call.port).is_some() || agree(path, call_path).is_some();
        located && checks.iter().all(|c| *c != Some(false))
    }
}

fn method(span: &Span) -> Option<&str> {
    span.str_attribute("http.request.method").or_else(|| span.str_attribute("http.method"))
}

/// The first of `keys` that holds a number (or a string of one).
fn int_attribute(span: &Span, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| {
        let value = span.attribute(k)?;
        value.as_i64().or_else(|| value.as_str()?.parse().ok())
    })
}

/// A URL's port (its scheme's when not written) and path, as the `url` crate (reqwest's) reads it.
fn split_url(url: &str) -> (Option<i64>, Option<String>) {
    match reqwest::Url::parse(url) {
        Ok(url) if url.has_host() => {
            (url.port_or_known_default().map(i64::from), Some(url.path().to_owned()))
        }
        _ => (None, None),
    }
}

fn split(trace: &Trace, traces: &[Trace], thresholds: &Thresholds, findings: &mut Vec<Finding>) {
    for (i, client) in trace.spans.iter().enumerate() {
        if client.kind != Kind::Client
            || trace.children[i].iter().any(|&c| trace.spans[c].kind == Kind::Server)
        {
            continue;
        }
        let (peer, call) = (peer(client), Target::of_call(client));
        let allowance = thresholds.skew_allowance_nanos;
        let started_within = |s: &Span| {
            s.start_unix_nano + allowance >= client.start_unix_nano
                && s.start_unix_nano <= client.end_unix_nano + allowance
        };
        // The callee: by the name the call gives it, or else by where the call went.
        let called = |root: &Span| match peer {
            Some(peer) => root.service_name == peer,
            None => Target::of_request(root).answers(&call),
        };
        // Of the traces that fit, the one whose request came closest to the call's start (two
        // quick calls in a row each have their own), and inside the call before any outside it.
        let callee = traces
            .iter()
            .filter(|t| t.trace_id != trace.trace_id)
            .filter_map(|t| {
                let root = &t.spans[t.root()?];
                (root.kind == Kind::Server
                    && root.parent_span_id.is_none()
                    && started_within(root)
                    && called(root))
                .then_some(root)
            })
            .min_by_key(|root| {
                let inside = root.start_unix_nano >= client.start_unix_nano
                    && root.end_unix_nano <= client.end_unix_nano;
                (!inside, root.start_unix_nano.abs_diff(client.start_unix_nano))
            });
        if let Some(callee) = callee {
            findings.push(Finding::new(
                Check::Split,
                vec![trace.trace_id.clone(), callee.trace_id.clone()],
                vec![SpanRef::from(client), SpanRef::from(callee)],
                format!(
                    "{:?} called {}, which started a trace of its own ({}) during the call",
                    client.name, callee.service_name, callee.trace_id
                ),
            ));
        }
    }
}

/// The first `….id` attribute of span `i` that an ancestor of it says otherwise: the key, this
/// span's value, and the ancestor.
fn other_id(trace: &Trace, i: usize) -> Option<(&str, &str, &Span)> {
    let span = &trace.spans[i];
    span.attributes.iter().filter(|(key, _)| key.ends_with(".id")).find_map(|(key, value)| {
        let value = value.as_str()?;
        let mut up = trace.parent[i];
        while let Some(a) = up {
            if let Some(theirs) = trace.spans[a].str_attribute(key) {
                return (theirs != value).then_some((key.as_str(), value, &trace.spans[a]));
            }
            up = trace.parent[a];
        }
        None
    })
}

fn wrong_parents(trace: &Trace, thresholds: &Thresholds, findings: &mut Vec<Finding>) {
    let allowance = thresholds.skew_allowance_nanos;
    for (i, parent) in trace.parent.iter().enumerate() {
        let Some(p) = *parent else { continue };
        if let Some((key, value, ancestor)) = other_id(trace, i) {
            let (child, theirs) = (&trace.spans[i], ancestor.str_attribute(key).unwrap_or_default());
            findings.push(Finding::new(
                Check::WrongParent,
                vec![trace.trace_id.clone()],
                vec![SpanRef::from(child), SpanRef::from(ancestor)],
                format!(
                    "{:?} says {key}={value:?} under {:?}, which says {key}={theirs:?}",
                    child.name, ancestor.name
                ),
            ));
            continue;
        }
        let (child, parent) = (&trace.spans[i], &trace.spans[p]);
        // A request cancelled mid-way ends its span before work it started on another thread.
        let cancelled = parent.str_attribute("error.type") == Some("cancelled");
        let early = child.start_unix_nano + allowance < parent.start_unix_nano;
        let late = child.end_unix_nano > parent.end_unix_nano + allowance && !cancelled;
        if early || late {
            let (when, by) = if early {
                ("starts", parent.start_unix_nano - child.start_unix_nano)
            } else {
                ("ends", child.end_unix_nano - parent.end_unix_nano)
            };
            let side = if early { "before" } else { "after" };
            findings.push(Finding::new(
                Check::WrongParent,
                vec![trace.trace_id.clone()],
                vec![SpanRef::from(child), SpanRef::from(parent)],
                format!(
                    "{:?} {when} {:.1} ms {side} its parent {:?}",
                    child.name,
                    by as f64 / 1e6,
                    parent.name
                ),
            ));
        }
    }
}

fn too_many_spans(trace: &Trace, thresholds: &Thresholds, findings: &mut Vec<Finding>) {
    let spans = &trace.spans;
    let short = spans.iter().filter(|s| s.duration_nanos() < thresholds.short_span_nanos).count();
    if spans.len() <= thresholds.max_spans || short * 2 <= spans.len() {
        return;
    }
    let mut by_name: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for span in spans {
        *by_name.entry((&span.service_name, &span.name)).or_default() += 1;
    }
    let Some(((service, name), count)) =
        by_name.into_iter().max_by_key(|&(key, n)| (n, std::cmp::Reverse(key)))
    else {
        return;
    };
    let Some(example) = spans.iter().find(|s| s.name == name && s.service_name == service) else { return };
    findings.push(Finding::new(
        Check::TooManySpans,
        vec![trace.trace_id.clone()],
        vec![SpanRef::from(example)],
        format!(
            "{} spans, {short} of them shorter than {} ms; {count} are {service} {name:?}",
            spans.len(),
            thresholds.short_span_nanos as f64 / 1e6
        ),
    ));
}

fn unrecorded_errors(trace: &Trace, findings: &mut Vec<Finding>) {
    for span in &trace.spans {
        let status = span.attribute("http.response.status_code").and_then(|v| v.as_i64());
        let failed = status.is_some_and(|code| code >= 500);
        if failed && matches!(span.kind, Kind::Server | Kind::Client) && span.status == StatusCode::Unset {
            let code = status.unwrap_or_default();
            let verb = if span.kind == Kind::Server { "answered" } else { "got" };
            findings.push(Finding::new(
                Check::UnrecordedError,
                vec![trace.trace_id.clone()],
                vec![SpanRef::from(span)],
                format!("{:?} {verb} HTTP {code}, and its status is unset", span.name),
            ));
        }
    }
}

/// Whether `token` looks like an id: all digits, or at least 8 letters and digits with a digit.
fn id_like(token: &str) -> bool {
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    !token.is_empty() && (digits == token.len() || (token.len() >= 8 && digits > 0))
}

/// `name` with each id-like token replaced by `{id}`; `None` when it has none.
fn template(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut found = false;
    for piece in name.split_inclusive(|c: char| !c.is_ascii_alphanumeric()) {
        let (token, separator) =
            piece.split_at(piece.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).len());
        if id_like(token) {
            out.push_str("{id}");
            found = true;
        } else {
            out.push_str(token);
        }
        out.push_str(separator);
    }
    found.then_some(out)
}

fn unbounded_names(traces: &[Trace], thresholds: &Thresholds, findings: &mut Vec<Finding>) {
    // (service, template) → the distinct names, and one span of each.
    let mut templates: BTreeMap<(&str, String), BTreeMap<&str, &Span>> = BTreeMap::new();
    for span in traces.iter().flat_map(|t| &t.spans) {
        if let Some(template) = template(&span.name) {
            templates.entry((&span.service_name, template)).or_default().entry(&span.name).or_insert(span);
        }
    }
    for ((service, template), names) in templates {
        if names.len() < thresholds.max_names_per_template {
            continue;
        }
        let examples: Vec<&Span> = names.values().take(3).copied().collect();
        let mut trace_ids: Vec<String> = examples.iter().map(|s| s.trace_id.clone()).collect();
        trace_ids.dedup();
        findings.push(Finding::new(
            Check::UnboundedNames,
            trace_ids,
            examples.iter().map(|s| SpanRef::from(*s)).collect(),
            format!("{} names of {service} are one template, {template:?}", names.len()),
        ));
    }
}

/// The findings as text: per finding its check and detail, the spans, and the likely cause, a line
/// each; or a line saying there are none.
pub fn text(findings: &[Finding], traces: usize) -> String {
    let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
    if findings.is_empty() {
        return format!("lint: no findings in {}\n", plural(traces, "trace"));
    }
    let mut out = String::new();
    let mut counts: BTreeMap<Check, usize> = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.check).or_default() += 1;
        let spans: Vec<String> =
            finding.spans.iter().map(|s| format!("{} {:?} ({})", s.service, s.name, s.span_id)).collect();
        let traces = finding.trace_ids.join(", ");
        let _ = writeln!(out, "{}: {} [trace {traces}]", finding.check.name(), finding.detail);
        let _ = writeln!(out, "  spans: {}", spans.join("; "));
        let _ = writeln!(out, "  likely cause: {}", finding.likely_cause);
    }
    let summary: Vec<String> = counts.iter().map(|(check, n)| format!("{n} {}", check.name())).collect();
    let found = plural(findings.len(), "finding");
    let _ = writeln!(out, "lint: {found} in {}: {}", plural(traces, "trace"), summary.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Link, Value};
    use crate::trace::tests::{span, with_kind};

    fn in_trace(mut span: Span, trace: &str) -> Span {
        span.trace_id = trace.repeat(32 / trace.len());
        span
    }

    fn attr(mut span: Span, key: &str, value: Value) -> Span {
        span.attributes.insert(key.into(), value);
        span
    }

    fn checks(traces: Vec<Vec<Span>>) -> Vec<Check> {
        let traces: Vec<Trace> = traces.into_iter().map(Trace::new).collect();
        lint(&traces, &Thresholds::default()).into_iter().map(|f| f.check).collect()
    }

    /// A request: SERVER → INTERNAL → CLIENT → (callee) SERVER, in trace `t`.
    fn request(t: &str) -> Vec<Span> {
        vec![
            in_trace(with_kind(span("a1", None, "gateway", "POST /api/checkout", 0, 100), Kind::Server), t),
            in_trace(span("a2", Some("a1"), "gateway", "validate", 1, 5), t),
            in_trace(
                attr(
                    with_kind(span("a3", Some("a1"), "gateway", "POST /orders", 10, 90), Kind::Client),
                    "peer.service",
                    Value::Str("order-service".into()),
                ),
                t,
            ),
            in_trace(
                with_kind(span("b1", Some("a3"), "order-service", "POST /orders", 12, 88), Kind::Server),
                t,
            ),
        ]
    }

    #[test]
    fn a_whole_request_has_no_finding() {
        assert_eq!(checks(vec![request("1")]), []);
    }

    #[test]
    fn a_span_whose_local_parent_never_came_is_an_orphan_and_a_remote_parent_is_not() {
        let mut spans = request("1");
        spans.remove(1);
        spans.push(in_trace(span("a4", Some("a2"), "gateway", "price", 2, 3), "1"));
        assert_eq!(checks(vec![spans]), [Check::Orphan]);
        // Continued from a caller's traceparent: the parent is the caller's.
        let mut continued = request("1");
        continued[0].parent_span_id = Some("ca11e7".into());
        continued[0].parent_is_remote = true;
        assert_eq!(checks(vec![continued]), []);
    }

    #[test]
    fn an_internal_root_made_inside_a_request_of_the_same_process_is_detached_and_a_background_job_is_not() {
        let job = |start, end| vec![in_trace(span("c1", None, "gateway", "check_stock", start, end), "2")];
        assert_eq!(checks(vec![request("1"), job(20, 30)]), [Check::Detached]);
        // A job that outlives the request beside it, or one linked to it, is its own work.
        assert_eq!(checks(vec![request("1"), job(20, 300)]), []);
        let mut linked = job(20, 30);
        linked[0].links.push(Link {
            trace_id: "1".repeat(32),
            span_id: "a1".into(),
            attributes: BTreeMap::new(),
        });
        assert_eq!(checks(vec![request("1"), linked]), []);
        // Alone (a trace of one span, nothing open beside it): nothing to say.
        assert_eq!(checks(vec![job(20, 30)]), []);
        // Another process of the same service is not this one.
        let mut elsewhere = job(20, 30);
        elsewhere[0].resource.insert("service.instance.id".into(), Value::Str("other".into()));
        let mut here = request("1");
        here[0].resource.insert("service.instance.id".into(), Value::Str("this".into()));
        assert_eq!(checks(vec![here, elsewhere]), []);
    }

    #[test]
    fn a_call_whose_callee_started_a_trace_of_its_own_is_a_split_trace_naming_both() {
        let mut caller = request("1");
        let callee = caller.pop().unwrap();
        let mut callee = in_trace(callee, "2");
        callee.parent_span_id = None;
        let traces = vec![Trace::new(caller.clone()), Trace::new(vec![callee.clone()])];
        let findings = lint(&traces, &Thresholds::default());
        assert_eq!(findings.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::Split]);
        assert_eq!(findings[0].trace_ids, ["1".repeat(32), "2".repeat(32)]);
        // A call to a system that does not trace itself (no trace of it) is no split.
        assert_eq!(checks(vec![caller.clone()]), []);
        // Nor is a trace of the callee's that started at another time.
        callee.start_unix_nano += 500_000_000;
        callee.end_unix_nano += 500_000_000;
        assert_eq!(checks(vec![caller, vec![callee]]), []);
    }

    #[test]
    fn where_an_http_span_says_its_request_went_is_read_from_either_generation_of_names() {
        assert_eq!(
            split_url("http://localhost:46011/stock/sku-1?x=1"),
            (Some(46011), Some("/stock/sku-1".to_owned()))
        );
        assert_eq!(split_url("https://user@api.example.com/v1"), (Some(443), Some("/v1".to_owned())));
        assert_eq!(split_url("http://[::1]/"), (Some(80), Some("/".to_owned())));
        assert_eq!(split_url("http://[::1]:8080"), (Some(8080), Some("/".to_owned())));
        assert_eq!(split_url("not a url"), (None, None));
        let call = |attrs: &[(&str, Value)]| {
            let mut span = span("c", None, "shop", "GET", 0, 10);
            for (k, v) in attrs {
                span = attr(span, k, v.clone());
            }
            span
        };
        let stable = call(&[
            ("http.request.method", Value::Str("GET".into())),
            ("url.full", Value::Str("http://localhost:46011/stock/sku-1".into())),
            ("server.port", Value::Int(46011)),
        ]);
        let old = call(&[
            ("http.method", Value::Str("GET".into())),
            ("http.url", Value::Str("http://stock:8080/stock/sku-1".into())),
        ]);
        let request =
            |attrs: &[(&str, Value)]| Target::of_request(&call(attrs)).answers(&Target::of_call(&stable));
        // The wsgi instrumentation's SERVER span: no url.path, the port in server.port.
        assert!(request(&[
            ("http.request.method", Value::Str("GET".into())),
            ("server.port", Value::Int(46011))
        ]));
        // Another port, another method, another path: another request.
        assert!(!request(&[
            ("http.request.method", Value::Str("GET".into())),
            ("server.port", Value::Int(3000))
        ]));
        assert!(!request(&[
            ("http.request.method", Value::Str("POST".into())),
            ("server.port", Value::Int(46011))
        ]));
        assert!(!request(&[("url.path", Value::Str("/orders".into())), ("server.port", Value::Int(46011))]));
        // Nothing said of where it went: never taken for the call.
        assert!(!request(&[("http.request.method", Value::Str("GET".into()))]));
        // The older names: http.target, and the port in http.host.
        let answers_old =
            |attrs: &[(&str, Value)]| Target::of_request(&call(attrs)).answers(&Target::of_call(&old));
        assert!(answers_old(&[
            ("http.target", Value::Str("/stock/sku-1?q".into())),
            ("http.host", Value::Str("stock:8080".into()))
        ]));
        assert!(!answers_old(&[("http.target", Value::Str("/stock/sku-2".into()))]));
    }

    #[test]
    fn a_child_that_names_another_id_than_its_ancestor_is_a_wrong_parent() {
        let id = |span: Span, v: &str| attr(span, "order.id", Value::Str(v.into()));
        let mut spans = request("1");
        spans[3] = id(spans[3].clone(), "ord_a");
        spans.push(in_trace(
            id(span("b2", Some("b1"), "order-service", "send_to_printer", 20, 30), "ord_b"),
            "1",
        ));
        let traces = vec![Trace::new(spans.clone())];
        let findings = lint(&traces, &Thresholds::default());
        assert_eq!(findings.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::WrongParent]);
        assert!(
            findings[0]
                .detail
                .contains(r#"says order.id="ord_b" under "POST /orders", which says order.id="ord_a""#)
        );
        // The same id, or an id its ancestors do not name, is no finding.
        let last = spans.len() - 1;
        spans[last] = id(spans[last].clone(), "ord_a");
        spans[last] = attr(spans[last].clone(), "printer.id", Value::Str("p1".into()));
        assert_eq!(checks(vec![spans]), []);
    }

    #[test]
    fn a_long_but_finished_span_inside_its_parent_is_no_finding() {
        let mut spans = request("1");
        spans[0].end_unix_nano = 10_100_000_000;
        spans[1].end_unix_nano = 10_000_000_000;
        assert_eq!(checks(vec![spans]), []);
    }

    #[test]
    fn a_child_outside_its_parent_is_a_wrong_parent_unless_the_request_was_cancelled() {
        let mut spans = request("1");
        spans[1].end_unix_nano = 150_000_000;
        assert_eq!(checks(vec![spans.clone()]), [Check::WrongParent]);
        spans[0] = attr(spans[0].clone(), "error.type", Value::Str("cancelled".into()));
        assert_eq!(checks(vec![spans]), []);
        // Within the allowance: a clock's jitter.
        let mut close = request("1");
        close[1].end_unix_nano = 103_000_000;
        assert_eq!(checks(vec![close]), []);
    }

    #[test]
    fn many_short_spans_are_too_many_and_many_long_ones_or_few_short_ones_are_not() {
        let steps = |n: usize, nanos: u64| {
            let mut spans = request("1");
            for i in 0..n {
                let mut step = in_trace(span(&format!("s{i}"), Some("a1"), "gateway", "lookup", 20, 20), "1");
                step.end_unix_nano += nanos;
                spans.push(step);
            }
            spans
        };
        let traces = vec![Trace::new(steps(150, 5_000))];
        let findings = lint(&traces, &Thresholds::default());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].detail.contains("150 are gateway \"lookup\""), "{}", findings[0].detail);
        assert_eq!(checks(vec![steps(150, 2_000_000)]), [], "long spans: real work");
        assert_eq!(checks(vec![steps(30, 5_000)]), [], "under the threshold");
    }

    #[test]
    fn names_that_differ_only_in_an_id_are_unbounded_and_templates_are_not() {
        let named = |t: &str, name: &str| {
            let mut spans = request(t);
            spans[1].name = name.into();
            spans
        };
        let ids = ["ord_8f3a9c21d0", "ord_77b1e0aa42", "ord_0c9d33e7f1"];
        let traces: Vec<Trace> = ids
            .iter()
            .zip(["1", "2", "3"])
            .map(|(id, t)| Trace::new(named(t, &format!("store {id}"))))
            .collect();
        let findings = lint(&traces, &Thresholds::default());
        assert_eq!(findings.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::UnboundedNames]);
        assert!(findings[0].detail.contains("\"store ord_{id}\""), "{}", findings[0].detail);
        assert_eq!(template("GET /orders/42/items").as_deref(), Some("GET /orders/{id}/items"));
        assert_eq!(template("POST /v1/charges"), None);
        assert_eq!(template("GET /orders/{id}"), None);
        assert_eq!(template("check_stock"), None);
        // Two distinct names are under the threshold.
        assert_eq!(checks(vec![named("1", "store ord_8f3a9c21d0"), named("2", "store ord_77b1e0aa42")]), []);
    }

    #[test]
    fn an_http_failure_with_status_unset_is_an_unrecorded_error() {
        let mut spans = request("1");
        spans[0] = attr(spans[0].clone(), "http.response.status_code", Value::Int(503));
        assert_eq!(checks(vec![spans.clone()]), [Check::UnrecordedError]);
        spans[0].status = StatusCode::Error;
        assert_eq!(checks(vec![spans.clone()]), []);
        // A 4xx on a SERVER span is the client's mistake.
        spans[0] = attr(spans[0].clone(), "http.response.status_code", Value::Int(402));
        spans[0].status = StatusCode::Unset;
        assert_eq!(checks(vec![spans]), []);
    }

    #[test]
    fn the_text_gives_each_finding_its_spans_and_cause_and_a_summary() {
        let mut spans = request("1");
        spans[2] = attr(spans[2].clone(), "http.response.status_code", Value::Int(502));
        let traces = vec![Trace::new(spans)];
        let text = text(&lint(&traces, &Thresholds::default()), 1);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("unrecorded-error: \"POST /orders\" got HTTP 502"), "{text}");
        assert_eq!(lines[1], "  spans: gateway \"POST /orders\" (a3)");
        assert!(lines[2].starts_with("  likely cause: the failure was answered but not recorded"));
        assert_eq!(lines[3], "lint: 1 finding in 1 trace: 1 unrecorded-error");
        assert_eq!(super::text(&[], 4), "lint: no findings in 4 traces\n");
    }

    /// The skew allowance (5 ms by default), in nanoseconds.
    const ALLOWANCE: u64 = 5_000_000;

    #[test]
    fn a_child_may_start_before_or_end_after_its_parent_by_the_allowance_and_not_a_nanosecond_more() {
        // validate (a2) is gateway's own child of the SERVER span (a1), the trace a second in.
        let shifted = |start: i64, end: i64| {
            let mut spans = request("1");
            for span in &mut spans {
                span.start_unix_nano += 1_000_000_000;
                span.end_unix_nano += 1_000_000_000;
            }
            spans[1].start_unix_nano = spans[0].start_unix_nano.saturating_add_signed(start);
            spans[1].end_unix_nano = spans[0].end_unix_nano.saturating_add_signed(end);
            Trace::new(spans)
        };
        let a = ALLOWANCE as i64;
        let (edge_early, too_early) = (shifted(-a, -50_000_000), shifted(-a - 1, -50_000_000));
        let (edge_late, too_late) = (shifted(1_000_000, a), shifted(1_000_000, a + 1));
        let found = |t: Trace| lint(&[t], &Thresholds::default());
        assert!(found(edge_early).is_empty() && found(edge_late).is_empty(), "within the allowance");
        let early = found(too_early);
        assert_eq!(early.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::WrongParent]);
        assert!(early[0].detail.contains("starts 5.0 ms before its parent"), "{}", early[0].detail);
        let late = found(too_late);
        assert_eq!(late.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::WrongParent]);
        assert!(late[0].detail.contains("ends 5.0 ms after its parent"), "{}", late[0].detail);
    }

    #[test]
    fn a_callee_trace_is_the_split_half_only_if_it_started_within_the_call_give_or_take_the_allowance() {
        // The caller's CLIENT span (a3) runs 10–90 ms; the callee's own trace starts at `start` ns.
        let split_with = |start: u64| {
            let mut caller = request("1");
            let mut callee = in_trace(caller.pop().unwrap(), "2");
            callee.parent_span_id = None;
            callee.start_unix_nano = start;
            callee.end_unix_nano = start + 1_000_000;
            let traces = [Trace::new(caller), Trace::new(vec![callee])];
            lint(&traces, &Thresholds::default()).iter().any(|f| f.check == Check::Split)
        };
        let (call_start, call_end) = (10_000_000, 90_000_000);
        assert!(split_with(call_start - ALLOWANCE), "starting the allowance before the call");
        assert!(!split_with(call_start - ALLOWANCE - 1));
        assert!(split_with(call_end + ALLOWANCE), "starting the allowance after the call ended");
        assert!(!split_with(call_end + ALLOWANCE + 1));
        // A trace of another service than the one called is no split half.
        let mut caller = request("1");
        let mut other = in_trace(caller.pop().unwrap(), "2");
        (other.parent_span_id, other.service_name) = (None, "payment-service".into());
        assert!(lint(&[Trace::new(caller), Trace::new(vec![other])], &Thresholds::default()).is_empty());
    }

    #[test]
    fn too_many_spans_needs_more_than_the_maximum_and_more_than_half_of_them_short() {
        // `n` spans under a root, `short` of them shorter than 1 ms, the rest exactly 1 ms.
        let trace = |n: usize, short: usize| {
            let mut spans = vec![span("r", None, "order-service", "POST /orders", 0, 1_000)];
            for i in 1..n {
                let mut poll = span(&format!("p{i}"), Some("r"), "order-service", "poll", 1, 2);
                poll.end_unix_nano = poll.start_unix_nano + if i <= short { 999_999 } else { 1_000_000 };
                spans.push(poll);
            }
            lint(&[Trace::new(spans)], &Thresholds::default())
                .into_iter()
                .map(|f| f.check)
                .collect::<Vec<_>>()
        };
        assert_eq!(trace(50, 49), [], "50 spans is the maximum, not over it");
        assert_eq!(trace(51, 26), [Check::TooManySpans], "51 spans, 26 short: more than half");
        // The span it names is one of the commonest name, of its service, not the root beside them.
        let mut spans = vec![span("r", None, "order-service", "POST /orders", 0, 1_000)];
        spans.extend((1..60).map(|i| span(&format!("p{i}"), Some("r"), "order-service", "poll", 1, 1)));
        let found = lint(&[Trace::new(spans)], &Thresholds::default());
        assert_eq!(
            (found[0].spans[0].name.as_str(), found[0].spans[0].service.as_str()),
            ("poll", "order-service")
        );
        assert_eq!(trace(51, 25), [], "25 of 51 short is not more than half");
        assert_eq!(trace(51, 0), [], "a span of exactly 1 ms is not short");
        let thresholds = Thresholds { max_spans: 10, ..Thresholds::default() };
        let spans = (0..12).map(|i| span(&format!("s{i}"), None, "svc", "tick", i, i)).collect();
        let found = lint(&[Trace::new(spans)], &thresholds);
        assert_eq!(found.len(), 1, "the maximum is a setting");
        assert!(found[0].detail.starts_with("12 spans, 12 of them shorter than 1 ms; 12 are svc \"tick\""));
    }

    #[test]
    fn an_id_like_token_is_all_digits_or_eight_letters_and_digits_with_a_digit() {
        for (token, like) in [
            ("7", true),
            ("12345678901", true),
            ("a1b2c3d4", true),
            ("a1b2c3d", false),
            ("abcdefgh", false),
            ("v2", false),
            ("", false),
        ] {
            assert_eq!(id_like(token), like, "{token:?}");
        }
        assert_eq!(template("POST /orders ord_7a8b9c0d").as_deref(), Some("POST /orders ord_{id}"));
        assert_eq!(template("GET /users/42/cart").as_deref(), Some("GET /users/{id}/cart"));
        assert_eq!(template("GET /api/v2/orders"), None, "a version is not an id");
        // Three names of one template are unbounded; two are not (`max_names_per_template`).
        let named = |names: &[&str]| {
            let spans = names.iter().enumerate().map(|(i, n)| span(&format!("s{i}"), None, "svc", n, 0, 1));
            let traces: Vec<Trace> = spans.map(|s| Trace::new(vec![s])).collect();
            lint(&traces, &Thresholds::default()).into_iter().map(|f| f.check).collect::<Vec<_>>()
        };
        assert_eq!(named(&["GET /o/1", "GET /o/2"]), []);
        assert_eq!(named(&["GET /o/1", "GET /o/2", "GET /o/3"]), [Check::UnboundedNames]);
    }

    #[test]
    fn only_a_call_without_a_server_child_can_be_split_whatever_other_children_it_has() {
        // The callee's own trace, started during the call.
        let callee_trace = || {
            let mut callee = in_trace(request("1").pop().unwrap(), "2");
            callee.parent_span_id = None;
            Trace::new(vec![callee])
        };
        // The call with an INTERNAL child (its retry wait, say) and no SERVER child: split.
        let mut caller = request("1");
        caller.pop();
        caller.push(in_trace(span("a4", Some("a3"), "gateway", "backoff", 20, 30), "1"));
        let found = lint(&[Trace::new(caller), callee_trace()], &Thresholds::default());
        assert_eq!(found.iter().map(|f| f.check).collect::<Vec<_>>(), [Check::Split]);
        // The call with its SERVER child: whole, whatever trace the callee also started.
        let found = lint(&[Trace::new(request("1")), callee_trace()], &Thresholds::default());
        assert!(found.iter().all(|f| f.check != Check::Split), "{found:?}");
        // A span that is not a CLIENT span, with a peer named, is no call.
        let mut caller = request("1");
        caller.pop();
        caller[2].kind = Kind::Internal;
        assert!(lint(&[Trace::new(caller), callee_trace()], &Thresholds::default()).is_empty());
    }
}
