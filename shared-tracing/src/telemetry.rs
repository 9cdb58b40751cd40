//! The one entry point every service calls at start-up: [`init`], and the [`Telemetry`] handle
//! whose [`Telemetry::shutdown`] flushes every finished span before the process exits.
//!
//! What `init` wires together:
//! ```text
//! span::ActiveSpan::start  ──►  SdkTracer ──► SdkTracerProvider
//!                                              └─ BatchSpanProcessor (own thread) ──► OTLP exporter (http or gRPC)
//! tracing::info!/warn!     ──►  tracing-subscriber Registry
//!                                ├─ fmt layer (filtered by RUST_LOG)       ──► stdout, with trace_id/span_id
//!                                └─ span_events layer (own filter: INFO+,   ──► an event on the current span
//!                                   never the HTTP stack the exporter uses)
//! ```
//! The two layers have separate filters on purpose: `RUST_LOG=warn` makes the logs quiet but must
//! not silently take the events out of the spans.

use std::{io::IsTerminal as _, sync::Arc, time::Duration};

use opentelemetry::{InstrumentationScope, KeyValue, global, trace::TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::{BaggagePropagator, TraceContextPropagator},
    resource::{EnvResourceDetector, TelemetryResourceDetector},
    trace::{
        BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, ShouldSample, Span, SpanData,
        SpanProcessor,
    },
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer as _, filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::config::{Propagators, Protocol, TelemetryConfig};
use crate::export_queue::{CountingExporter, ExportQueues, QueueGauge};
use crate::logging::TraceAwareFormat;
use crate::remote::RemoteSystem;
use crate::span::Gate;
use crate::span_events::SpanEvents;

/// The log filter used when `RUST_LOG` is not set: our INFO lines, and only the SDK's warnings
/// (export failures) rather than its start-up chatter.
pub const DEFAULT_LOG_FILTER: &str = "info,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry-otlp=warn";

/// How long shutdown may take to flush the last spans before giving up on them. With the server's
/// drain bound this keeps a normal stop well inside `docker stop`'s 10 s before SIGKILL.
const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Crates whose events must never become span events: the exporter uses them to send spans, so
/// recording them would make the exporter add to what it exports, forever.
const TRANSPORT_CRATES: [&str; 7] =
    ["hyper", "hyper_util", "h2", "tonic", "tower", "reqwest", "opentelemetry"];

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built (for example, a malformed endpoint URL).
    #[error("could not build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global `tracing` subscriber was already installed.
    #[error("could not install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// The running telemetry of one service. Keep it alive for the life of the process and call
/// [`Telemetry::shutdown`] at the end: dropping it does not flush.
#[derive(Debug)]
pub struct Telemetry {
    config: TelemetryConfig,
    /// `None` when `OTEL_SDK_DISABLED=true`.
    provider: Option<SdkTracerProvider>,
    /// One provider per simulated remote system (see [`Telemetry::remote_system`]).
    remote_providers: Vec<SdkTracerProvider>,
    /// The export queue of every provider, watched for dropped spans.
    queues: ExportQueues,
}

/// Initialises logging, propagation and (unless disabled) span export for one service.
///
/// Must be called from inside a multi-threaded Tokio runtime: the gRPC exporter needs one.
pub fn init(config: TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    set_propagator(config.propagators);

    let mut queues = ExportQueues::from_env();
    let provider = if config.sdk_disabled {
        None
    } else {
        let resource = service_resource(&config);
        let queue = queues.new_gauge(&config.service_name);
        let sampler = sampler_from_env();
        let provider =
            build_provider(config.protocol, resource, queues.size(), queue.clone(), sampler.box_clone())?;
        // The instrumentation scope names the code that made the spans (this crate), not the
        // service (that is the resource's `service.name`). Static strings: the SDK copies the
        // scope into every finished span.
        let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        crate::span::install(provider.tracer_with_scope(scope), Gate::new(queue, sampler));
        Some(provider)
    };

    let log_filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("RUST_LOG={spec:?} is not a valid filter ({e}); using {DEFAULT_LOG_FILTER:?}");
            EnvFilter::new(DEFAULT_LOG_FILTER)
        }),
        _ => EnvFilter::new(DEFAULT_LOG_FILTER),
    };
    let fmt_layer = tracing_subscriber::fmt::layer()
        .event_format(TraceAwareFormat::new(config.log_format))
        .with_writer(std::io::stdout)
        // Colours for a person at a terminal, plain text for files, pipes and `docker logs`.
        .with_ansi(std::io::stdout().is_terminal())
        .with_filter(log_filter);

    let events_layer = provider.as_ref().map(|_| {
        let event_filter =
            TRANSPORT_CRATES.iter().fold(Targets::new().with_default(LevelFilter::INFO), |targets, krate| {
                targets.with_target(*krate, LevelFilter::OFF)
            });
        SpanEvents.with_filter(event_filter)
    });

    tracing_subscriber::registry().with(fmt_layer).with(events_layer).try_init()?;

    if let Some(provider) = &provider {
        global::set_tracer_provider(provider.clone());
        queues.start_reporting();
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        service.name = %config.service_name,
        service.version = %config.service_version,
        telemetry = if config.sdk_disabled { "disabled (OTEL_SDK_DISABLED=true)" } else { "enabled" },
        protocol = ?config.protocol,
        "telemetry initialised"
    );

    Ok(Telemetry { config, provider, remote_providers: Vec::new(), queues })
}

impl Telemetry {
    /// The resolved configuration this telemetry was started with.
    pub fn config(&self) -> &TelemetryConfig {
        &self.config
    }

    /// Returns a [`RemoteSystem`] whose spans are exported under their own `service.name`.
    ///
    /// This is how payment-service makes the simulated Stripe show up as a separate node in Jaeger,
    /// as Jaeger's HotROD demo does for its fake MySQL and Redis: a span's `service.name` comes from
    /// the *resource* of the provider that made it, so a second provider with a second resource is
    /// the honest way to speak for another service.
    pub fn remote_system(&mut self, name: &'static str) -> Result<RemoteSystem, TelemetryError> {
        if self.provider.is_none() {
            // Telemetry is off: spans that are never recorded.
            return Ok(RemoteSystem::disabled(name));
        }
        let resource = remote_resource(name);
        let gauge = self.queues.new_gauge(name);
        let sampler = sampler_from_env();
        let provider = build_provider(
            self.config.protocol,
            resource,
            self.queues.size(),
            gauge.clone(),
            sampler.box_clone(),
        )?;
        let tracer: SdkTracer = provider.tracer(name);
        self.remote_providers.push(provider);
        self.queues.start_reporting();
        Ok(RemoteSystem::new(name, tracer, Gate::new(gauge, sampler)))
    }

    /// Flushes every finished span and stops the exporters. Call it once, at the very end.
    pub async fn shutdown(mut self) {
        self.queues.stop_reporting();
        let providers: Vec<_> = self.provider.into_iter().chain(self.remote_providers).collect();
        if providers.is_empty() {
            return;
        }
        // `shutdown_with_timeout` blocks while the batch thread exports; never block a runtime
        // worker with it (on a current-thread runtime the gRPC exporter would deadlock). The
        // providers are independent, so they flush in parallel: a dead collector costs the
        // timeout once, not once per provider.
        let flushes: Vec<_> = providers
            .into_iter()
            .map(|p| tokio::task::spawn_blocking(move || p.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT)))
            .collect();
        let mut errors = Vec::new();
        for flush in flushes {
            match flush.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e.to_string()),
                Err(e) => errors.push(format!("shutdown task failed: {e}")),
            }
        }
        self.queues.report_total();
        if errors.is_empty() {
            tracing::info!("telemetry flushed and shut down");
        } else {
            tracing::warn!(?errors, "telemetry shutdown was not clean; some spans may be lost");
        }
    }
}

/// Installs the W3C propagators chosen by `OTEL_PROPAGATORS`. The global default is a no-op that
/// silently drops all context, which is why every service must call this.
fn set_propagator(choice: Propagators) {
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    if choice.trace_context {
        propagators.push(Box::new(TraceContextPropagator::new()));
    }
    if choice.baggage {
        propagators.push(Box::new(BaggagePropagator::new()));
    }
    global::set_text_map_propagator(TextMapCompositePropagator::new(propagators));
}

/// The service's resource. Precedence, lowest first: the built-in name and version, then
/// `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` (already folded into `config.service_name`).
fn service_resource(config: &TelemetryConfig) -> Resource {
    Resource::builder_empty()
        .with_attribute(KeyValue::new("service.version", config.service_version.clone()))
        .with_detectors(&[Box::new(TelemetryResourceDetector), Box::new(EnvResourceDetector::new())])
        .with_service_name(config.service_name.clone())
        .build()
}

/// The resource of a simulated remote system: only its name and the SDK's own attributes.
/// Deployment attributes from `OTEL_RESOURCE_ATTRIBUTES` describe *our* process, not Stripe's.
fn remote_resource(name: &'static str) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_service_name(name)
        .build()
}

/// The sampler `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` name, read by the SDK itself
/// (its default configuration), so that [`crate::span`] can ask the very sampler the provider uses.
fn sampler_from_env() -> Box<dyn ShouldSample> {
    opentelemetry_sdk::trace::Config::default().sampler
}

fn build_provider(
    protocol: Protocol,
    resource: Resource,
    queue_size: usize,
    gauge: Arc<QueueGauge>,
    sampler: Box<dyn ShouldSample>,
) -> Result<SdkTracerProvider, TelemetryError> {
    // Endpoint, timeout and headers come from the standard OTEL_EXPORTER_OTLP_* variables, which the
    // exporter reads itself (and appends `/v1/traces` to the generic endpoint for http).
    let exporter = match protocol {
        Protocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()?,
        Protocol::Grpc => SpanExporter::builder().with_tonic().build()?,
    };
    // The batch processor exports from its own thread, so a slow or missing collector never adds
    // latency to a request; its queue (OTEL_BSP_MAX_QUEUE_SIZE) bounds memory, and spans beyond it
    // are dropped and counted (see `export_queue`) rather than blocking.
    let exporter = CountingExporter::new(exporter, gauge.clone());
    let batch = BatchConfigBuilder::default().with_max_queue_size(queue_size).build();
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batch).build();
    // Every started span is stamped with the request's teaching scenario, and every finished one
    // has card data masked, on its way to the export queue.
    let processor = ServiceSpanProcessor { next: processor, queue: gauge };
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler)
        .with_resource(resource)
        .build())
}

/// The project's own step in the span pipeline, in front of the batch processor: every span is
/// stamped with the request's teaching scenario when it starts, and when it ends it takes a place
/// in the export queue (or is dropped and counted) and has card data masked.
#[derive(Debug)]
struct ServiceSpanProcessor<P> {
    next: P,
    queue: Arc<QueueGauge>,
}

impl<P: SpanProcessor> SpanProcessor for ServiceSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, parent: &opentelemetry::Context) {
        crate::scenario::stamp(span, parent);
        self.next.on_start(span, parent);
    }

    fn on_end(&self, mut span: SpanData) {
        if !self.queue.admit() {
            return;
        }
        crate::redact::redact_span(&mut span);
        self.next.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.next.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.next.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.next.set_resource(resource);
    }
}
