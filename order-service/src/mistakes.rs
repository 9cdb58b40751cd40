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
    values::Cents,
};
use serde::Serialize;
use shared_tracing::outbound::{OutboundError, OutboundResponse, root_cause};
use tracing::field;

use crate::{
    error::AppError,
    orders::{OrderItem, check_stock},
};

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
pub async fn check_stock_on_detached_tasks(
    items: &[OrderItem],
    latency: Latency,
    out_of_stock: bool,
) -> Result<Vec<Cents>, AppError> {
    making(Mistake::DetachedSpawn);
    let tasks: Vec<_> = items
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, item)| {
            tokio::spawn(async move { check_stock(&item, &latency, out_of_stock && i == 0).await })
        })
        .collect();
    let mut prices = Vec::with_capacity(tasks.len());
    for task in tasks {
        prices.push(task.await.map_err(|e| AppError::Invalid(format!("a stock check failed: {e}")))??);
    }
    Ok(prices)
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
