//! `POST /orders`: validate, price against the catalog, charge through payment-service.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared_tracing::{
    OpenTelemetrySpanExt as _, downstream::DownstreamError, json::ApiJson, scenario::Scenario,
    sensitive::CardToken, simulate::Latency,
};

use crate::{catalog, error::AppError, startup::AppState};

/// Most items one order may hold.
pub const MAX_ITEMS: usize = 50;
/// Most units of one item.
pub const MAX_QUANTITY: u32 = 100;

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

/// One line of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderItem {
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
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
    pub total_cents: u64,
}

/// What we send payment-service.
#[derive(Debug, Serialize)]
struct PaymentRequest<'a> {
    order_id: &'a str,
    amount_cents: u64,
    currency: &'static str,
    card_token: &'a CardToken,
}

/// The part of payment-service's answer we use.
#[derive(Debug, Deserialize)]
struct PaymentResponse {
    payment_id: String,
}

/// Handles `POST /orders`.
pub async fn create_order(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<OrderRequest>,
) -> Result<(StatusCode, Json<OrderResponse>), AppError> {
    let order_id = format!("ord_{}", uuid::Uuid::new_v4().simple());
    // Attributes on the SERVER span make the trace searchable in Jaeger by `order.id=…`.
    let span = tracing::Span::current();
    span.set_attribute("order.id", order_id.clone());
    span.set_attribute("order.items_count", request.items.len() as i64);

    validate(&request, &state.config.validation).await?;
    let total_cents = price(&request.items, &state.config.inventory).await?;
    span.set_attribute("order.total_cents", total_cents as i64);

    let payment = PaymentRequest {
        order_id: &order_id,
        amount_cents: total_cents,
        currency: "usd",
        card_token: &request.card_token,
    };
    let answer = state
        .payments
        .post_json("/payments", &payment)
        .await
        .map_err(|e| DownstreamError::from_outbound(&e))?;
    if !answer.status.is_success() {
        return Err(AppError::from(DownstreamError::relay(state.payments.peer_service(), &answer)));
    }
    let payment: PaymentResponse = answer
        .json()
        .map_err(|_| AppError::from(DownstreamError::relay(state.payments.peer_service(), &answer)))?;

    tracing::info!(order.id = %order_id, payment.id = %payment.payment_id, total_cents, "Order confirmed");
    Ok((
        StatusCode::CREATED,
        Json(OrderResponse {
            order_id,
            status: "confirmed".into(),
            payment_id: payment.payment_id,
            total_cents,
        }),
    ))
}

/// The order's own rules (the gateway checks them too; an internal API still trusts no one).
///
/// `#[instrument]` makes this an INTERNAL span, child of the request's SERVER span; `skip_all`
/// keeps the arguments (and so the card token) out of its attributes.
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
    if let Some((i, _)) =
        request.items.iter().enumerate().find(|(_, it)| !(1..=MAX_QUANTITY).contains(&it.quantity))
    {
        return Err(AppError::Invalid(format!("items[{i}].quantity must be between 1 and {MAX_QUANTITY}")));
    }
    Ok(())
}

/// Checks every sku exists and adds up the total.
#[tracing::instrument(name = "inventory_and_pricing", skip_all, fields(order.items_count = items.len() as i64))]
async fn price(items: &[OrderItem], latency: &Latency) -> Result<u64, AppError> {
    latency.wait().await;
    // The `out-of-stock` scenario (chosen by baggage at the edge): the first item is sold out.
    if Scenario::current() == Some(Scenario::OutOfStock)
        && let Some(item) = items.first()
    {
        tracing::info!(sku = %item.sku, "Out of stock");
        return Err(AppError::OutOfStock(item.sku.clone()));
    }
    items.iter().try_fold(0u64, |total, item| {
        let product = catalog::find(&item.sku).ok_or_else(|| AppError::UnknownSku(item.sku.clone()))?;
        Ok(total + product.price_cents * u64::from(item.quantity))
    })
}
