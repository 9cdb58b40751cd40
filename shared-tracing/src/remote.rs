//! Spans on behalf of a remote system that does not trace itself (a SaaS API, a database, a
//! simulated dependency), exported under that system's own `service.name`.
//!
//! A call to such a system is a CLIENT span whose resource says `service.name=<the system>`, so
//! Jaeger draws it as a node of its own in the dependency graph and a reader sees how much of the
//! request it took. Jaeger's HotROD demo does the same for its fake MySQL and Redis.
//!
//! A provider has exactly one resource, so the system has a provider (and a tracer) of its own,
//! beside the service's.

use std::borrow::Cow;

use opentelemetry::{
    Context, KeyValue,
    trace::{SpanBuilder, SpanKind},
};

use crate::edge::{EdgeSpan, EdgeTracer, peer_service};

/// A remote system (e.g. `"billing-api"`), made by [`crate::Telemetry::remote_system`].
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

    /// Starts a CLIENT span for one call to this system, as a child of the current span; it ends
    /// when the returned span is dropped (or [`EdgeSpan::end`]).
    /// `service.peer.name` and `peer.service` are set to the system's name; add the rest with
    /// `attributes`.
    pub fn start_call(&self, span_name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) -> EdgeSpan {
        let builder = || {
            SpanBuilder::from_name(span_name)
                .with_attributes(peer_service(self.name).into_iter().chain(attributes).collect::<Vec<_>>())
        };
        self.tracer.start(&Context::current(), SpanKind::Client, builder)
    }
}
