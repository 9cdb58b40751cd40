//! Spans on behalf of a *simulated* remote system, exported under that system's own `service.name`.
//!
//! payment-service does not really call Stripe; it waits as long as Stripe would. To make the
//! trace tell the true story ("80 ms of this checkout was Stripe"), the wait is recorded as a
//! CLIENT span whose resource says `service.name=stripe`, so Jaeger draws Stripe as its own node
//! in the dependency graph. Jaeger's HotROD demo does the same for its fake MySQL and Redis.
//!
//! A provider has exactly one resource, so the simulated system has a provider (and a tracer) of
//! its own, beside the service's.

use std::borrow::Cow;

use opentelemetry::{
    Context, KeyValue,
    trace::{SpanBuilder, SpanKind, TraceContextExt as _},
};

use crate::edge::{EdgeSpan, EdgeTracer, peer_service};

/// A simulated remote system (e.g. `"stripe"`), made by [`crate::Telemetry::remote_system`].
#[derive(Debug, Clone)]
pub struct RemoteSystem {
    name: &'static str,
    /// A tracer of the system's own provider, whose resource says `service.name = <name>`.
    tracer: EdgeTracer,
}

impl RemoteSystem {
    /// The system `name`, its spans made with `tracer` (whose resource should say
    /// `service.name = <name>`): what [`crate::Telemetry::remote_system`] builds.
    pub fn new(name: &'static str, tracer: EdgeTracer) -> Self {
        Self { name, tracer }
    }

    /// A remote system whose spans are never recorded: for tests and for running without telemetry.
    pub fn disabled(name: &'static str) -> Self {
        Self { name, tracer: EdgeTracer::disabled() }
    }

    /// The system's `service.name`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Starts a CLIENT span for one call to this system, as a child of the current span.
    /// `service.peer.name` and `peer.service` are set to the system's name; add the rest with
    /// `attributes`.
    pub fn start_call(
        &self,
        span_name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
    ) -> RemoteCall {
        let builder = || {
            SpanBuilder::from_name(span_name)
                .with_attributes(peer_service(self.name).into_iter().chain(attributes).collect::<Vec<_>>())
        };
        RemoteCall { span: self.tracer.start(&Context::current(), SpanKind::Client, builder) }
    }
}

/// One call to a remote system; the span ends when this is dropped (or [`RemoteCall::end`]).
#[derive(Debug)]
pub struct RemoteCall {
    span: EdgeSpan,
}

impl RemoteCall {
    /// Adds an attribute to the call's span.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.span.set_attribute(attribute);
    }

    /// Adds a named event (a timestamped log entry) to the call's span.
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.span.context().span().add_event(name, attributes);
    }

    /// Marks the call failed: span status ERROR, with `error.type` and a description.
    pub fn fail(&self, error_type: &'static str, description: impl Into<String>) {
        self.span.fail(error_type, description);
    }

    /// The trace context of the call's span (to propagate into a real remote request).
    pub fn context(&self) -> &Context {
        self.span.context()
    }

    /// Ends the call's span now.
    pub fn end(self) {
        drop(self.span);
    }
}
