//! Spans on behalf of a *simulated* remote system, exported under that system's own `service.name`.
//!
//! payment-service does not really call Stripe; it waits as long as Stripe would. To make the
//! trace tell the true story ("80 ms of this checkout was Stripe"), the wait is recorded as a
//! CLIENT span whose resource says `service.name=stripe`, so Jaeger draws Stripe as its own node
//! in the dependency graph. Jaeger's HotROD demo does the same for its fake MySQL and Redis.
//!
//! A provider has exactly one resource, so the simulated system has a provider (and a tracer) of
//! its own, beside the service's.

use std::{borrow::Cow, sync::Arc};

use opentelemetry::{
    Context, KeyValue,
    trace::{SpanKind, Status, TraceContextExt as _, Tracer as _},
};
use opentelemetry_sdk::trace::SdkTracer;

use crate::span::Gate;

/// A simulated remote system (e.g. `"stripe"`), made by [`crate::Telemetry::remote_system`].
#[derive(Debug, Clone)]
pub struct RemoteSystem {
    name: &'static str,
    tracer: SdkTracer,
    /// What decides which calls' spans are not built, like the service's own (see
    /// [`crate::span`]); `None` when spans are never recorded.
    gate: Option<Arc<Gate>>,
}

impl RemoteSystem {
    pub(crate) fn new(name: &'static str, tracer: SdkTracer, gate: Gate) -> Self {
        Self { name, tracer, gate: Some(Arc::new(gate)) }
    }

    /// A remote system whose spans are never recorded: for tests and for running without telemetry.
    pub fn disabled(name: &'static str) -> Self {
        use opentelemetry::trace::TracerProvider as _;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .build();
        Self { name, tracer: provider.tracer(name), gate: None }
    }

    /// The system's `service.name`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Starts a CLIENT span for one call to this system, as a child of the current span.
    /// `peer.service` is set to the system's name; add the rest with `attributes`.
    pub fn start_call(
        &self,
        span_name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
    ) -> RemoteCall {
        let parent = Context::current();
        if let Some(cx) = self.gate.as_deref().and_then(|gate| gate.skip(&parent)) {
            return RemoteCall { cx };
        }
        let span = self
            .tracer
            .span_builder(span_name)
            .with_kind(SpanKind::Client)
            .with_attributes(
                std::iter::once(KeyValue::new("peer.service", self.name))
                    .chain(attributes)
                    .collect::<Vec<_>>(),
            )
            .start_with_context(&self.tracer, &parent);
        RemoteCall { cx: parent.with_span(span) }
    }
}

/// One call to a remote system; the span ends when this is dropped (or [`RemoteCall::end`]).
#[derive(Debug)]
pub struct RemoteCall {
    cx: Context,
}

impl RemoteCall {
    /// Adds an attribute to the call's span.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Adds a named event (a timestamped log entry) to the call's span.
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.cx.span().add_event(name, attributes);
    }

    /// Marks the call failed: span status ERROR, with `error.type` and a description.
    pub fn fail(&self, error_type: &'static str, description: impl Into<Cow<'static, str>>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", error_type));
        span.set_status(Status::error(description));
    }

    /// The trace context of the call's span (to propagate into a real remote request).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Ends the call's span now.
    pub fn end(self) {
        self.cx.span().end();
    }
}
