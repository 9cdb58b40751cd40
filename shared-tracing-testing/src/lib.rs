//! Spans in memory, for in-process tests of a service traced with shared-tracing: the subscriber
//! and pipeline [`shared_tracing::init`] sets up, minus the export over the network.
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

pub mod console;

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
};

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::{
    Resource,
    trace::{
        InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanProcessor,
        TracerProviderBuilder,
    },
};
use tracing::{Dispatch, subscriber::NoSubscriber};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

use shared_tracing::{
    EdgeTracer, config::Propagators, remote::RemoteSystem, span_events::SpanEvents, telemetry::span_filter,
};

/// Adds the service's span processor, made anew, ahead of the exporter (see
/// [`TestTelemetry::start_with`]).
type AddProcessor = Arc<dyn Fn(TracerProviderBuilder) -> TracerProviderBuilder + Send + Sync>;

/// Telemetry for one test: spans exported synchronously, as they end, to memory.
pub struct TestTelemetry {
    add: AddProcessor,
    /// The provider of [`TestTelemetry::tracer`] and of the `tracing` bridge.
    main: Exported,
    /// One provider per service or remote system, each under its own `service.name`.
    named: Vec<(&'static str, Exported)>,
    _subscriber: tracing::subscriber::DefaultGuard,
}

/// A provider and the spans it exported.
struct Exported {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Exported {
    /// A provider with the service's processor (`add`), then one exporting to memory as spans end.
    fn new(add: &AddProcessor, resource: Resource) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = add(SdkTracerProvider::builder().with_resource(resource));
        let provider = provider.with_span_processor(SimpleSpanProcessor::new(exporter.clone())).build();
        Self { provider, exporter }
    }

    fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap_or_default()
    }
}

impl TestTelemetry {
    /// Installs the W3C propagators and, on this thread, the bridge and span-events layers.
    pub fn start() -> Self {
        Self::from_parts(Arc::new(|provider| provider))
    }

    /// Like [`TestTelemetry::start`], with a span processor of the service's own ahead of the
    /// exporter, as [`shared_tracing::TelemetryBuilder::with_span_processor`] adds it in production:
    /// `TestTelemetry::start_with(|| ScenarioStamp)`. Every provider gets one.
    pub fn start_with<P>(make: impl Fn() -> P + Send + Sync + 'static) -> Self
    where
        P: SpanProcessor + 'static,
    {
        Self::from_parts(Arc::new(move |provider| provider.with_span_processor(make())))
    }

    fn from_parts(add: AddProcessor) -> Self {
        let w3c = shared_tracing::propagation::composite(&Propagators::w3c());
        shared_tracing::propagation::install(w3c);
        let main = Exported::new(&add, Resource::builder().build());
        let subscriber = tracing_subscriber::registry()
            .with(shared_tracing::bridge::layer(main.provider.tracer("test")).with_filter(span_filter()))
            .with(SpanEvents.with_filter(span_filter()));
        // `tracing` caches, per callsite and process-wide, whether a subscriber wants it. With one
        // subscriber registered it asks only the *current thread's* (tracing-core 0.1.36,
        // `callsite.rs`, `Rebuilder::JustOne`), so a test running beside this one without a
        // subscriber would cache "nobody wants this span" for both. A second, idle subscriber
        // kept alive for the whole process makes it ask every subscriber instead.
        static IDLE: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(NoSubscriber::default()));
        LazyLock::force(&IDLE);
        let guard = tracing::subscriber::set_default(subscriber);
        Self { add, main, named: Vec::new(), _subscriber: guard }
    }

    /// The tracer to give the router and clients under test.
    pub fn tracer(&self) -> EdgeTracer {
        EdgeTracer::new(self.main.provider.tracer("test"))
    }

    /// A tracer whose edge spans are exported under `service.name` = `name`, for tests that run
    /// several services' routers in one process. (`tracing` spans all go through the one bridge;
    /// [`TestTelemetry::spans_by_service`] gives each the service of the edge span it sits under.)
    pub fn service(&mut self, name: &'static str) -> EdgeTracer {
        let exported = Exported::new(&self.add, Resource::builder_empty().with_service_name(name).build());
        let tracer = EdgeTracer::new(exported.provider.tracer(name));
        self.named.push((name, exported));
        tracer
    }

    /// A remote system whose spans land beside the service's (its resource says `service.name`).
    pub fn remote_system(&mut self, name: &'static str) -> RemoteSystem {
        RemoteSystem::new(name, self.service(name))
    }

    /// Every span finished so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        let mut spans = self.main.spans();
        spans.extend(self.named.iter().flat_map(|(_, exported)| exported.spans()));
        spans.sort_by_key(|s| s.end_time);
        spans
    }

    /// Every span finished so far with the `service.name` of its provider; a span made through
    /// [`TestTelemetry::tracer`] or the bridge takes the service of its nearest ancestor that has
    /// one (an internal span belongs to the service whose SERVER span it runs under), else
    /// `unknown_service`.
    pub fn spans_by_service(&self) -> Vec<(&'static str, SpanData)> {
        let spans = self.spans();
        let mut service: HashMap<SpanId, &'static str> = HashMap::new();
        for (name, exported) in &self.named {
            service.extend(exported.spans().iter().map(|s| (s.span_context.span_id(), *name)));
        }
        let parent: HashMap<SpanId, SpanId> =
            spans.iter().map(|s| (s.span_context.span_id(), s.parent_span_id)).collect();
        let service_of = |mut id: SpanId| {
            // Bounded: a parent chain is at most as long as the spans there are.
            for _ in 0..=spans.len() {
                if let Some(name) = service.get(&id) {
                    return *name;
                }
                match parent.get(&id) {
                    Some(up) => id = *up,
                    None => break,
                }
            }
            "unknown_service"
        };
        spans.iter().map(|s| (service_of(s.span_context.span_id()), s.clone())).collect()
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
