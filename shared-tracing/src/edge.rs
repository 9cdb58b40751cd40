//! Edge spans: the spans where a request crosses a process boundary, made with the OpenTelemetry
//! API itself.
//!
//! Which API makes which span is the OpenTelemetry Rust project's own guidance
//! (opentelemetry-rust `docs/traces.md`):
//! - **Edge spans** (the SERVER span of an incoming request, the CLIENT span of an outgoing call,
//!   a span on behalf of another system) go through the OpenTelemetry API, here: their kind, their
//!   remote parent and the context injected into the next hop are what joins services into one
//!   trace, and that API says them directly.
//! - **Internal spans** (validation, a stock check, a query) are ordinary `tracing` spans
//!   (`#[tracing::instrument]`, `info_span!`), which `tracing-opentelemetry` turns into
//!   OpenTelemetry spans: the API a Rust codebase already uses.
//!
//! The two meet through the OpenTelemetry [`Context`]. An edge span runs its code with its
//! context attached, so a `tracing` span opened inside becomes its child; and the bridge attaches a
//! `tracing` span's context whenever it is entered, so an edge span started inside one (say, a
//! CLIENT span in an `#[instrument]`ed function) takes that span as its parent.

use std::future::Future;

use opentelemetry::{
    Context, KeyValue,
    context::{FutureExt as _, WithContext},
    trace::{SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer as _},
};
use opentelemetry_sdk::trace::SdkTracer;

use opentelemetry_semantic_conventions::attribute;

/// `peer.service`, the name of the service a CLIENT span calls. The semantic conventions have
/// renamed it `service.peer.name` (the constant is deprecated), and edge CLIENT spans carry that
/// name too ([`peer_service`]); `peer.service` stays beside it because Jaeger's dependency graph
/// and many dashboards still read it, so it is spelt out here.
pub const PEER_SERVICE: &str = "peer.service";

/// The attributes naming the service a CLIENT span calls: `service.peer.name`, the current
/// semantic-convention name, and the deprecated `peer.service` that Jaeger still reads.
pub fn peer_service(name: &'static str) -> [KeyValue; 2] {
    [KeyValue::new(attribute::SERVICE_PEER_NAME, name), KeyValue::new(PEER_SERVICE, name)]
}

/// The tracer edge spans are made with: [`crate::Telemetry::tracer`] hands it out, and the
/// inbound layer, the outbound client and a remote system each keep a clone (a cheap handle).
///
/// It is passed explicitly rather than read from `opentelemetry::global` so that a test can give
/// a router a tracer of its own (an in-memory exporter per test) and so that, with telemetry off,
/// it is plain to see that nothing is made.
#[derive(Debug, Clone, Default)]
pub struct EdgeTracer {
    /// `None` when telemetry is off: then a span is its parent's context, passed on unchanged, as
    /// the OpenTelemetry API does without an SDK.
    tracer: Option<SdkTracer>,
}

impl EdgeTracer {
    /// Edge spans made with `tracer`.
    pub fn new(tracer: SdkTracer) -> Self {
        Self { tracer: Some(tracer) }
    }

    /// No edge spans: the caller's context travels on unchanged (telemetry off, or a test that
    /// does not look at spans).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Starts the span `builder` describes, a span of `kind`, as a child of the span in `parent`
    /// (the SDK's sampler decides whether it is recorded). Baggage in `parent` travels on in the
    /// new span's context. With telemetry off `builder` does not run: there is nothing to name.
    pub(crate) fn start(
        &self,
        parent: &Context,
        kind: SpanKind,
        builder: impl FnOnce() -> SpanBuilder,
    ) -> EdgeSpan {
        let Some(tracer) = &self.tracer else {
            return EdgeSpan { cx: parent.clone(), owned: false };
        };
        let span = tracer.build_with_context(builder().with_kind(kind), parent);
        let cx = parent.with_span(span);
        EdgeSpan { cx, owned: true }
    }
}

/// A started edge span, and the context that holds it. The span ends when this is dropped, so a
/// request cancelled half-way (its future dropped) still ends its spans.
#[derive(Debug)]
#[must_use = "the span ends as soon as this is dropped"]
pub struct EdgeSpan {
    cx: Context,
    /// False when telemetry is off (`cx` is then the parent's): there is nothing to end.
    owned: bool,
}

impl EdgeSpan {
    /// The context holding this span (to attach, or to inject into an outgoing request).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Adds an attribute.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Marks the span failed: status ERROR with `description`, and the low-cardinality
    /// `error.type` the semantic conventions ask for.
    pub fn fail(&self, error_type: impl Into<opentelemetry::Value>, description: impl Into<String>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(attribute::ERROR_TYPE, error_type));
        span.set_status(Status::error(description.into()));
    }

    /// Ends the span now (as dropping it does).
    pub fn end(self) {
        drop(self);
    }

    /// `future`, run with this span as the current one (attached on every poll): its `tracing`
    /// spans, log lines and outgoing calls all find the span in `Context::current()`.
    pub(crate) fn scope<F: Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.cx.clone())
    }
}

impl Drop for EdgeSpan {
    fn drop(&mut self) {
        if self.owned {
            self.cx.span().end();
        }
    }
}
