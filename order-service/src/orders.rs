//! `POST /orders`: validate, check stock and price, store, charge through payment-service.
//! `GET /orders/{id}`: a stored order.
//!
//! With an `Idempotency-Key`, a repeated request replays the stored answer instead of charging
//! again, and the same key with a different request is refused.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use checkout_domain::{
    baggage,
    mistake::{Mistake, making},
    scenario::Scenario,
    sensitive::CardToken,
    simulate::Latency,
    values::Cents,
};
use opentelemetry::{
    Context, KeyValue,
    trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState},
};
use serde::{Deserialize, Serialize};
use service_kit::{downstream::DownstreamError, idempotency, json::ApiJson};
use sha2::{Digest as _, Sha256};
use shared_tracing::propagation::{current_baggage, current_trace_id};
use tracing::{Instrument as _, field};

use crate::{
    catalog::{self, OrderItem},
    config::InventoryMode,
    db::{Caller, OrderStatus, StoredOrder},
    error::AppError,
    mistakes,
    state::AppState,
};

/// Most items one order may hold.
pub const MAX_ITEMS: usize = 50;

/// What the gateway sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Who is buying.
    pub customer_id: String,
    /// What they buy.
    pub items: Vec<OrderItem>,
    /// How they pay (redacted whenever printed).
    pub card_token: CardToken,
}

/// The answer: a confirmed, paid order.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderResponse {
    /// Our id for the order.
    pub order_id: String,
    /// `confirmed` once paid.
    pub status: String,
    /// payment-service's id for the payment.
    pub payment_id: String,
    /// The order total in cents.
    pub total_cents: Cents,
    /// True when this answer replays an earlier request with the same `Idempotency-Key`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub idempotent_replayed: bool,
}

/// What we send payment-service.
#[derive(Debug, Serialize)]
struct PaymentRequest<'a> {
    order_id: &'a str,
    amount_cents: Cents,
    currency: &'static str,
    card_token: &'a CardToken,
}

/// The part of payment-service's answer we use.
#[derive(Debug, Deserialize)]
struct PaymentResponse {
    payment_id: String,
    /// Stripe found a charge made earlier for this order (by an attempt that died).
    #[serde(default)]
    charge_replayed: bool,
}

/// Handles `POST /orders`: six steps, each below, with the lesson branches and the resume of an
/// earlier attempt named beside them. The lesson switches (the scenario, the mistakes) are read
/// here, once, from the request's baggage, and passed down.
pub async fn create_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<OrderRequest>,
) -> Result<(StatusCode, Json<OrderResponse>), AppError> {
    let lesson = Lesson::current();
    let caller = caller(lesson);
    let key = idempotency_key(&headers)?;
    let request_hash = key.as_ref().map(|_| digest(&request));
    // 0. A key seen before: replay its answer, or resume its order (see `earlier_attempt`).
    let resumed = match earlier_attempt(&state, &caller, key.as_deref(), &request_hash).await? {
        Earlier::Replay(stored) => return Ok((StatusCode::CREATED, Json(response(stored, true)))),
        Earlier::Resume(stored, claim) => Some((stored, claim)),
        Earlier::New => None,
    };
    let order_id = resumed
        .as_ref()
        .map_or_else(|| format!("ord_{}", uuid::Uuid::new_v4().simple()), |(o, _)| o.order_id.clone());
    // Claimed before it is stored: a retry that finds the row pending sees it is in progress.
    let (resumed, _claim) = match resumed {
        Some((stored, claim)) => (Some(stored), claim),
        None => (None, state.in_flight.claim(&order_id).ok_or(AppError::IdempotencyInProgress)?),
    };
    describe(&order_id, &request, resumed.as_ref(), lesson);

    // 1. Validate. 2. Price, checking stock.
    validate(&request, &state.config.validation).await?;
    let total_cents = price(&request.items, &state.config.inventory, inventory_mode(&state, lesson)).await?;
    set_server_attribute(KeyValue::new("order.total_cents", total_cents.as_attribute()));
    // 3. Store the order as pending (or take the earlier attempt's over).
    match &resumed {
        Some(_) => state.db.take_over(&caller, &order_id, &state.instance).await?,
        None => store(&state, &caller, &order_id, &request, total_cents, key, request_hash, lesson).await?,
    }
    // 4. Charge it.
    let (payment_id, charge_replayed) =
        pay(&state, &caller, &order_id, total_cents, &request.card_token, lesson).await?;
    if resumed.is_some() {
        let found = if charge_replayed {
            "Stripe answered with the charge an earlier attempt made: charged once"
        } else {
            "no earlier charge at Stripe: charged now"
        };
        tracing::info!(order.id = %order_id, charge.replayed = charge_replayed, "Resumed order: {found}");
    }
    // 5. Confirm it.
    confirm(&state, &caller, &order_id, &payment_id).await?;
    // 6. Print its receipt (the `guard-across-await` mistake is in the printer).
    if lesson.mistake == Some(Mistake::GuardAcrossAwait) {
        state.receipts.print(&order_id).await;
    }
    tracing::info!(order.id = %order_id, payment.id = %payment_id, total_cents = total_cents.get(), "Order confirmed");
    let status = OrderStatus::Confirmed.as_str().into();
    Ok((
        StatusCode::CREATED,
        Json(OrderResponse { order_id, status, payment_id, total_cents, idempotent_replayed: false }),
    ))
}

/// Who this request's queries run for ([`Caller`]), read from the request once, here.
fn caller(lesson: Lesson) -> Caller {
    Caller {
        customer: current_baggage(baggage::CUSTOMER).unwrap_or_else(|| "unknown".to_owned()),
        trace_id: current_trace_id().unwrap_or_default(),
        contended: lesson.scenario == Some(Scenario::PoolContention),
    }
}

/// The lesson switches of one request, read once from its baggage.
#[derive(Debug, Clone, Copy)]
struct Lesson {
    scenario: Option<Scenario>,
    mistake: Option<Mistake>,
}

impl Lesson {
    fn current() -> Self {
        Self { scenario: Scenario::current(), mistake: Mistake::current() }
    }
}

/// What an `Idempotency-Key` seen before asks for.
enum Earlier {
    /// The key is new (or absent): a new order.
    New,
    /// Its order is confirmed: answer it again.
    Replay(StoredOrder),
    /// Its order's attempt died (a crash, a caller gone) or its payment failed: take it up again
    /// under its own id, claimed for this request.
    Resume(StoredOrder, crate::in_flight::Claim),
}

/// The order an `Idempotency-Key` seen before names, and what to do with it; a different request
/// under the same key is refused (422), one a request of this process works on is a 409.
async fn earlier_attempt(
    state: &AppState,
    caller: &Caller,
    key: Option<&str>,
    request_hash: &Option<String>,
) -> Result<Earlier, AppError> {
    let Some(key) = key else { return Ok(Earlier::New) };
    let Some(stored) = state.db.by_idempotency_key(caller, key).await? else { return Ok(Earlier::New) };
    if stored.request_hash != *request_hash {
        return Err(AppError::IdempotencyMismatch);
    }
    set_server_attribute(KeyValue::new("order.id", stored.order_id.clone()));
    if stored.status == OrderStatus::Confirmed {
        set_server_attribute(KeyValue::new("order.idempotent_replayed", true));
        tracing::info!(order.id = %stored.order_id, "Idempotent replay: answering the stored order");
        return Ok(Earlier::Replay(stored));
    }
    let claim = state.in_flight.claim(&stored.order_id).ok_or(AppError::IdempotencyInProgress)?;
    Ok(Earlier::Resume(stored, claim))
}

/// The SERVER span's attributes, which make the trace searchable in Jaeger by `order.id=…`, and
/// the link to the attempt a resumed order started in; the `id-in-span-name` mistake puts the id
/// in the span's name instead, where no backend can index it.
fn describe(order_id: &str, request: &OrderRequest, resumed: Option<&StoredOrder>, lesson: Lesson) {
    if let Some(stored) = resumed {
        link_to_the_attempt_that_created(stored);
    }
    // Attributes on the SERVER span make the trace searchable in Jaeger by `order.id=…`.
    set_server_attribute(KeyValue::new("order.id", order_id.to_owned()));
    if lesson.mistake == Some(Mistake::IdInSpanName) {
        // The `id-in-span-name` mistake: the id in the name, where the attribute above belongs.
        making(Mistake::IdInSpanName);
        Context::current().span().update_name(format!("POST /orders {order_id}"));
    }
    set_server_attribute(KeyValue::new("order.items_count", request.items.len() as i64));
}

/// How stock is checked: the `sequential-inventory` scenario checks item by item, unless its fix
/// is on.
fn inventory_mode(state: &AppState, lesson: Lesson) -> InventoryMode {
    match lesson.scenario {
        Some(Scenario::SequentialInventory) if !state.config.fixes.has(Scenario::SequentialInventory) => {
            InventoryMode::Sequential
        }
        _ => state.config.inventory_mode,
    }
}

/// Stores the new order as pending, with the SERVER span that created it (a resumed attempt links
/// to it). The `slow-db` scenario runs the back office's sales report beside it, in a write
/// transaction unless its fix is on (see `Database::start_sales_report`).
#[allow(clippy::too_many_arguments)] // the order's parts, each from its own step
async fn store(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    request: &OrderRequest,
    total_cents: Cents,
    idempotency_key: Option<String>,
    request_hash: Option<String>,
    lesson: Lesson,
) -> Result<(), AppError> {
    let behind = match lesson.scenario {
        Some(Scenario::SlowDb) => {
            let snapshot = state.config.fixes.has(Scenario::SlowDb);
            state.db.start_sales_report(state.config.slow_db_report, snapshot).await
        }
        _ => None,
    };
    let server = Context::current().span().span_context().clone();
    let order = StoredOrder {
        order_id: order_id.to_owned(),
        customer_id: request.customer_id.clone(),
        items: request.items.clone(),
        total_cents,
        status: OrderStatus::Pending,
        payment_id: None,
        idempotency_key,
        request_hash,
        created_by: server.is_valid().then(|| (server.trace_id().to_string(), server.span_id().to_string())),
    };
    tracing::debug!(order.id = %order_id, "Storing the order");
    state.db.insert(caller, &order, &state.instance, behind).await.map_err(|e| match e {
        crate::db::DbError::DuplicateKey => AppError::IdempotencyInProgress,
        other => AppError::Database(other),
    })
}

/// Charges the order; a failed payment marks it failed (the same `Idempotency-Key` may try it
/// again).
async fn pay(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    total_cents: Cents,
    card_token: &CardToken,
    lesson: Lesson,
) -> Result<(String, bool), AppError> {
    let charging = charge(state, order_id, total_cents, card_token);
    let charged = if lesson.mistake == Some(Mistake::UnendedSpan) {
        // The `unended-span` mistake: the step's span is kept (see `mistakes::KeptSpans`). The
        // right code is the same without `keep`: the span ends when the step's future is done.
        let span = tracing::info_span!("payment_step", order.id = %order_id);
        state.kept_spans.keep(order_id, &span);
        charging.instrument(span).await
    } else {
        charging.await
    };
    if charged.is_err() {
        state.db.set_status(caller, order_id, OrderStatus::Failed).await?;
    }
    charged
}

/// Marks the paid order confirmed. (Test-only: a window between the charge and the UPDATE, for
/// the crash test.)
async fn confirm(
    state: &AppState,
    caller: &Caller,
    order_id: &str,
    payment_id: &str,
) -> Result<(), AppError> {
    if !state.config.crash_window_before_confirm.is_zero() {
        tracing::debug!(order.id = %order_id, "Payment received; confirming the order");
        tokio::time::sleep(state.config.crash_window_before_confirm).await;
    }
    Ok(state.db.confirm(caller, order_id, payment_id).await?)
}

/// Charges the order through payment-service; returns its payment id, and whether Stripe
/// answered with a charge made before.
async fn charge(
    state: &AppState,
    order_id: &str,
    total_cents: Cents,
    card_token: &CardToken,
) -> Result<(String, bool), AppError> {
    let payment = PaymentRequest { order_id, amount_cents: total_cents, currency: "usd", card_token };
    let answer = if Mistake::NoPropagation.is_current() {
        // The `no-propagation` mistake: a plain HTTP client (see `mistakes::post_without_context`).
        mistakes::post_without_context(&state.plain_http, &state.config.payment_service_url, &payment).await
    } else {
        // The right code: the traced client injects its CLIENT span's context into the request.
        state.payments.post_json("/payments", &payment).await
    }
    .map_err(|e| DownstreamError::from_outbound(&e))?;
    if !answer.status.is_success() {
        return Err(AppError::from(DownstreamError::relay(state.payments.peer_service(), &answer)));
    }
    let payment: PaymentResponse = answer
        .json()
        .map_err(|_| AppError::from(DownstreamError::relay(state.payments.peer_service(), &answer)))?;
    Ok((payment.payment_id, payment.charge_replayed))
}

/// A resumed attempt's SERVER span links to the SERVER span of the attempt that created the order
/// (its context kept in the row), with why: one checkout across two traces, and two processes.
fn link_to_the_attempt_that_created(stored: &StoredOrder) {
    let why = if stored.status == OrderStatus::Pending { "abandoned" } else { "payment_failed" };
    tracing::info!(order.id = %stored.order_id, resumed_from = why, "Resuming the order an earlier attempt left {why}");
    let Some((trace_id, span_id)) = &stored.created_by else { return };
    if let (Ok(trace_id), Ok(span_id)) = (TraceId::from_hex(trace_id), SpanId::from_hex(span_id)) {
        let creator = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, true, TraceState::NONE);
        Context::current().span().add_link(creator, vec![KeyValue::new("checkout.resumed_from", why)]);
    }
}

/// A stored order, as `GET /orders/{id}` answers it.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderView {
    /// Our id for the order.
    pub order_id: String,
    /// `pending`, `confirmed` or `failed`.
    pub status: String,
    /// Who bought.
    pub customer_id: String,
    /// What they bought.
    pub items: Vec<OrderItem>,
    /// The total, in cents.
    pub total_cents: Cents,
    /// payment-service's id for the payment, once paid.
    pub payment_id: Option<String>,
}

/// Handles `GET /orders/{id}`.
pub async fn get_order(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<OrderView>, AppError> {
    set_server_attribute(KeyValue::new("order.id", order_id.clone()));
    let order =
        state.db.get(&caller(Lesson::current()), &order_id).await?.ok_or(AppError::NotFound(order_id))?;
    Ok(Json(OrderView {
        order_id: order.order_id,
        status: order.status.as_str().into(),
        customer_id: order.customer_id,
        items: order.items,
        total_cents: order.total_cents,
        payment_id: order.payment_id,
    }))
}

fn response(order: StoredOrder, replayed: bool) -> OrderResponse {
    OrderResponse {
        order_id: order.order_id,
        status: order.status.as_str().into(),
        payment_id: order.payment_id.unwrap_or_default(),
        total_cents: order.total_cents,
        idempotent_replayed: replayed,
    }
}

/// The request's `Idempotency-Key`, if any: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get(idempotency::HEADER) else { return Ok(None) };
    idempotency::parse(value).map(Some).map_err(AppError::Invalid)
}

/// A digest of the request, to tell a retry from a different request under the same key. The card
/// token is part of it (a different card is a different request) but never stored itself.
fn digest(request: &OrderRequest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.customer_id.as_bytes());
    for item in &request.items {
        hasher.update([0]);
        hasher.update(item.sku.as_str().as_bytes());
        hasher.update(item.quantity.get().to_be_bytes());
    }
    hasher.update([0]);
    hasher.update(request.card_token.expose().as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds a business attribute to the request's SERVER span: the current span in a handler, made
/// by the inbound layer with the OpenTelemetry API, so it is reached through that API.
fn set_server_attribute(attribute: KeyValue) {
    Context::current().span().set_attribute(attribute);
}

/// The order's own rules (the gateway checks them too; an internal API still trusts no one).
/// The rules of each line's sku and quantity hold already: their types were parsed with the body.
///
/// Internal work: a `tracing` span (`validate_order`), child of the SERVER span, with the event
/// "Validating order" inside it. `skip_all` keeps the arguments (and so the card token) out of
/// the span; its one attribute is named.
#[tracing::instrument(name = "validate_order", skip_all, fields(order.items_count = request.items.len() as i64))]
async fn validate(request: &OrderRequest, latency: &Latency) -> Result<(), AppError> {
    // An event: a timestamped log line inside the span (Jaeger shows it under "Logs").
    tracing::info!("Validating order");
    latency.wait().await;
    if request.customer_id.trim().is_empty() {
        return Err(AppError::Invalid("customer_id must not be empty".into()));
    }
    if request.items.is_empty() || request.items.len() > MAX_ITEMS {
        return Err(AppError::Invalid(format!("an order has 1 to {MAX_ITEMS} items")));
    }
    // Each sku and quantity was checked as the body was read (`checkout_domain::values`).
    Ok(())
}

/// Checks every item's stock and adds up the total: all items at once, or (the N+1 pattern of the
/// `sequential-inventory` scenario) one after another.
///
/// `inventory.mode` is declared empty and recorded once it is known: `Span::record` fills in a
/// field the span was created with.
#[tracing::instrument(
    name = "inventory_and_pricing",
    skip_all,
    fields(order.items_count = items.len() as i64, inventory.mode = field::Empty)
)]
async fn price(items: &[OrderItem], latency: &Latency, mode: InventoryMode) -> Result<Cents, AppError> {
    let sequential = mode == InventoryMode::Sequential;
    tracing::Span::current().record("inventory.mode", if sequential { "sequential" } else { "parallel" });
    let out_of_stock = Scenario::current() == Some(Scenario::OutOfStock);
    let prices = if sequential {
        let mut prices = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            prices.push(check_stock(item, latency, out_of_stock && index == 0).await?);
        }
        prices
    } else if Mistake::DetachedSpawn.is_current() {
        let checks = items.iter().cloned().enumerate().map(|(i, item)| {
            let latency = *latency;
            async move { check_stock(&item, &latency, out_of_stock && i == 0).await }
        });
        mistakes::spawn_detached(checks).await?
    } else {
        // Each check is its own future with its own span, polled inside this span: in the trace
        // they overlap, each a child of this one.
        let checks =
            items.iter().enumerate().map(|(i, item)| check_stock(item, latency, out_of_stock && i == 0));
        futures_util::future::join_all(checks).await.into_iter().collect::<Result<Vec<_>, _>>()?
    };
    Ok(prices.into_iter().sum())
}

/// One item's stock check (a lookup in a real shop); answers the line's price.
///
/// Called from inside `inventory_and_pricing`, so its span is that span's child.
async fn check_stock(item: &OrderItem, latency: &Latency, sold_out: bool) -> Result<Cents, AppError> {
    let span = tracing::info_span!(
        "check_stock",
        product.sku = %item.sku,
        product.quantity = i64::from(item.quantity.get())
    );
    async {
        if Mistake::SpanPerItem.is_current() {
            mistakes::wait_for_the_warehouses_a_span_per_poll(latency).await;
        } else {
            latency.wait().await;
        }
        let product =
            catalog::find(item.sku.as_str()).ok_or_else(|| AppError::UnknownSku(item.sku.to_string()))?;
        // The `out-of-stock` scenario (chosen by baggage at the edge): the first item is sold out.
        if sold_out {
            tracing::info!(sku = %item.sku, "Out of stock");
            return Err(AppError::OutOfStock(item.sku.to_string()));
        }
        Ok(product.price_cents.times(item.quantity))
    }
    .instrument(span)
    .await
}
