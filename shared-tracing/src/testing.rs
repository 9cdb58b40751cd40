//! Spans in memory, for in-process tests of a service's trace (the `testing` feature): the
//! subscriber and pipeline [`crate::init`] sets up, minus the export over the network.
//!
//! ```ignore
//! let telemetry = TestTelemetry::start();
//! let response = my_service::router(config, telemetry.tracer()).oneshot(request).await?;
//! let server = telemetry.span("POST /orders");
//! assert_eq!(telemetry.span("validate_order").parent_span_id, server.span_context.span_id());
//! ```
//!
//! The `tracing` subscriber is installed for the current thread only, until the [`TestTelemetry`]
//! is dropped, so each test has spans of its own: run the test on a current-thread runtime
//! (`#[tokio::test]`), where every task it spawns runs on that thread too.

use std::sync::LazyLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{
    Resource,
    trace::{InMemorySpanExporter, SdkTracerProvider, SpanData},
};
use tracing::{Dispatch, subscriber::NoSubscriber};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

use crate::{
    EdgeTracer, config::Propagators, remote::RemoteSystem, span_events::SpanEvents, telemetry::span_filter,
};

/// Telemetry for one test: spans exported synchronously, as they end, to memory.
pub struct TestTelemetry {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    remote_providers: Vec<SdkTracerProvider>,
    _subscriber: tracing::subscriber::DefaultGuard,
}

impl TestTelemetry {
    /// Installs the W3C propagators and, on this thread, the bridge and span-events layers.
    pub fn start() -> Self {
        crate::propagation::install(Propagators { trace_context: true, baggage: true });
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let subscriber = tracing_subscriber::registry()
            .with(crate::bridge::layer(provider.tracer("test")).with_filter(span_filter()))
            .with(SpanEvents.with_filter(span_filter()));
        // `tracing` caches, per callsite and process-wide, whether a subscriber wants it. With one
        // subscriber registered it asks only the *current thread's* (tracing-core 0.1.36,
        // `callsite.rs`, `Rebuilder::JustOne`), so a test running beside this one without a
        // subscriber would cache "nobody wants this span" for both. A second, idle subscriber
        // kept alive for the whole process makes it ask every subscriber instead.
        static IDLE: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(NoSubscriber::default()));
        LazyLock::force(&IDLE);
        let guard = tracing::subscriber::set_default(subscriber);
        Self { exporter, provider, remote_providers: Vec::new(), _subscriber: guard }
    }

    /// The tracer to give the router and clients under test.
    pub fn tracer(&self) -> EdgeTracer {
        EdgeTracer::new(self.provider.tracer("test"))
    }

    /// A remote system whose spans land beside the service's (its resource says `service.name`).
    pub fn remote_system(&mut self, name: &'static str) -> RemoteSystem {
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(self.exporter.clone())
            .with_resource(Resource::builder_empty().with_service_name(name).build())
            .build();
        let system = RemoteSystem::new(name, EdgeTracer::new(provider.tracer(name)));
        self.remote_providers.push(provider);
        system
    }

    /// Every span finished so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap_or_default()
    }

    /// The one finished span named `name`; panics, listing the names, if there is none or several.
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let mut named = spans.iter().filter(|s| s.name == name);
        match (named.next(), named.next()) {
            (Some(span), None) => span.clone(),
            _ => panic!(
                "expected one span named {name:?} among {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            ),
        }
    }

    /// The finished spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans().into_iter().filter(|s| s.name == name).collect()
    }
}
