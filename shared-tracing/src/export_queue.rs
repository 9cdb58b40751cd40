//! The export queue's admission and its dropped-span report: what happens to spans when the
//! collector cannot keep up.
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
//! - While the queue is full, new spans are not even built ([`crate::span::ActiveSpan::start`] asks
//!   [`QueueGauge::is_full`]): a span started then could only be dropped when it ends, so its
//!   attributes, events and clock reads would be work thrown away. It is counted as dropped
//!   ([`QueueGauge::shed`]), and its trace context still travels on, so the services behind keep
//!   tracing. This is what keeps a dead collector cheap.
//! - [`ExportQueues`] logs one warning per [`REPORT_INTERVAL`] at most, with the count since the
//!   last one and the total: a collector outage at 10 000 spans a second is one line every ten
//!   seconds, not 10 000 lines a second.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT, SpanData, SpanExporter},
};

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

/// Spans between the end of a span and its export, and the spans dropped because there was no
/// room. Shared by one span processor and its exporter.
#[derive(Debug)]
pub struct QueueGauge {
    capacity: usize,
    in_flight: AtomicUsize,
    dropped: AtomicU64,
    reported: AtomicU64,
}

impl QueueGauge {
    /// A gauge for a queue of `capacity` spans.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            in_flight: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        })
    }

    /// Takes a place in the queue for one span, or counts it dropped when the queue is full.
    ///
    /// `in_flight` never exceeds `capacity`, and the spans in the batch processor's queue are a
    /// subset of it, so once a span is admitted the processor always has room for it: every drop
    /// happens, and is counted, here.
    pub fn admit(&self) -> bool {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) < self.capacity {
            true
        } else {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// True when the queue is full: a span ending now would be dropped.
    pub fn is_full(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) >= self.capacity
    }

    /// Counts one span as dropped without offering it to the queue: one that was not built at all
    /// because the queue was full when it would have started.
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

    /// A gauge for one more provider's queue.
    pub fn new_gauge(&mut self) -> Arc<QueueGauge> {
        let gauge = QueueGauge::new(self.size);
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

    /// Logs the total of dropped spans, once, at shutdown (nothing when none were dropped).
    pub fn report_total(&self) {
        let total: u64 = self.gauges.iter().map(|g| g.dropped()).sum();
        if total > 0 {
            let queue_size = self.size;
            tracing::warn!(
                dropped_spans_total = total,
                queue_size,
                "{total} spans were dropped in all because the export queue (OTEL_BSP_MAX_QUEUE_SIZE={queue_size}) was full"
            );
        }
    }
}

/// A span exporter that tells its [`QueueGauge`] when spans leave the queue.
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
        self.inner.export(batch)
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
                "Dropped {new} spans since the last report ({total} in all): the export queue is full, \
                 so the collector is down or slower than this service makes spans. Requests are not affected."
            );
            last_report = Some(tokio::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_until_the_exporter_takes_a_batch() {
        let gauge = QueueGauge::new(3);
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
        let gauge = QueueGauge::new(2);
        assert!(!gauge.is_full());
        assert!(gauge.admit() && gauge.admit());
        assert!(gauge.is_full());
        gauge.shed();
        assert_eq!(gauge.dropped(), 1);
        gauge.release(1);
        assert!(!gauge.is_full());
    }

    #[test]
    fn each_drop_is_reported_once() {
        let gauge = QueueGauge::new(0);
        for _ in 0..5 {
            gauge.admit();
        }
        assert_eq!(gauge.take_unreported(), (5, 5));
        assert_eq!(gauge.take_unreported(), (0, 5));
        gauge.admit();
        assert_eq!(gauge.take_unreported(), (1, 6));
    }
}
