//! Making spans: the OpenTelemetry tracing API, used directly.
//!
//! Every span of the checkout (SERVER, CLIENT, database and INTERNAL spans) is an OpenTelemetry
//! span made here, and a request's code runs with its span's [`Context`] attached, so
//! `Context::current()` is always the innermost span. That one fact is what everything else
//! builds on: log lines take their `trace_id` from it ([`crate::logging`]), `tracing::info!`
//! events inside a request become events of that span ([`crate::span_events`]), and outgoing
//! calls inject it ([`crate::outbound`]).
//!
//! Why not `tracing` spans and the tracing-opentelemetry bridge? They work, and the first version
//! of this project used them. But every bridged span is made twice (a `tracing` span in the
//! subscriber's registry, then an OpenTelemetry span from it) and costs a clock read on every
//! poll; measured, the bridge was 30% of what tracing cost a checkout (see BENCHMARKS.md). Using
//! the OpenTelemetry API directly costs one span, and a reader sees the API that every
//! OpenTelemetry SDK shares.
//!
//! Two more things keep spans cheap: a span's name and attributes are built by a closure that only
//! runs when telemetry is on, and while the export queue is full or the collector is failing a
//! span is *shed* (not built at all, see [`ActiveSpan::start`]).
//!
//! ```
//! use opentelemetry::{KeyValue, trace::SpanBuilder};
//! use shared_tracing::span;
//!
//! # async fn check_stock() {}
//! # async fn example() {
//! let check = || SpanBuilder::from_name("check_stock").with_attributes([KeyValue::new("product.sku", "SKU-1")]);
//! span::in_span(check, check_stock()).await;
//! # }
//! ```

use std::{future::Future, sync::Arc, sync::OnceLock};

use opentelemetry::{
    Context, KeyValue,
    context::{FutureExt as _, WithContext},
    trace::{SpanBuilder, SpanContext, SpanRef, Status, TraceContextExt as _, TraceFlags, Tracer as _},
};
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator, SdkTracer};

use crate::export_queue::QueueGauge;

/// The tracer of this service, set once by [`crate::init`]. A process-wide tracer is what the
/// OpenTelemetry API itself offers (`global::tracer`); this one skips the global's per-call lock
/// and boxing. Unset (telemetry disabled, or `init` not called) means spans are not recorded.
static TRACER: OnceLock<ServiceTracer> = OnceLock::new();

#[derive(Debug)]
struct ServiceTracer {
    tracer: SdkTracer,
    /// The export queue of `tracer`'s provider: while it refuses spans, they are shed, not built.
    queue: Arc<QueueGauge>,
}

/// Makes `tracer` the one every span of this process is started with, and `queue` its export
/// queue. Only the first call counts.
pub(crate) fn install(tracer: SdkTracer, queue: Arc<QueueGauge>) {
    let _ = TRACER.set(ServiceTracer { tracer, queue });
}

/// A started span, and the context that holds it. The span ends when this is dropped, so a
/// request cancelled half-way (its future dropped) still ends its spans.
#[derive(Debug)]
#[must_use = "the span ends as soon as this is dropped"]
pub struct ActiveSpan {
    cx: Context,
    /// False when telemetry is off (then `cx` is the parent's context, passed on unchanged, as the
    /// OpenTelemetry API does without an SDK) and for a shed span: there is nothing to end.
    owned: bool,
}

impl ActiveSpan {
    /// Starts a span as a child of the span in `parent`; baggage in `parent` travels on in the new
    /// span's context. `builder` names the span and gives its first attributes; it is only called
    /// when telemetry is on, so with telemetry off a span costs no formatting and no allocation.
    ///
    /// While the export queue refuses spans (it is full, or exports are failing: the collector is
    /// down or far behind), the span is *shed*: not built, and counted as dropped (see
    /// [`crate::export_queue`]), because it could only be dropped when it ends. The trace still travels on: the shed span gets ids like any other,
    /// keeps its parent's sampling flag (a trace that would start here is not sampled), and is
    /// injected into outgoing calls, so the services behind go on tracing.
    pub fn start(parent: &Context, builder: impl FnOnce() -> SpanBuilder) -> Self {
        let Some(service) = TRACER.get() else {
            return Self { cx: parent.clone(), owned: false };
        };
        if service.queue.is_refusing() {
            return Self { cx: shed(&service.queue, parent), owned: false };
        }
        Self { cx: parent.with_span(service.tracer.build_with_context(builder(), parent)), owned: true }
    }

    /// Starts a span as a child of the current span.
    pub fn start_in_current(builder: impl FnOnce() -> SpanBuilder) -> Self {
        Self::start(&Context::current(), builder)
    }

    /// The context holding this span (to attach, or to inject into an outgoing request).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The span itself.
    pub fn span(&self) -> SpanRef<'_> {
        self.cx.span()
    }

    /// Adds an attribute.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Marks the span failed: status ERROR with `description`, and the low-cardinality
    /// `error.type` the semantic conventions ask for.
    pub fn fail(&self, error_type: impl Into<opentelemetry::Value>, description: impl Into<String>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", error_type));
        span.set_status(Status::error(description.into()));
    }

    /// `future`, run with this span as the current one (attached on every poll).
    pub fn scope<F: Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.cx.clone())
    }

    /// Runs `future` in this span, then ends it.
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        self.scope(future).await
    }
}

impl Drop for ActiveSpan {
    fn drop(&mut self) {
        if self.owned {
            self.cx.span().end();
        }
    }
}

/// Sheds a span that would start in `parent` while `queue` refuses spans: counts it as dropped, and
/// returns a context holding a span that is not recorded, in the parent's trace (or a new,
/// unsampled one) with a new span id. Its context is marked local, not remote: it stands for a
/// span of this process.
pub(crate) fn shed(queue: &QueueGauge, parent: &Context) -> Context {
    queue.shed();
    parent.with_remote_span_context(shed_span_context(parent))
}

fn shed_span_context(parent: &Context) -> SpanContext {
    let ids = RandomIdGenerator::default();
    let span = parent.span();
    let parent = span.span_context();
    if parent.is_valid() {
        SpanContext::new(
            parent.trace_id(),
            ids.new_span_id(),
            parent.trace_flags(),
            false,
            parent.trace_state().clone(),
        )
    } else {
        SpanContext::new(
            ids.new_trace_id(),
            ids.new_span_id(),
            TraceFlags::default(),
            false,
            Default::default(),
        )
    }
}

/// Runs `future` inside a new span, child of the current one: the `#[instrument]` of this crate.
pub async fn in_span<F: Future>(builder: impl FnOnce() -> SpanBuilder, future: F) -> F::Output {
    match TRACER.get() {
        // Telemetry off: the current context (and its baggage) is already attached around us.
        None => future.await,
        // Shed: an INTERNAL span needs no ids of its own (nothing is sent under them), so the
        // future simply runs in the current span.
        Some(service) if service.queue.is_refusing() => {
            service.queue.shed();
            future.await
        }
        Some(_) => ActiveSpan::start_in_current(builder).run(future).await,
    }
}

/// `attributes` as a span's first attributes, with room for the ones added later (the scenario
/// stamp, the outcome) so that adding them does not move the whole list.
pub fn attributes<const N: usize>(attributes: [KeyValue; N]) -> Vec<KeyValue> {
    let mut list = Vec::with_capacity(N + 4);
    list.extend(attributes);
    list
}

/// Adds an attribute to the current span (the request's SERVER span in a handler), if there is one.
pub fn set_attribute(attribute: KeyValue) {
    Context::map_current(|cx| cx.span().set_attribute(attribute));
}
