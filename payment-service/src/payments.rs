//! `POST /payments`: screen for fraud, charge through Stripe, answer with the payment.

use axum::{extract::State, http::StatusCode};
use checkout_domain::{scenario::Scenario, sensitive::CardToken, simulate::Latency, values::Cents};
use opentelemetry::{Context, KeyValue, trace::TraceContextExt as _};
use serde::{Deserialize, Serialize};
use service_kit::json::ApiJson;

use crate::{error::AppError, state::AppState};

/// What order-service sends.
#[derive(Debug, Deserialize)]
pub struct PaymentRequest {
    /// The order being paid.
    pub order_id: String,
    /// The amount, in the currency's smallest unit.
    pub amount_cents: Cents,
    /// ISO currency code, lowercase (`usd`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The card to charge (redacted whenever printed).
    pub card_token: CardToken,
}

fn default_currency() -> String {
    "usd".to_owned()
}

/// The answer: a payment that succeeded.
#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentResponse {
    /// Our id for the payment.
    pub payment_id: String,
    /// Always `succeeded` here.
    pub status: String,
    /// What was charged.
    pub amount_cents: Cents,
    /// Stripe's id for the charge.
    pub charge_id: String,
    /// True when Stripe answered with a charge made before under the same idempotency key (the
    /// order was paid by an attempt that did not live to say so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub charge_replayed: bool,
}

/// Handles `POST /payments`.
pub async fn create_payment(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PaymentRequest>,
) -> Result<(StatusCode, axum::Json<PaymentResponse>), AppError> {
    if request.amount_cents == Cents::new(0) {
        return Err(AppError::Invalid("amount_cents must be greater than 0".into()));
    }
    if request.order_id.trim().is_empty() {
        return Err(AppError::Invalid("order_id must not be empty".into()));
    }

    // Business attributes on the SERVER span (the current span in a handler), through the
    // OpenTelemetry API.
    let server_span = Context::current();
    server_span
        .span()
        .set_attribute(KeyValue::new("payment.amount_cents", request.amount_cents.as_attribute()));
    server_span.span().set_attribute(KeyValue::new("order.id", request.order_id.clone()));
    // An event on the SERVER span: a timestamped line inside the span, shown in Jaeger's "Logs".
    tracing::info!(order.id = %request.order_id, amount_cents = request.amount_cents.get(), "Processing payment");

    fraud_check(request.amount_cents, &state.config.fraud_check).await;

    // The scenario arrived as W3C baggage; nothing in the request body says it.
    let scenario = Scenario::current();
    // One key per order: paying the same order again (a retried checkout) charges once.
    let idempotency_key = format!("order-{}", request.order_id);
    let (charge, charge_replayed) = state
        .stripe
        .charge(&idempotency_key, request.amount_cents, &request.currency, &request.card_token, scenario)
        .await?;

    let payment_id = format!("pay_{}", uuid::Uuid::new_v4().simple());
    server_span.span().set_attribute(KeyValue::new("payment.id", payment_id.clone()));
    tracing::info!(payment.id = %payment_id, charge.id = %charge.id, "Payment succeeded");
    // Test-only: a window between Stripe's charge and the answer, for a crash test to kill in.
    tokio::time::sleep(state.config.crash_window_after_charge).await;

    Ok((
        StatusCode::CREATED,
        axum::Json(PaymentResponse {
            payment_id,
            status: "succeeded".into(),
            amount_cents: request.amount_cents,
            charge_id: charge.id,
            charge_replayed,
        }),
    ))
}

/// Screens the payment for fraud (simulated: it only takes time).
///
/// Internal work, so an ordinary `tracing` span: `#[instrument]` makes the span, named after the
/// function, and tracing-opentelemetry turns it into an INTERNAL span, child of the SERVER span.
/// `skip_all` keeps the arguments out of it; the one attribute is named. (An `i64`: the bridge
/// records a `u64` field as text.)
#[tracing::instrument(skip_all, fields(payment.amount_cents = amount_cents.as_attribute()))]
async fn fraud_check(amount_cents: Cents, latency: &Latency) {
    latency.wait().await;
}
