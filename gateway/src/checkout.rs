//! `POST /api/checkout`: the request every trace in this demo starts with.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
};
use checkout_domain::baggage;
use checkout_domain::mistake::Mistake;
use checkout_domain::scenario::Scenario;
use checkout_domain::values::Cents;
use opentelemetry::{Context, KeyValue, context::FutureExt as _, trace::TraceContextExt as _};
use serde::{Deserialize, Serialize};
use service_kit::{downstream::DownstreamError, idempotency, json::ApiJson};
use shared_tracing::propagation::{current_trace_id, current_with_baggage_entry};

use crate::{
    domain::{Checkout, CheckoutBody},
    error::AppError,
    state::AppState,
};

/// The answer to a successful checkout.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckoutResponse {
    /// order-service's id for the order.
    pub order_id: String,
    /// The order's status (`confirmed`).
    pub status: String,
    /// payment-service's id for the payment.
    pub payment_id: String,
    /// What was charged, in cents.
    pub total_cents: Cents,
    /// This request's W3C trace id (32 hex digits); `null` when telemetry is disabled.
    pub trace_id: Option<String>,
    /// Where to see the trace: `<JAEGER_UI_URL>/trace/<trace_id>` (none without a Jaeger UI).
    pub trace_url: Option<String>,
}

/// The part of order-service's answer we pass on.
#[derive(Debug, Deserialize)]
struct OrderResponse {
    order_id: String,
    status: String,
    payment_id: String,
    total_cents: Cents,
    #[serde(default)]
    idempotent_replayed: bool,
}

/// Handles `POST /api/checkout`.
pub async fn checkout(
    State(state): State<AppState>,
    request_headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<(StatusCode, HeaderMap, Json<CheckoutResponse>), AppError> {
    // A scenario arrives as baggage (or `?scenario=`, which the edge turned into baggage); an
    // unknown name is refused here, at the edge, before it travels any further.
    if let Some(name) = Scenario::raw_current() {
        name.parse::<Scenario>()?;
    }
    // So is an instrumentation mistake to make on purpose (`?mistake=`).
    if let Some(name) = Mistake::raw_current() {
        name.parse::<Mistake>()?;
    }
    let checkout = Checkout::parse(body)?;
    let mut forwarded = HeaderMap::new();
    if let Some(value) = request_headers.get(idempotency::HEADER) {
        idempotency::parse(value).map_err(AppError::InvalidHeader)?;
        forwarded.insert(idempotency::HEADER, value.clone());
    }
    // A business attribute on the request's SERVER span, through the OpenTelemetry API: in a
    // handler the current context holds that span.
    Context::current()
        .span()
        .set_attribute(KeyValue::new("checkout.items_count", checkout.items.len() as i64));

    // The gateway names the customer in baggage, for every service behind it: context set once at
    // the edge (order-service's connection pool uses it to say whom a waiting request queued behind).
    let cx = current_with_baggage_entry(baggage::CUSTOMER, checkout.customer_id.as_str());
    let order_service = state.orders.peer_service();
    let answer = state
        .orders
        .post_json_with_headers("/orders", "/orders", &checkout, forwarded)
        .with_context(cx)
        .await
        .map_err(|e| DownstreamError::from_outbound(&e))?;
    if !answer.status.is_success() {
        return Err(AppError::from(DownstreamError::relay(order_service, &answer)));
    }
    let order: OrderResponse =
        answer.json().map_err(|_| AppError::from(DownstreamError::relay(order_service, &answer)))?;

    let trace_id = current_trace_id();
    let trace_url = trace_id
        .as_ref()
        .zip(state.config.jaeger_ui_url.as_ref())
        .map(|(id, jaeger)| format!("{jaeger}/trace/{id}"));
    tracing::info!(order.id = %order.order_id, total_cents = order.total_cents.get(), "Checkout complete");
    let mut headers = HeaderMap::new();
    if order.idempotent_replayed {
        headers.insert(idempotency::REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(CheckoutResponse {
            order_id: order.order_id,
            status: order.status,
            payment_id: order.payment_id,
            total_cents: order.total_cents,
            trace_id,
            trace_url,
        }),
    ))
}

/// Handles `GET /api/orders/{id}`: a stored order, from order-service.
pub async fn get_order(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    // Only ids that could be ours travel on: no path tricks reach order-service.
    let plausible = !order_id.is_empty()
        && order_id.len() <= 64
        && order_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !plausible {
        return Err(AppError::OrderNotFound(order_id));
    }
    Context::current().span().set_attribute(KeyValue::new("order.id", order_id.clone()));
    let order_service = state.orders.peer_service();
    let answer = state
        .orders
        .get("/orders/{id}", &format!("/orders/{order_id}"))
        .await
        .map_err(|e| DownstreamError::from_outbound(&e))?;
    if !answer.status.is_success() {
        return Err(AppError::from(DownstreamError::relay(order_service, &answer)));
    }
    let order = answer.json().map_err(|_| AppError::from(DownstreamError::relay(order_service, &answer)))?;
    Ok(Json(order))
}

/// One entry of `GET /api/scenarios` (or `GET /api/mistakes`).
#[derive(Debug, Serialize)]
pub struct ScenarioInfo {
    /// The name to put in `?scenario=` (`?mistake=`) or the `baggage` header.
    pub name: &'static str,
    /// What its trace shows.
    pub lesson: &'static str,
}

/// Handles `GET /api/scenarios`: every teaching scenario and what its trace shows.
pub async fn scenarios() -> Json<serde_json::Value> {
    let list: Vec<ScenarioInfo> =
        Scenario::ALL.into_iter().map(|s| ScenarioInfo { name: s.name(), lesson: s.lesson() }).collect();
    Json(serde_json::json!({ "scenarios": list }))
}

/// Handles `GET /api/mistakes`: every instrumentation mistake that can be made on purpose
/// (`?mistake=<name>`), and what its trace shows.
pub async fn mistakes() -> Json<serde_json::Value> {
    let list: Vec<ScenarioInfo> =
        Mistake::ALL.into_iter().map(|m| ScenarioInfo { name: m.name(), lesson: m.lesson() }).collect();
    Json(serde_json::json!({ "mistakes": list }))
}
