//! `POST /api/checkout`: the request every trace in this demo starts with.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared_tracing::{
    OpenTelemetrySpanExt as _,
    downstream::DownstreamError,
    json::ApiJson,
    propagation::current_trace_id,
    scenario::{self, Scenario},
};

use crate::{
    domain::{Checkout, CheckoutBody},
    error::AppError,
    startup::AppState,
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
    pub total_cents: u64,
    /// This request's W3C trace id (32 hex digits); `null` when telemetry is disabled.
    pub trace_id: Option<String>,
    /// Where to see the trace: `<JAEGER_UI_URL>/trace/<trace_id>`.
    pub trace_url: Option<String>,
}

/// The part of order-service's answer we pass on.
#[derive(Debug, Deserialize)]
struct OrderResponse {
    order_id: String,
    status: String,
    payment_id: String,
    total_cents: u64,
}

/// Handles `POST /api/checkout`.
pub async fn checkout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<(StatusCode, Json<CheckoutResponse>), AppError> {
    // A scenario arrives as baggage (or `?scenario=`, which the edge turned into baggage); an
    // unknown name is refused here, at the edge, before it travels any further.
    if let Some(name) = scenario::raw_current() {
        name.parse::<Scenario>()?;
    }
    let checkout = Checkout::parse(body)?;
    let span = tracing::Span::current();
    span.set_attribute("checkout.items_count", checkout.items.len() as i64);

    let order_service = state.orders.peer_service();
    let answer =
        state.orders.post_json("/orders", &checkout).await.map_err(|e| DownstreamError::from_outbound(&e))?;
    if !answer.status.is_success() {
        return Err(AppError::from(DownstreamError::relay(order_service, &answer)));
    }
    let order: OrderResponse =
        answer.json().map_err(|_| AppError::from(DownstreamError::relay(order_service, &answer)))?;

    let trace_id = current_trace_id();
    let trace_url = trace_id.as_ref().map(|id| format!("{}/trace/{id}", state.config.jaeger_ui_url));
    tracing::info!(order.id = %order.order_id, total_cents = order.total_cents, "Checkout complete");
    Ok((
        StatusCode::CREATED,
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

/// One entry of `GET /api/scenarios`.
#[derive(Debug, Serialize)]
pub struct ScenarioInfo {
    /// The name to put in `?scenario=` or the `baggage` header.
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
