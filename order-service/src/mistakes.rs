//! The instrumentation mistakes order-service makes on purpose, for a request whose baggage asks
//! for one (`checkout_domain::mistake`). Each is the wrong code a person really writes, called
//! from `orders.rs` right where the right code is, so the lessons can quote the two side by side.
//! Nothing here runs for a request that does not ask.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use checkout_domain::{
    mistake::{Mistake, making},
    simulate::Latency,
};
use serde::Serialize;
use shared_tracing::outbound::{OutboundError, OutboundResponse, root_cause};
use tracing::field;

use crate::error::AppError;

/// `no-propagation`: the call to payment-service made with a plain reqwest client. The call has a
/// span (kind CLIENT, as a hand-instrumented call would), but nothing writes that span's context
/// into the request: no `traceparent`, no `baggage`. payment-service starts a trace of its own,
/// and the scenario, which travels in baggage, never reaches it.
///
/// The right code is `TracedClient::post_json`, which injects the CLIENT span's context.
#[tracing::instrument(
    name = "POST /payments",
    skip_all,
    fields(
        otel.kind = "client",
        peer.service = "payment-service",
        http.request.method = "POST",
        http.response.status_code = field::Empty,
    )
)]
pub async fn post_without_context(
    http: &reqwest::Client,
    base_url: &str,
    payment: &impl Serialize,
) -> Result<OutboundResponse, OutboundError> {
    making(Mistake::NoPropagation);
    let failed = |e: reqwest::Error| OutboundError::Failed { peer: "payment-service", cause: root_cause(&e) };
    let url = format!("{}/payments", base_url.trim_end_matches('/'));
    let response = http.post(url).json(payment).send().await.map_err(failed)?;
    let status = response.status();
    tracing::Span::current().record("http.response.status_code", i64::from(status.as_u16()));
    let body = response.bytes().await.map_err(failed)?;
    Ok(OutboundResponse { status, body })
}

/// `detached-spawn`: each stock check on a task of its own, spawned without the span. A spawned
/// task starts with no current span, so `check_stock`'s span has no parent: each check is a trace
/// of its own, and the checkout's trace has a hole where they were.
///
/// The right code carries the span into the task: `tokio::spawn(check.in_current_span())`.
pub async fn spawn_detached<T: Send + 'static>(
    checks: impl Iterator<Item = impl Future<Output = Result<T, AppError>> + Send + 'static>,
) -> Result<Vec<T>, AppError> {
    making(Mistake::DetachedSpawn);
    let tasks: Vec<_> = checks.map(tokio::spawn).collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.map_err(|e| AppError::Invalid(format!("a stock check failed: {e}")))??);
    }
    Ok(answers)
}

/// How often the `span-per-item` stock check asks the warehouses whether they have answered.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// The warehouses the `span-per-item` stock check asks, each at every poll.
const WAREHOUSES: [&str; 4] = ["north", "south", "east", "west"];

/// `span-per-item`: the stock check waits for the warehouses by asking each of them, every
/// millisecond, whether it has answered, and each question, a few microseconds of work, is a span
/// (`#[instrument]` on a function called in a loop). A 40 ms check is a hundred spans or more; a
/// checkout, hundreds.
///
/// The right code makes one span of the wait and, if the polls matter, counts them in an
/// attribute of that span (`poll.count`) or records an event.
pub async fn wait_for_the_warehouses_a_span_per_poll(latency: &Latency) {
    making(Mistake::SpanPerItem);
    let ready_at = tokio::time::Instant::now() + latency.sample();
    let mut attempt = 0;
    loop {
        let answered: Vec<bool> = WAREHOUSES.iter().map(|w| poll_warehouse(w, ready_at, attempt)).collect();
        if answered.contains(&true) {
            return;
        }
        attempt += 1;
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// One question to one warehouse: has it answered?
#[tracing::instrument(level = "info", skip(ready_at))]
fn poll_warehouse(warehouse: &str, ready_at: tokio::time::Instant, attempt: u32) -> bool {
    tokio::time::Instant::now() >= ready_at
}

/// Most spans [`KeptSpans`] holds; past it the oldest is let go (and, so, ends).
const KEPT_SPANS: usize = 1_000;

/// `unended-span`: spans kept in a long-lived value, "to add the confirmation to later". A
/// `tracing` span ends when its last handle is dropped; a handle kept here keeps it open, so it is
/// not exported when its work is done (only when it is let go, a thousand checkouts later), and
/// its children arrive with a parent that is not there.
#[derive(Debug, Clone, Default)]
pub struct KeptSpans(Arc<Mutex<VecDeque<(String, tracing::Span)>>>);

impl KeptSpans {
    /// The mistake: the order's payment span, kept with its order id.
    pub fn keep(&self, order_id: &str, span: &tracing::Span) {
        making(Mistake::UnendedSpan);
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_back((order_id.to_owned(), span.clone()));
        if kept.len() > KEPT_SPANS {
            kept.pop_front();
        }
    }
}

/// The receipt printer of the `guard-across-await` mistake, on a thread of its own.
///
/// Its client is not `Send` (it holds an `Rc`, as many device and FFI clients do), so it runs on
/// a current-thread runtime with a `LocalSet`, where futures need not be `Send`, and every
/// receipt being printed takes turns on that one thread. That is where a guard held across an
/// `.await` compiles: in an axum handler it does not (tracing's guard is not `Send`).
///
/// The thread is started by the first receipt, so a service that is never asked for this mistake
/// has none.
#[derive(Debug, Clone)]
pub struct Receipts {
    latency: Latency,
    jobs: Arc<std::sync::OnceLock<Option<tokio::sync::mpsc::UnboundedSender<Receipt>>>>,
}

/// One receipt to print, in the span of the request that asked.
#[derive(Debug)]
struct Receipt {
    order_id: String,
    span: tracing::Span,
    printed: tokio::sync::oneshot::Sender<()>,
}

impl Receipts {
    /// A printer each step of whose receipts takes `latency`.
    pub fn new(latency: Latency) -> Self {
        Self { latency, jobs: Arc::default() }
    }

    /// Starts the printer's thread. It ends when the last `Receipts` is dropped.
    fn start(latency: Latency) -> std::io::Result<tokio::sync::mpsc::UnboundedSender<Receipt>> {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Receipt>();
        // A new thread has no `tracing` subscriber of its own unless one is global: take ours.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        std::thread::Builder::new().name("receipts".into()).spawn(move || {
            let _subscriber = tracing::dispatcher::set_default(&dispatch);
            let printer = std::rc::Rc::new(Printer { latency });
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                while let Some(receipt) = queue.recv().await {
                    tokio::task::spawn_local(print(receipt, printer.clone()));
                }
            });
        })?;
        Ok(jobs)
    }

    /// Prints the order's receipt in a span of the current request (`print_receipt`); returns
    /// once it is printed.
    pub async fn print(&self, order_id: &str) {
        making(Mistake::GuardAcrossAwait);
        let span = tracing::info_span!("print_receipt", order.id = %order_id);
        let jobs = self.jobs.get_or_init(|| {
            Self::start(self.latency)
                .inspect_err(|error| tracing::warn!(%error, "The receipt printer's thread could not start"))
                .ok()
        });
        let (printed, done) = tokio::sync::oneshot::channel();
        if let Some(jobs) = jobs
            && jobs.send(Receipt { order_id: order_id.to_owned(), span, printed }).is_ok()
        {
            let _ = done.await;
        }
    }
}

/// `guard-across-await`: the receipt's span entered, and the guard held across the `.await`s.
/// While this receipt waits, the thread runs the others, and the span stays entered all along: a
/// span another receipt makes takes whichever entered span is on top, its own or this one. One
/// receipt alone looks fine; two at once, and their steps land under each other's spans, in each
/// other's traces.
///
/// The right code lets the future enter the span on every poll and leave it at every `.await`:
/// `async { … }.instrument(receipt.span).await`.
async fn print(receipt: Receipt, printer: std::rc::Rc<Printer>) {
    let _entered = receipt.span.enter();
    printer.lay_out(&receipt.order_id).await;
    printer.send(&receipt.order_id).await;
    let _ = receipt.printed.send(());
}

/// The printer's client: not `Send`, so it stays on its thread.
#[derive(Debug)]
struct Printer {
    latency: Latency,
}

impl Printer {
    /// Lays the receipt out.
    #[tracing::instrument(name = "lay_out_receipt", skip_all, fields(order.id = %order_id))]
    async fn lay_out(&self, order_id: &str) {
        self.latency.wait().await;
    }

    /// Sends it to the printer.
    #[tracing::instrument(name = "send_to_printer", skip_all, fields(order.id = %order_id))]
    async fn send(&self, order_id: &str) {
        self.latency.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::{Value, trace::SpanId};
    use opentelemetry_sdk::trace::SpanData;
    use shared_tracing_testing::TestTelemetry;
    use tracing::Instrument as _;

    use super::*;

    /// The right code: the span given to the future, entered while it runs and left at every
    /// `.await`.
    async fn print_instrumented(receipt: Receipt, printer: std::rc::Rc<Printer>) {
        let Receipt { order_id, span, printed } = receipt;
        async {
            printer.lay_out(&order_id).await;
            printer.send(&order_id).await;
        }
        .instrument(span)
        .await;
        let _ = printed.send(());
    }

    fn receipt(order_id: &str) -> Receipt {
        let span = tracing::info_span!("print_receipt", order.id = %order_id);
        Receipt { order_id: order_id.to_owned(), span, printed: tokio::sync::oneshot::channel().0 }
    }

    fn order_id(span: &SpanData) -> Option<String> {
        span.attributes.iter().find(|kv| kv.key.as_str() == "order.id").map(|kv| match &kv.value {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
    }

    /// Each step's order, and the order of the `print_receipt` span it sits under.
    fn steps_and_parents(telemetry: &TestTelemetry) -> Vec<(Option<String>, Option<String>)> {
        let spans = telemetry.spans();
        let by_id = |id: SpanId| spans.iter().find(|s| s.span_context.span_id() == id);
        spans
            .iter()
            .filter(|s| s.name != "print_receipt")
            .map(|s| (order_id(s), by_id(s.parent_span_id).and_then(order_id)))
            .collect()
    }

    #[tokio::test]
    async fn two_receipts_at_once_mix_their_steps_with_the_guard_held_and_not_with_instrument() {
        let printer = std::rc::Rc::new(Printer { latency: Latency::from_millis(5, 0) });

        let wrong = TestTelemetry::start();
        tokio::join!(print(receipt("ord_a"), printer.clone()), print(receipt("ord_b"), printer.clone()));
        let mixed = steps_and_parents(&wrong);
        drop(wrong);
        assert_eq!(mixed.len(), 4);
        assert!(
            mixed.iter().any(|(step, parent)| step != parent),
            "a step under the other's span: {mixed:?}"
        );

        let right = TestTelemetry::start();
        tokio::join!(
            print_instrumented(receipt("ord_a"), printer.clone()),
            print_instrumented(receipt("ord_b"), printer.clone())
        );
        let apart = steps_and_parents(&right);
        assert_eq!(apart.len(), 4);
        assert!(apart.iter().all(|(step, parent)| step == parent), "each step under its own: {apart:?}");
    }
}
