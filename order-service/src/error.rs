//! Every way an order can fail, and the JSON answer each one gets.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use service_kit::{downstream::DownstreamError, error_body::ErrorBody};

use crate::db::DbError;

/// How the order database is named in error bodies (`dependency`) and logs.
pub const DATABASE: &str = "order-database";

/// A failed `POST /orders`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The order parsed but breaks a rule (no items, a zero quantity…).
    #[error("{0}")]
    Invalid(String),
    /// An item's sku is not in the catalog.
    #[error("unknown sku {0:?}")]
    UnknownSku(String),
    /// An item is sold out.
    #[error("{0:?} is out of stock")]
    OutOfStock(String),
    /// payment-service failed or refused.
    #[error("payment failed")]
    Payment(Box<DownstreamError>),
    /// No order has this id.
    #[error("no order {0:?}")]
    NotFound(String),
    /// The `Idempotency-Key` was first used with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// A request with this `Idempotency-Key` is still being processed.
    #[error("idempotency key in use")]
    IdempotencyInProgress,
    /// The order database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<DownstreamError> for AppError {
    fn from(error: DownstreamError) -> Self {
        // Boxed: the failure path is rare, and a small `Result` keeps the happy path cheap.
        AppError::Payment(Box::new(error))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            // Bad input is the caller's problem: answered, not logged as an error.
            AppError::Invalid(message) => ErrorBody::new("invalid_request", message)
                .into_response_with(StatusCode::UNPROCESSABLE_ENTITY),
            AppError::UnknownSku(sku) => {
                ErrorBody::new("unknown_sku", format!("there is no product with sku {sku:?}"))
                    .into_response_with(StatusCode::UNPROCESSABLE_ENTITY)
            }
            AppError::OutOfStock(sku) => ErrorBody::new("out_of_stock", format!("{sku:?} is out of stock"))
                .into_response_with(StatusCode::CONFLICT),
            // Logs once (for 5xx), inside the request span.
            AppError::Payment(error) => error.into_response(),
            AppError::NotFound(id) => ErrorBody::new("order_not_found", format!("there is no order {id:?}"))
                .into_response_with(StatusCode::NOT_FOUND),
            AppError::IdempotencyMismatch => ErrorBody::new(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request; use a new key",
            )
            .into_response_with(StatusCode::UNPROCESSABLE_ENTITY),
            AppError::IdempotencyInProgress => ErrorBody::new(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still in progress; retry later",
            )
            .into_response_with(StatusCode::CONFLICT),
            AppError::Database(error) => {
                tracing::error!(error = %error, "The order database failed");
                ErrorBody::new("database_unavailable", format!("the order database failed: {error}"))
                    .with_dependency(DATABASE)
                    .into_response_with(StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }
}
