//! The one entry point every service calls at start-up: [`init`] (or [`Telemetry::builder`], to
//! add span processors of the service's own), and the [`Telemetry`] handle whose
//! [`Telemetry::shutdown`] flushes every finished span before the process exits.
//!
//! What `init` wires together:
//! ```text
//! edge spans (inbound, outbound, remote) ──► EdgeTracer ─┐
//! #[instrument] / info_span!  ──► tracing-opentelemetry ─┴► SdkTracerProvider (sampler: OTEL_TRACES_SAMPLER)
//!                                   layer (own filter)        ├─ the service's span processors, if any
//!                                                             ├─ BatchSpanProcessor (own thread) ──► OTLP
//!                                                             └─ BatchSpanProcessor ──► console (if chosen)
//! tracing::info!/warn!  ──► tracing-subscriber Registry
//!                            ├─ fmt layer (filtered by RUST_LOG)      ──► stdout, with trace_id/span_id
//!                            ├─ tracing-opentelemetry layer           ──► events inside a `tracing` span
//!                            └─ span_events layer (same filter)       ──► events right under an edge span
//! ```
//! The log and span layers have separate filters on purpose: `RUST_LOG=warn` makes the logs quiet
//! but must not silently take spans and events out of the trace.
//!
//! That is the whole of it, the SDK's pipeline as the SDK's documentation builds it. A service may
//! switch on an [`Extension`] as well, which plugs into the same places (the OTLP exporter's
//! processor, the sampler, a `tracing` layer, the log lines, the propagator): the crate
//! `shared-tracing-hardening`, above this one, has one that keeps tracing cheap and safe when the
//! collector fails, and reads trace headers as strictly as the W3C suite does.

use std::{borrow::Cow, io::IsTerminal as _, sync::Arc, time::Duration};

use opentelemetry::{
    InstrumentationScope, KeyValue, global, propagation::TextMapCompositePropagator,
    trace::TracerProvider as _,
};
use opentelemetry_http::HttpClient;
use opentelemetry_otlp::SpanExporter as OtlpExporter;
use opentelemetry_sdk::{
    Resource,
    resource::{EnvResourceDetector, TelemetryResourceDetector},
    runtime,
    trace::{Sampler, SdkTracerProvider, ShouldSample, SpanProcessor, TracerProviderBuilder},
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::config::{Propagators, RemoteSampling, RootSampler, TelemetryConfig};
use crate::edge::EdgeTracer;
use crate::error::TelemetryError;
use crate::logging::{LineRule, TraceAwareFormat};
use crate::remote::RemoteSystem;
use crate::span_events::SpanEvents;

/// The log filter used when `RUST_LOG` is not set: our INFO lines, and only the SDK's warnings
/// (export failures) rather than its start-up chatter.
pub const DEFAULT_LOG_FILTER: &str = "info,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry-otlp=warn";

/// How long shutdown may take to flush the last spans before giving up on them. With the server's
/// drain bound this keeps a normal stop well inside `docker stop`'s 10 s before SIGKILL.
const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Crates whose spans and events must never reach a trace: the exporter uses them to send spans,
/// so recording them would make the exporter add to what it exports, forever. (Their spans are
/// DEBUG and TRACE anyway; this says so for every level.)
const TRANSPORT_CRATES: [&str; 8] =
    ["hyper", "hyper_util", "h2", "tonic", "tower", "reqwest", "opentelemetry", "tracing_opentelemetry"];

/// What becomes a span or a span event: INFO and above, from anything but the transport crates.
/// `tracing` spans at DEBUG or TRACE stay log-only, which is where libraries put theirs.
pub fn span_filter() -> Targets {
    TRANSPORT_CRATES.iter().fold(Targets::new().with_default(LevelFilter::INFO), |targets, krate| {
        targets.with_target(*krate, LevelFilter::OFF)
    })
}

/// An addition to the pipeline above, which a service switches on with
/// [`TelemetryBuilder::with_extension`]. Each method is one place it plugs in, the SDK's own
/// extension points first; each default is what the plain pipeline does there.
pub trait Extension: Send + Sync + std::fmt::Debug {
    /// Adds to `provider` the span processor that takes the finished spans of `service` (a
    /// provider's `service.name`) to the OTLP `exporter`. Plain: the SDK's batch processor,
    /// configured by `OTEL_BSP_*`. (The console exporter, a look at a terminal, is not handed over.)
    fn export(
        &self,
        _service: &str,
        provider: TracerProviderBuilder,
        exporter: OtlpExporter,
    ) -> TracerProviderBuilder {
        provider.with_batch_exporter(exporter)
    }

    /// The sampler of `service`'s provider, given the one `OTEL_TRACES_SAMPLER` names.
    fn sampler(&self, _service: &str, sampler: Sampler) -> Box<dyn ShouldSample> {
        Box::new(sampler)
    }

    /// A `tracing` layer of its own, given the sampler `OTEL_TRACES_SAMPLER` names.
    fn layer(&self, _sampler: &Sampler) -> Option<Box<dyn Layer<Registry> + Send + Sync>> {
        None
    }

    /// The rule every log line passes through before it is written.
    fn log_rule(&self) -> LineRule {
        |line| Cow::Borrowed(line)
    }

    /// The propagator behind [`crate::propagation::extract`] and [`crate::propagation::inject`],
    /// given the `OTEL_PROPAGATORS` list. Plain: the SDK's ([`crate::propagation::composite`]).
    fn propagator(&self, choice: &Propagators) -> TextMapCompositePropagator {
        crate::propagation::composite(choice)
    }

    /// The HTTP client Jaeger's remote sampler polls its endpoint with.
    fn sampling_client(&self, client: reqwest::Client, _remote: &RemoteSampling) -> Box<dyn HttpClient> {
        Box::new(client)
    }
}

/// The plain pipeline: every default of [`Extension`].
#[derive(Debug)]
struct Plain;

impl Extension for Plain {}

/// The running telemetry of one service. Keep it alive for the life of the process and call
/// [`Telemetry::shutdown`] at the end: dropping it does not flush.
#[derive(Debug)]
pub struct Telemetry {
    config: TelemetryConfig,
    /// `None` when `OTEL_SDK_DISABLED=true`.
    provider: Option<SdkTracerProvider>,
    /// What edge spans are made with (disabled with the provider).
    tracer: EdgeTracer,
    /// One provider per simulated remote system (see [`Telemetry::remote_system`]).
    remote_providers: Vec<SdkTracerProvider>,
    /// How each provider's spans reach its exporter.
    pipeline: Pipeline,
}

/// Adds one of the service's span processors, made anew, to a provider.
type AddProcessor = Arc<dyn Fn(TracerProviderBuilder) -> TracerProviderBuilder + Send + Sync>;

/// What every provider is built from: the service's processors, ahead of the exporters'; the
/// extension; the sampler.
#[derive(Clone)]
struct Pipeline {
    processors: Vec<AddProcessor>,
    extension: Arc<dyn Extension>,
    /// `service.namespace` of the service's resource.
    namespace: Option<&'static str>,
    /// The sampler `OTEL_TRACES_SAMPLER` names; Jaeger's remote one is built once (it polls) and
    /// shared by every provider.
    sampler: Sampler,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("processors", &self.processors.len()).finish_non_exhaustive()
    }
}

/// Telemetry with the service's own additions, then [`TelemetryBuilder::init`].
#[must_use = "nothing starts until `init` is called"]
#[derive(Debug)]
pub struct TelemetryBuilder {
    config: TelemetryConfig,
    pipeline: Pipeline,
}

impl TelemetryBuilder {
    /// Adds a span processor ahead of the exporters', on every provider (the remote systems'
    /// included: `make` makes one for each). The SDK calls a provider's processors in the order
    /// they were added, so what this one sets on a span in `on_start` every exporter sees.
    pub fn with_span_processor<P>(mut self, make: impl Fn() -> P + Send + Sync + 'static) -> Self
    where
        P: SpanProcessor + 'static,
    {
        self.pipeline.processors.push(Arc::new(move |provider| provider.with_span_processor(make())));
        self
    }

    /// Puts `service.namespace` = `namespace` on the service's resource: the system the service
    /// belongs to, so Jaeger and other backends can tell two systems' services of one name apart.
    pub fn with_service_namespace(mut self, namespace: &'static str) -> Self {
        self.pipeline.namespace = Some(namespace);
        self
    }

    /// Switches `extension` on, for every provider (see [`Extension`]).
    pub fn with_extension(mut self, extension: impl Extension + 'static) -> Self {
        self.pipeline.extension = Arc::new(extension);
        self
    }

    /// Initialises logging, propagation and (unless disabled) span export.
    ///
    /// Must be called from inside a multi-threaded Tokio runtime: the gRPC exporter needs one.
    pub fn init(self) -> Result<Telemetry, TelemetryError> {
        let Self { mut config, mut pipeline } = self;
        crate::propagation::install(pipeline.extension.propagator(&config.propagators));
        if !config.sdk_disabled {
            let mut warnings = Vec::new();
            pipeline.sampler = sampler(&config, &*pipeline.extension, &mut warnings);
            config.warnings.extend(warnings);
        }

        let provider = if config.sdk_disabled {
            None
        } else {
            let resource = service_resource(&config, pipeline.namespace);
            Some(build_provider(&config, &config.service_name, resource, &pipeline)?)
        };
        // The instrumentation scope names the code that made the spans (this crate), not the
        // service (that is the resource's `service.name`).
        let tracer = provider.as_ref().map(|p| p.tracer_with_scope(scope()));

        let log_filter = match std::env::var("RUST_LOG") {
            Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
                eprintln!("RUST_LOG={spec:?} is not a valid filter ({e}); using {DEFAULT_LOG_FILTER:?}");
                EnvFilter::new(DEFAULT_LOG_FILTER)
            }),
            _ => EnvFilter::new(DEFAULT_LOG_FILTER),
        };
        let fmt_layer = tracing_subscriber::fmt::layer()
            .event_format(TraceAwareFormat::new(config.log_format, pipeline.extension.log_rule()))
            .with_writer(std::io::stdout)
            // Colours for a person at a terminal, plain text for files, pipes and `docker logs`.
            .with_ansi(std::io::stdout().is_terminal())
            .with_filter(log_filter);
        // `tracing` spans become OpenTelemetry spans here, and the events inside them span events.
        // Both see the same spans: the service's own, at INFO and above.
        let bridge = tracer.clone().map(|tracer| crate::bridge::layer(tracer).with_filter(span_filter()));
        let events = tracer.is_some().then(|| SpanEvents.with_filter(span_filter()));
        let extension = tracer.is_some().then(|| pipeline.extension.layer(&pipeline.sampler)).flatten();

        tracing_subscriber::registry()
            .with(extension)
            .with(fmt_layer)
            .with(bridge)
            .with(events)
            .try_init()?;

        if let Some(provider) = &provider {
            global::set_tracer_provider(provider.clone());
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

        let tracer = tracer.map_or_else(EdgeTracer::disabled, EdgeTracer::new);
        Ok(Telemetry { config, provider, tracer, remote_providers: Vec::new(), pipeline })
    }
}

/// Initialises logging, propagation and (unless disabled) span export for one service, with
/// nothing of the service's own in the span pipeline: `Telemetry::builder(config).init()`.
pub fn init(config: TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    Telemetry::builder(config).init()
}

/// The instrumentation scope of every span made here: this crate, at its version.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(env!("CARGO_PKG_NAME")).with_version(env!("CARGO_PKG_VERSION")).build()
}

impl Telemetry {
    /// Telemetry for the service `config` describes, to which the service can add its own span
    /// processors and an [`Extension`] before [`TelemetryBuilder::init`].
    pub fn builder(config: TelemetryConfig) -> TelemetryBuilder {
        TelemetryBuilder {
            config,
            pipeline: Pipeline {
                processors: Vec::new(),
                extension: Arc::new(Plain),
                namespace: None,
                sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            },
        }
    }

    /// The tracer the inbound layer, the outbound client and remote systems make edge spans with.
    pub fn tracer(&self) -> EdgeTracer {
        self.tracer.clone()
    }

    /// The resolved configuration this telemetry was started with.
    pub fn config(&self) -> &TelemetryConfig {
        &self.config
    }

    /// Returns a [`RemoteSystem`] whose spans are exported under their own `service.name`.
    ///
    /// This is how a service makes a system it calls (or simulates) show up as a node of its own
    /// in Jaeger, as Jaeger's HotROD demo does for its fake MySQL and Redis: a span's
    /// `service.name` comes from the *resource* of the provider that made it, so a second provider
    /// with a second resource is the honest way to speak for another service.
    pub fn remote_system(&mut self, name: &'static str) -> Result<RemoteSystem, TelemetryError> {
        if self.provider.is_none() {
            // Telemetry is off: spans that are never recorded.
            return Ok(RemoteSystem::disabled(name));
        }
        let provider = build_provider(&self.config, name, remote_resource(name), &self.pipeline)?;
        let tracer = EdgeTracer::new(provider.tracer_with_scope(scope()));
        self.remote_providers.push(provider);
        Ok(RemoteSystem::new(name, tracer))
    }

    /// Flushes every finished span and stops the exporters. Call it once, at the very end.
    pub async fn shutdown(self) {
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
        if errors.is_empty() {
            tracing::info!("telemetry flushed and shut down");
        } else {
            tracing::warn!(?errors, "telemetry shutdown was not clean; some spans may be lost");
        }
    }
}

/// The service's resource. Precedence, lowest first: the built-in name, version, instance id and
/// namespace, then
/// `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` (already folded into `config.service_name`).
fn service_resource(config: &TelemetryConfig, namespace: Option<&'static str>) -> Resource {
    // `service.instance.id`: this process, a random UUID (as the semantic conventions suggest), so
    // two replicas of one service are told apart. `service.namespace`: the system the service is
    // part of, if the service names one. Either may be overridden by `OTEL_RESOURCE_ATTRIBUTES`.
    let mut own = vec![
        KeyValue::new("service.version", config.service_version.clone()),
        KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
    ];
    own.extend(namespace.map(|ns| KeyValue::new("service.namespace", ns)));
    Resource::builder_empty()
        .with_attributes(own)
        .with_detectors(&[Box::new(TelemetryResourceDetector), Box::new(EnvResourceDetector::new())])
        .with_service_name(config.service_name.clone())
        .build()
}

/// The resource of a simulated remote system: only its name and the SDK's own attributes.
/// Deployment attributes from `OTEL_RESOURCE_ATTRIBUTES` describe *our* process, not the remote system's.
fn remote_resource(name: &'static str) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_service_name(name)
        .build()
}

/// The sampler `config` names, the SDK's. Jaeger's remote one, if it cannot be built (said in
/// `warnings`), samples at its initial rate.
fn sampler(config: &TelemetryConfig, extension: &dyn Extension, warnings: &mut Vec<String>) -> Sampler {
    let root = match &config.sampling.root {
        RootSampler::AlwaysOn => Sampler::AlwaysOn,
        RootSampler::AlwaysOff => Sampler::AlwaysOff,
        RootSampler::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(*ratio),
        RootSampler::JaegerRemote(remote) => {
            remote_sampler(&config.service_name, remote, extension, warnings)
        }
    };
    if config.sampling.parent_based { Sampler::ParentBased(Box::new(root)) } else { root }
}

/// Jaeger's remote sampler (the SDK's), polling `remote.endpoint` for `service`'s strategy, at
/// the initial rate until it first answers.
fn remote_sampler(
    service: &str,
    remote: &RemoteSampling,
    extension: &dyn Extension,
    warnings: &mut Vec<String>,
) -> Sampler {
    let initial = Sampler::TraceIdRatioBased(remote.initial_sampling_rate);
    let timeout = remote.polling_interval.min(Duration::from_secs(10));
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => Polling(extension.sampling_client(client, remote)),
        Err(e) => {
            warnings
                .push(format!("the Jaeger remote sampler's HTTP client: {e}; sampling at its initial rate"));
            return initial;
        }
    };
    let built = Sampler::jaeger_remote(runtime::Tokio, client, initial.clone(), service)
        .with_endpoint(remote.endpoint.clone())
        .with_update_interval(remote.polling_interval)
        .build();
    built.unwrap_or_else(|e| {
        warnings.push(format!(
            "the Jaeger remote sampler for {}: {e}; sampling at its initial rate",
            remote.endpoint
        ));
        initial
    })
}

/// The remote sampler's HTTP client, whichever it is (the SDK's sampler takes a type, not a box),
/// with Jaeger's answer made readable to the SDK. Jaeger serves the legacy Thrift JSON over HTTP,
/// `"strategyType":0` (its v2 `remote_sampling` extension registers only that encoder:
/// `cmd/jaeger/internal/extension/remotesampling/extension.go` at v2.12.0); the SDK's sampler
/// reads the field as a name (`"PROBABILISTIC"`, opentelemetry_sdk 0.33 `jaeger_remote/remote.rs`),
/// fails on the number and keeps its initial rate for ever. The field is legacy and readers are
/// told to ignore it (open-telemetry/opentelemetry-specification#3126, on the two JSON formats;
/// open-telemetry/opentelemetry-rust#954 asks which server the sampler was tested against), so it
/// becomes the name the SDK reads (`RATELIMITING` also for proto JSON's `RATE_LIMITING`). The
/// test against the real Jaeger (`e2e/tests/stack/real_jaeger/sampling.rs`) fails without it.
#[derive(Debug)]
struct Polling(Box<dyn HttpClient>);

#[async_trait::async_trait]
impl HttpClient for Polling {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let mut response = self.0.send_bytes(request).await?;
        if let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(response.body())
            && let Some(legacy) =
                answer.get("strategyType").filter(|t| t.is_number() || *t == "RATE_LIMITING")
        {
            let rate_limiting = *legacy == 1 || *legacy == "RATE_LIMITING";
            answer["strategyType"] = if rate_limiting { "RATELIMITING" } else { "PROBABILISTIC" }.into();
            *response.body_mut() = answer.to_string().into();
        }
        Ok(response)
    }
}

/// The provider of `service` (a `service.name`): its resource, the pipeline's processors, then one
/// processor per exporter `config` names, and its sampler.
fn build_provider(
    config: &TelemetryConfig,
    service: &str,
    resource: Resource,
    pipeline: &Pipeline,
) -> Result<SdkTracerProvider, TelemetryError> {
    // The SDK's builder reads `OTEL_TRACES_SAMPLER` once more, and warns about the values it cannot
    // build itself: the Jaeger remote samplers among them, which it has (built in `init` and given
    // below). `config` has said what is wrong with the variable already, so the builder's own
    // reading is silenced rather than left to contradict it.
    let provider = tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        SdkTracerProvider::builder().with_resource(resource)
    });
    let mut provider = pipeline.processors.iter().fold(provider, |provider, add| add(provider));
    // A batch processor exports from its own thread, so a slow or missing collector never adds
    // latency to a request; its queue (OTEL_BSP_MAX_QUEUE_SIZE) bounds memory, and spans beyond it
    // are dropped rather than waited for.
    if config.exporters.otlp {
        provider = pipeline.extension.export(service, provider, crate::export::otlp(config.protocol)?);
    }
    if config.exporters.console {
        provider = provider.with_batch_exporter(opentelemetry_stdout::SpanExporter::default());
    }
    // After the exporters: the extension's sampler may watch what its exporter's processor does.
    Ok(provider.with_sampler(pipeline.extension.sampler(service, pipeline.sampler.clone())).build())
}

#[cfg(test)]
mod tests {
    use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

    use super::Polling;

    /// An endpoint that answers `body`.
    #[derive(Debug)]
    struct Answers(&'static str);

    #[async_trait::async_trait]
    impl HttpClient for Answers {
        async fn send_bytes(&self, _request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
            Ok(Response::new(Bytes::from_static(self.0.as_bytes())))
        }
    }

    async fn polled(body: &'static str) -> serde_json::Value {
        let response = Polling(Box::new(Answers(body))).send_bytes(Request::new(Bytes::new())).await.unwrap();
        serde_json::from_slice(response.body()).unwrap()
    }

    #[tokio::test]
    async fn jaegers_legacy_strategy_type_reaches_the_sampler_as_the_name_it_reads() {
        // What Jaeger 2.12.0's remote_sampling extension answers over HTTP (encodeThriftLegacy).
        let probabilistic =
            polled(r#"{"strategyType":0,"probabilisticSampling":{"samplingRate":0.25}}"#).await;
        assert_eq!(probabilistic["strategyType"], "PROBABILISTIC");
        assert_eq!(probabilistic["probabilisticSampling"]["samplingRate"], 0.25, "the rest untouched");
        let limited = polled(r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":2}}"#).await;
        assert_eq!(limited["strategyType"], "RATELIMITING");
        // Proto JSON (the gRPC gateway's): the names, of which the SDK reads only one as sent.
        assert_eq!(polled(r#"{"strategyType":"RATE_LIMITING"}"#).await["strategyType"], "RATELIMITING");
        assert_eq!(polled(r#"{"strategyType":"PROBABILISTIC"}"#).await["strategyType"], "PROBABILISTIC");
        // Not a strategy: passed on as it came, for the SDK to refuse.
        let response =
            Polling(Box::new(Answers("[1]"))).send_bytes(Request::new(Bytes::new())).await.unwrap();
        assert_eq!(response.body().as_ref(), b"[1]");
    }
}
