//! A tracer provider whose finished spans are kept in memory, and the subscriber a service gets
//! from `shared_tracing::init` (the bridge and the span-events layer, same filters), for one test.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SdkTracerProvider, SpanData, SpanExporter},
};
use shared_tracing::{
    EdgeTracer, bridge, config::Propagators, span_events::SpanEvents, telemetry::span_filter,
};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

/// An exporter that keeps what it is given.
#[derive(Debug, Clone, Default)]
pub struct Kept(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Kept {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Telemetry for one test: the edge tracer, and the subscriber guard that keeps the bridge on
/// this thread until it is dropped.
pub struct TestTelemetry {
    pub tracer: EdgeTracer,
    kept: Kept,
    _provider: SdkTracerProvider,
    _subscriber: tracing::subscriber::DefaultGuard,
}

impl TestTelemetry {
    /// Spans exported synchronously as they end, to memory.
    pub fn start() -> Self {
        shared_tracing::propagation::install(Propagators { trace_context: true, baggage: true });
        let kept = Kept::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(kept.clone()).build();
        let tracer = provider.tracer("test");
        let subscriber = tracing_subscriber::registry()
            .with(bridge::layer(tracer.clone()).with_filter(span_filter()))
            .with(SpanEvents.with_filter(span_filter()));
        let guard = tracing::subscriber::set_default(subscriber);
        Self { tracer: EdgeTracer::new(tracer), kept, _provider: provider, _subscriber: guard }
    }

    /// Every span finished so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.kept.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The one finished span named `name`.
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let mut named = spans.iter().filter(|s| s.name == name);
        match (named.next(), named.next()) {
            (Some(span), None) => span.clone(),
            _ => panic!(
                "expected one span named {name:?} in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            ),
        }
    }
}
