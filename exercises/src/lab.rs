//! Where an exercise runs: OpenTelemetry set up as a service sets it up (a tracer provider per
//! service, the W3C propagators, `tracing` bridged to OpenTelemetry), exporting to memory instead
//! of a collector, and the spans read back as `tracectl` reads an OTLP export.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry::{
    global,
    propagation::TextMapCompositePropagator,
    trace::{SpanId, TraceId, TracerProvider as _},
};
use opentelemetry_proto::{
    tonic::collector::trace::v1::ExportTraceServiceRequest,
    transform::{
        common::tonic::ResourceAttributesWithSchema, trace::tonic::group_spans_by_resource_and_scope,
    },
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{
        BatchConfigBuilder, BatchSpanProcessor, IdGenerator, Sampler, SdkTracerProvider, SpanData,
        SpanExporter,
    },
};
use tracectl::{model::Span, trace::Trace};
use tracing_subscriber::layer::SubscriberExt as _;

/// The services of one exercise, each with its own provider (its own `service.name`) exporting
/// to memory.
#[derive(Debug, Default)]
pub struct Lab {
    services: Vec<Service>,
}

#[derive(Debug)]
struct Service {
    resource: Resource,
    provider: SdkTracerProvider,
    exporter: Recorder,
}

impl Lab {
    /// A lab whose first service, `service`, is the one the exercise's code runs in: the global
    /// tracer provider, and the provider of `tracing`'s spans. The W3C propagators are installed
    /// as the global propagator, as `OTEL_PROPAGATORS`' default asks.
    pub fn new(service: &'static str) -> Lab {
        Lab::with_provider(service, |exporter| SdkTracerProvider::builder().with_simple_exporter(exporter))
    }

    /// The same, with `sampler` deciding which of the service's spans are recorded, and trace ids
    /// that are the same on every run (random-looking, from a counter), so a ratio keeps the same
    /// traces every time.
    pub fn sampled(service: &'static str, sampler: Sampler) -> Lab {
        Lab::with_provider(service, |exporter| {
            SdkTracerProvider::builder()
                .with_simple_exporter(exporter)
                .with_sampler(sampler)
                .with_id_generator(CountingIds::default())
        })
    }

    /// The same, but the service's spans leave through a batch processor that exports only
    /// when flushed (or shut down): what a program that exits at once meets.
    pub fn batched(service: &'static str) -> Lab {
        Lab::with_provider(service, |exporter| {
            let config =
                BatchConfigBuilder::default().with_scheduled_delay(Duration::from_secs(3600)).build();
            let batch = BatchSpanProcessor::builder(exporter).with_batch_config(config).build();
            SdkTracerProvider::builder().with_span_processor(batch)
        })
    }

    fn with_provider(
        service: &'static str,
        builder: impl FnOnce(Recorder) -> opentelemetry_sdk::trace::TracerProviderBuilder,
    ) -> Lab {
        let exporter = Recorder::default();
        let resource = Resource::builder_empty().with_service_name(service).build();
        let provider = builder(exporter.clone()).with_resource(resource.clone()).build();
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
        // One exercise per process: the subscriber is the process's, as a service's is.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
        Lab { services: vec![Service { resource, provider, exporter }] }
    }

    /// The provider of the exercise's own service.
    pub fn provider(&self) -> SdkTracerProvider {
        self.services[0].provider.clone()
    }

    /// Another service, which the lab plays (a caller, a callee), with a provider of its own.
    pub fn other(&mut self, service: &'static str) -> SdkTracerProvider {
        let exporter = Recorder::default();
        let resource = Resource::builder_empty().with_service_name(service).build();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .with_resource(resource.clone())
            .build();
        self.services.push(Service { resource, provider: provider.clone(), exporter });
        provider
    }

    /// Every span exported so far, by every service, as `tracectl` reads them from OTLP.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for service in &self.services {
            let finished = service.exporter.0.lock().map(|spans| spans.clone()).unwrap_or_default();
            let resource = ResourceAttributesWithSchema::from(&service.resource);
            let request = ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(finished, &resource),
            };
            spans.extend(tracectl::model::spans_from_request(&request));
        }
        spans.sort_by_key(|s| s.start_unix_nano);
        spans
    }

    /// The spans, grouped into traces.
    pub fn traces(&self) -> Vec<Trace> {
        Trace::group(self.spans())
    }
}

/// A message as the lab's queue delivers it (exercise 12).
#[derive(Debug)]
pub struct Message {
    /// The order to fulfil.
    pub order_id: String,
    /// The producer's context (`traceparent`, …), as its propagator wrote it.
    pub headers: std::collections::HashMap<String, String>,
}

/// An exporter that keeps every span it is sent, in memory, also after its provider is shut down
/// (the SDK's `InMemorySpanExporter` forgets them then, and exercise 5 is about shutting down).
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Ok(mut spans) = self.0.lock() {
            spans.extend(batch);
        }
        Ok(())
    }
}

/// Ids from a counter, spread by SplitMix64 so that they look random to a ratio sampler (which
/// reads a trace id's low 8 bytes): the same ids, so the same decisions, on every run.
#[derive(Debug, Default)]
struct CountingIds(AtomicU64);

impl CountingIds {
    fn next(&self) -> u64 {
        let mut z =
            self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdGenerator for CountingIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from(u128::from(self.next()) << 64 | u128::from(self.next()))
    }

    fn new_span_id(&self) -> SpanId {
        SpanId::from(self.next())
    }
}
