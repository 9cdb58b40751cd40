//! Every way a checkout can fail, and the JSON answer each one gets.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use service_kit::{downstream::DownstreamError, error_body::ErrorBody};

use crate::domain::ValidationError;

/// A failed `POST /api/checkout`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body broke a rule of the API.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request asked for a scenario that does not exist.
    #[error(transparent)]
    UnknownScenario(#[from] checkout_domain::scenario::UnknownScenario),
    /// The request asked for an instrumentation mistake that does not exist.
    #[error(transparent)]
    UnknownMistake(#[from] checkout_domain::mistake::UnknownMistake),
    /// A request header broke a rule (an `Idempotency-Key` too long…); the message says which.
    #[error("{0}")]
    InvalidHeader(String),
    /// The order id cannot be one of ours.
    #[error("no order {0:?}")]
    OrderNotFound(String),
    /// order-service (or something behind it) failed or refused.
    #[error("order failed")]
    Order(Box<DownstreamError>),
}

impl From<DownstreamError> for AppError {
    fn from(error: DownstreamError) -> Self {
        // Boxed: the failure path is rare, and a small `Result` keeps the happy path cheap.
        AppError::Order(Box::new(error))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            // Bad input is the caller's problem: answered, not logged as an error.
            AppError::Invalid(e) => {
                ErrorBody::new("invalid_request", e.0).into_response_with(StatusCode::UNPROCESSABLE_ENTITY)
            }
            AppError::UnknownScenario(e) => {
                ErrorBody::new("unknown_scenario", e.to_string()).into_response_with(StatusCode::BAD_REQUEST)
            }
            AppError::UnknownMistake(e) => {
                ErrorBody::new("unknown_mistake", e.to_string()).into_response_with(StatusCode::BAD_REQUEST)
            }
            AppError::InvalidHeader(message) => {
                ErrorBody::new("invalid_header", message).into_response_with(StatusCode::BAD_REQUEST)
            }
            AppError::OrderNotFound(id) => {
                ErrorBody::new("order_not_found", format!("there is no order {id:?}"))
                    .into_response_with(StatusCode::NOT_FOUND)
            }
            // Logs once (for 5xx), inside the request span.
            AppError::Order(e) => e.into_response(),
        }
    }
}
