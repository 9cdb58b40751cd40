//! Hardening (a first reading can skip this file): the export queue's admission and its
//! dropped-span report, what happens to spans when the collector cannot keep up.
//!
//! Finished spans wait in the batch processor's bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`) until
//! its thread exports them. When the collector is down or slow, the queue fills, and a span that
//! does not fit must be dropped: waiting for room would put the collector's outage into every
//! request's latency. That is the right trade, but a silent one. The SDK logs the first drop
//! and a total at shutdown, which leaves an operator blind in between. So the queue is watched
//! here:
//!
//! - [`QueueGauge::admit`] counts the spans handed to the batch processor and not yet taken by the
//!   exporter ([`CountingExporter`] gives them back when it receives a batch). A span that would
//!   not fit is dropped *here*, and counted, before the SDK would have had to drop it.
//! - While the queue is full, new traces are not sampled ([`super::shedding::Shedding`] asks
//!   [`QueueGauge::is_refusing`]): their spans could only be dropped when they end, so their
//!   attributes, events and clock reads would be work thrown away. The root is counted as dropped
//!   ([`QueueGauge::shed`]). Spans of traces already sampled go on being made, and are dropped
//!   here if there is no room when they end.
//! - A failed export opens a *circuit breaker*: until an export succeeds again, the queue refuses
//!   spans as if it were full, except [`PROBE_SPANS`] after each failed export, which go out in the
//!   next batch to find out whether the collector is back. Without it, every batch the exporter
//!   takes off a full queue frees places that new spans fill at once, only to be encoded and fail
//!   in their turn: a dead collector would still cost building and encoding a batch per service
//!   every few seconds, and send retries at a collector that may be down *because* it is
//!   overloaded. The breaker opening and closing is logged, once each way.
//!
//! Together these are what keep a dead collector cheap. The price: traces that start while the
//! breaker is open are not sampled even if the collector comes back before they end, and export resumes
//! with the first probe that gets through, at most one schedule delay (`OTEL_BSP_SCHEDULE_DELAY`)
//! plus the exporter's retries after the collector is back, and only if the service is making
//! spans (an idle service has nothing to probe with, and nothing to lose).
//! - [`ExportQueues`] logs one warning per [`REPORT_INTERVAL`] at most, with the count since the
//!   last one and the total: a collector outage at 10 000 spans a second is one line every ten
//!   seconds, not 10 000 lines a second.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::redact::Redactor;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{
        OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT, Span, SpanData, SpanExporter, SpanProcessor,
    },
};

/// How many spans may go into the queue after each failed export, while the breaker is open: a
/// probe of whether the collector is back, well under one batch (512 by default), so it waits for
/// the schedule delay rather than going out at once. Probes are real spans, exported if they get
/// through.
pub const PROBE_SPANS: usize = 64;

/// The breaker's state while it is closed (exports succeed): no limit on spans.
const CLOSED: usize = usize::MAX;

/// The shortest time between two dropped-span warnings.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// How often [`report_drops`] looks at the counts: the first drop of an outage is reported
/// within this time, later ones at most once per [`REPORT_INTERVAL`].
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The queue size the batch processor is built with: `OTEL_BSP_MAX_QUEUE_SIZE`, read the way the
/// SDK reads it (a positive integer, else the default of 2048).
pub fn queue_size_from_env() -> usize {
    std::env::var(OTEL_BSP_MAX_QUEUE_SIZE)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&size| size > 0)
        .unwrap_or(OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT)
}

/// Spans between the end of a span and its export, the spans dropped because there was no room,
/// and the circuit breaker that stops making spans for a failing collector. Shared by one span
/// processor and its exporter.
#[derive(Debug)]
pub struct QueueGauge {
    /// Whose spans these are (the `service.name` of the provider), for the breaker's log lines.
    name: Box<str>,
    capacity: usize,
    in_flight: AtomicUsize,
    /// [`CLOSED`] while exports succeed; after a failed export, how many more probe spans may
    /// still go into the queue.
    probes: AtomicUsize,
    dropped: AtomicU64,
    reported: AtomicU64,
}

impl QueueGauge {
    /// A gauge for a queue of `capacity` spans of the service `name`.
    pub fn new(name: &str, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            capacity,
            in_flight: AtomicUsize::new(0),
            probes: AtomicUsize::new(CLOSED),
            dropped: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        })
    }

    /// Takes a place in the queue for one span, or counts it dropped when the queue is full or the
    /// breaker is open with no probe left.
    ///
    /// `in_flight` never exceeds `capacity`, and the spans in the batch processor's queue are a
    /// subset of it, so once a span is admitted the processor always has room for it: every drop
    /// happens, and is counted, here.
    pub fn admit(&self) -> bool {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) < self.capacity && self.take_probe() {
            return true;
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// With the breaker closed, true; with it open, takes one of the probe places if any is left.
    fn take_probe(&self) -> bool {
        self.probes.load(Ordering::Relaxed) == CLOSED
            || self
                .probes
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |left| match left {
                    CLOSED => Some(CLOSED),
                    left => left.checked_sub(1),
                })
                .is_ok()
    }

    /// True when a span ending now would be dropped: the queue is full, or the breaker is open and
    /// its probes are spent. A span that would start now is better not built at all.
    pub fn is_refusing(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) >= self.capacity || self.probes.load(Ordering::Relaxed) == 0
    }

    /// Records how an export ended: a failure opens the breaker (or, when it is open already,
    /// allows the next probe), a success closes it. Each change is logged once.
    fn exported(&self, outcome: &OTelSdkResult) {
        let service = &*self.name;
        match outcome {
            Ok(()) => {
                if self.probes.swap(CLOSED, Ordering::AcqRel) != CLOSED {
                    tracing::info!(
                        service.name = service,
                        "Span export from {service} works again: no longer shedding spans"
                    );
                }
            }
            Err(error) => {
                if self.probes.swap(PROBE_SPANS, Ordering::AcqRel) == CLOSED {
                    tracing::warn!(
                        service.name = service,
                        %error,
                        probe_spans = PROBE_SPANS,
                        "Span export from {service} failed ({error}): shedding new spans until an export \
                         succeeds, with a probe of {PROBE_SPANS} spans after each failed export. \
                         Requests are not affected."
                    );
                }
            }
        }
    }

    /// Counts one span as dropped without offering it to the queue: the root of a trace that was not
    /// sampled because the queue refused spans (see [`QueueGauge::is_refusing`]) when it started.
    pub fn shed(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Gives back the places of `spans` spans the exporter has taken out of the queue.
    fn release(&self, spans: usize) {
        self.in_flight.fetch_sub(spans, Ordering::AcqRel);
    }

    /// Spans dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Spans dropped since the last call, and the total so far.
    fn take_unreported(&self) -> (u64, u64) {
        let total = self.dropped();
        let before = self.reported.swap(total, Ordering::Relaxed);
        (total - before, total)
    }
}

/// The export queues of a service's providers (one per provider: the service's own, and one per
/// simulated remote system) and the task reporting their drops.
#[derive(Debug)]
pub struct ExportQueues {
    size: usize,
    gauges: Vec<Arc<QueueGauge>>,
    reporter: Option<tokio::task::JoinHandle<()>>,
}

impl ExportQueues {
    /// Queues of `OTEL_BSP_MAX_QUEUE_SIZE` spans each (see [`queue_size_from_env`]).
    pub fn from_env() -> Self {
        Self { size: queue_size_from_env(), gauges: Vec::new(), reporter: None }
    }

    /// The size of each queue.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A gauge for one more provider's queue, the provider of the service `name`.
    pub fn new_gauge(&mut self, name: &str) -> Arc<QueueGauge> {
        let gauge = QueueGauge::new(name, self.size);
        self.gauges.push(gauge.clone());
        gauge
    }

    /// (Re)starts the reporter over every gauge so far. Needs a Tokio runtime.
    pub fn start_reporting(&mut self) {
        self.stop_reporting();
        self.reporter = Some(tokio::spawn(report_drops(self.gauges.clone(), self.size)));
    }

    /// Stops the periodic reports (before shutdown, which reports the total).
    pub fn stop_reporting(&mut self) {
        if let Some(reporter) = self.reporter.take() {
            reporter.abort();
        }
    }

    /// The gauge of the provider of the service `name`, if it has one.
    pub fn gauge(&self, name: &str) -> Option<Arc<QueueGauge>> {
        self.gauges.iter().find(|gauge| &*gauge.name == name).cloned()
    }
}

impl QueueGauge {
    /// Logs the total of spans dropped from this queue, once, at shutdown (nothing when none were).
    fn report_total(&self) {
        let (total, service) = (self.dropped(), &*self.name);
        if total > 0 {
            let queue_size = self.capacity;
            tracing::warn!(
                service.name = service,
                dropped_spans_total = total,
                queue_size,
                "{total} spans were dropped in all because the export queue (OTEL_BSP_MAX_QUEUE_SIZE={queue_size}) was full \
                 or the collector was failing"
            );
        }
    }
}

/// A span exporter that tells its [`QueueGauge`] when spans leave the queue, and how each export
/// ended (for the breaker).
#[derive(Debug)]
pub struct CountingExporter<E> {
    inner: E,
    gauge: Arc<QueueGauge>,
}

impl<E> CountingExporter<E> {
    /// Wraps `inner`, releasing places in `gauge` for every batch it is given.
    pub fn new(inner: E, gauge: Arc<QueueGauge>) -> Self {
        Self { inner, gauge }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        // The batch is out of the queue as soon as the exporter has it, however long sending takes.
        self.gauge.release(batch.len());
        let sent = self.inner.export(batch);
        async move {
            let outcome = sent.await;
            self.gauge.exported(&outcome);
            outcome
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A span processor in front of the batch processor: a finished span takes a place in the export
/// queue, masked by the service's redaction rule, or is dropped and counted when there is none
/// (see [`QueueGauge::admit`]). At shutdown it stops the periodic report and says the queue's
/// total.
///
/// It wraps the batch processor rather than sitting beside it: the SDK hands each processor of a
/// provider its own copy of a span, so a processor beside could neither keep a span out of the
/// queue nor change what is exported.
#[derive(Debug)]
pub struct Admission<P> {
    next: P,
    gauge: Arc<QueueGauge>,
    queues: Arc<Mutex<ExportQueues>>,
    redact: Redactor,
}

impl<P> Admission<P> {
    /// Admits spans into `next` (the batch processor) while `gauge`, one of `queues`, has room,
    /// each masked with `redact`.
    pub fn new(next: P, gauge: Arc<QueueGauge>, queues: Arc<Mutex<ExportQueues>>, redact: Redactor) -> Self {
        Self { next, gauge, queues, redact }
    }
}

impl<P: SpanProcessor> SpanProcessor for Admission<P> {
    fn on_start(&self, span: &mut Span, parent: &opentelemetry::Context) {
        self.next.on_start(span, parent);
    }

    fn on_end(&self, mut span: SpanData) {
        if self.gauge.admit() {
            crate::redact::redact_span(&mut span, self.redact);
            self.next.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.next.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queues.lock().unwrap_or_else(|e| e.into_inner()).stop_reporting();
        let flushed = self.next.shutdown_with_timeout(timeout);
        self.gauge.report_total();
        flushed
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.next.set_resource(resource);
    }
}

/// Logs dropped spans at most once per [`REPORT_INTERVAL`], for as long as it runs
/// ([`ExportQueues::start_reporting`] spawns it).
async fn report_drops(gauges: Vec<Arc<QueueGauge>>, queue_size: usize) {
    let mut check = tokio::time::interval(CHECK_INTERVAL);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_report: Option<tokio::time::Instant> = None;
    loop {
        check.tick().await;
        if last_report.is_some_and(|at| at.elapsed() < REPORT_INTERVAL) {
            continue;
        }
        let (new, total) = gauges
            .iter()
            .map(|gauge| gauge.take_unreported())
            .fold((0, 0), |(new, total), (n, t)| (new + n, total + t));
        if new > 0 {
            tracing::warn!(
                dropped_spans = new,
                dropped_spans_total = total,
                queue_size,
                "Dropped {new} spans since the last report ({total} in all): the collector is failing, \
                 or slower than this service makes spans. Requests are not affected."
            );
            last_report = Some(tokio::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::error::OTelSdkError;

    use super::*;

    fn failed() -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("connection refused".into()))
    }

    #[test]
    fn a_full_queue_drops_and_counts_until_the_exporter_takes_a_batch() {
        let gauge = QueueGauge::new("shop", 3);
        assert_eq!([gauge.admit(), gauge.admit(), gauge.admit()], [true; 3]);
        assert!(!gauge.admit(), "a fourth span does not fit");
        assert!(!gauge.admit());
        assert_eq!(gauge.dropped(), 2);

        gauge.release(2);
        assert!(gauge.admit() && gauge.admit(), "the exporter made room for two");
        assert!(!gauge.admit());
        assert_eq!(gauge.dropped(), 3);
    }

    #[test]
    fn a_full_queue_says_so_until_the_exporter_makes_room_and_shed_spans_count_as_dropped() {
        let gauge = QueueGauge::new("shop", 2);
        assert!(!gauge.is_refusing());
        assert!(gauge.admit() && gauge.admit());
        assert!(gauge.is_refusing());
        gauge.shed();
        assert_eq!(gauge.dropped(), 1);
        gauge.release(1);
        assert!(!gauge.is_refusing());
    }

    #[test]
    fn a_failed_export_lets_only_probes_in_until_an_export_succeeds() {
        let gauge = QueueGauge::new("shop", 10 * PROBE_SPANS);
        assert!(gauge.admit());
        gauge.release(1);
        gauge.exported(&failed());

        // Open: one probe's worth of spans gets in, the rest is refused, with room to spare.
        assert!(!gauge.is_refusing());
        assert!((0..PROBE_SPANS).all(|_| gauge.admit()));
        assert!(gauge.is_refusing());
        assert!(!gauge.admit());
        assert_eq!(gauge.dropped(), 1);

        // The probe fails too: one more probe, not one per failure piled up.
        gauge.release(PROBE_SPANS);
        gauge.exported(&failed());
        gauge.exported(&failed());
        assert_eq!((0..2 * PROBE_SPANS).filter(|_| gauge.admit()).count(), PROBE_SPANS);

        // A probe gets through: closed, the whole queue is open again.
        gauge.release(PROBE_SPANS);
        gauge.exported(&Ok(()));
        assert!((0..10 * PROBE_SPANS).all(|_| gauge.admit()));
        assert!(gauge.is_refusing(), "and full");
    }

    #[test]
    fn a_full_queue_takes_no_probe_place_it_cannot_use() {
        let gauge = QueueGauge::new("shop", 1);
        gauge.exported(&failed());
        assert!(gauge.admit(), "the first probe");
        assert!(!gauge.admit(), "the queue is full");
        assert_eq!(
            gauge.probes.load(Ordering::Relaxed),
            PROBE_SPANS - 1,
            "the refused span took no probe place"
        );
    }

    #[test]
    fn each_drop_is_reported_once() {
        let gauge = QueueGauge::new("shop", 0);
        for _ in 0..5 {
            gauge.admit();
        }
        assert_eq!(gauge.take_unreported(), (5, 5));
        assert_eq!(gauge.take_unreported(), (0, 5));
        gauge.admit();
        assert_eq!(gauge.take_unreported(), (1, 6));
    }
}
