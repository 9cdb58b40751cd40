//! Every way an order can fail, and the JSON answer each one gets.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use shared_tracing::{downstream::DownstreamError, error_body::ErrorBody};

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
        }
    }
}
