//! Production hardening above shared-tracing: a first reading can skip this crate. Nothing here is
//! needed to trace a request; it is what keeps tracing cheap and safe when things go wrong. A
//! service switches it on with one call, `Telemetry::builder(config).with_extension(Hardening::default())`,
//! and it plugs in through the SDK's own extension points (a `SpanProcessor`, a `SpanExporter`, a
//! `Sampler`, a `TextMapPropagator`) handed over by shared-tracing's [`Extension`] trait, so the
//! lesson path (shared-tracing's `inbound` → handler → `outbound` → export) never mentions it: it
//! does not even depend on this crate. Without that call a service has the plain SDK pipeline: the
//! batch processor, the sampler the environment names, the exporter, the SDK's propagators.
//!
//! - [`export_queue`]: the batch processor's queue watched, spans that would overflow it dropped
//!   and counted, a circuit breaker for a failing collector, and a rate-limited report (the OTLP
//!   exporter's `SpanProcessor`: admission in front of the batch processor, and a `SpanExporter`
//!   around the OTLP one).
//! - [`shedding`]: while that queue refuses spans, new traces are not sampled (a `Sampler`).
//! - [`unsampled`]: a `tracing` span the sampler would drop is not made (a global filter layer).
//! - [`edge_policy`]: at the edge, outside baggage kept only where allow-listed (given to
//!   shared-tracing's `inbound::traced_with`, which hands it the caller's context first).
//! - [`w3c`]: W3C Trace Context Level 2 and W3C Baggage as strictly as the official suite asks,
//!   around the SDK's propagators (a `TextMapPropagator`); `examples/w3c_tracecontext.rs` is the
//!   suite's participant.
//! - [`remote_sampling`]: the remote sampler's backend down, said once instead of every poll (its
//!   HTTP client).
//! - [`redact`]: a rule the service gives (card numbers, say) applied to every finished span
//!   before it is queued for OTLP (by the admission above) and to every log line.
//!
//! BENCHMARKS.md measures what each one buys.

pub mod edge_policy;
pub mod export_queue;
pub mod redact;
pub mod remote_sampling;
pub mod shedding;
pub mod unsampled;
pub mod w3c;

use std::sync::{Arc, Mutex, MutexGuard};

use opentelemetry_http::HttpClient;
use opentelemetry_otlp::SpanExporter as OtlpExporter;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, ShouldSample, TracerProviderBuilder,
};
use tracing_subscriber::{Layer, Registry};

use export_queue::{Admission, CountingExporter, ExportQueues};
use opentelemetry::propagation::TextMapCompositePropagator;
use redact::Redactor;
use shared_tracing::{
    config::{Propagators, RemoteSampling},
    logging::LineRule,
    telemetry::Extension,
};

/// Every measure above, for every provider of the service (its own and each remote system's).
#[derive(Debug)]
pub struct Hardening {
    redactor: Redactor,
    queues: Arc<Mutex<ExportQueues>>,
}

impl Default for Hardening {
    /// Every measure, with a redaction rule that masks nothing.
    fn default() -> Self {
        Self { redactor: redact::nothing, queues: Arc::new(Mutex::new(ExportQueues::from_env())) }
    }
}

impl Hardening {
    /// Applies `rule` to every finished span and every log line (see [`redact`]).
    pub fn with_redaction(self, rule: Redactor) -> Self {
        Self { redactor: rule, ..self }
    }

    fn queues(&self) -> MutexGuard<'_, ExportQueues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Extension for Hardening {
    /// The batch processor, its exporter counting what leaves the queue, behind the queue's
    /// admission, which masks what it admits: a span that finds no room is dropped before it is
    /// masked, so no work is spent on a span that is not exported. Needs a Tokio runtime (the drop
    /// report is a task).
    fn export(
        &self,
        service: &str,
        provider: TracerProviderBuilder,
        exporter: OtlpExporter,
    ) -> TracerProviderBuilder {
        let mut queues = self.queues();
        let gauge = queues.new_gauge(service);
        queues.start_reporting();
        let exporter = CountingExporter::new(exporter, gauge.clone());
        let batch = BatchConfigBuilder::default().with_max_queue_size(queues.size()).build();
        let batch = BatchSpanProcessor::builder(exporter).with_batch_config(batch).build();
        provider.with_span_processor(Admission::new(batch, gauge, self.queues.clone(), self.redactor))
    }

    /// `sampler`, with new traces shed while `service`'s queue refuses spans.
    fn sampler(&self, service: &str, sampler: Sampler) -> Box<dyn ShouldSample> {
        match self.queues().gauge(service) {
            Some(gauge) => Box::new(shedding::Shedding::new(Box::new(sampler), gauge)),
            None => Box::new(sampler),
        }
    }

    /// `tracing` spans the sampler would drop are not made.
    fn layer(&self, sampler: &Sampler) -> Option<Box<dyn Layer<Registry> + Send + Sync>> {
        Some(Box::new(unsampled::SampledOnly::new(Box::new(sampler.clone()))))
    }

    fn log_rule(&self) -> LineRule {
        self.redactor
    }

    /// The W3C propagators as the specifications read them ([`w3c`]).
    fn propagator(&self, choice: &Propagators) -> TextMapCompositePropagator {
        w3c::propagator(choice)
    }

    /// A client that says an outage of the sampling endpoint once.
    fn sampling_client(&self, client: reqwest::Client, remote: &RemoteSampling) -> Box<dyn HttpClient> {
        let initial = remote.initial_sampling_rate;
        Box::new(remote_sampling::QuietWhenDown::new(client, &remote.endpoint, initial))
    }
}
