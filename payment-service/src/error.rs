//! Every way a payment can fail, and the JSON answer each one gets.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use service_kit::error_body::ErrorBody;

use crate::stripe::StripeError;

/// A failed `POST /payments`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request parsed but makes no sense (e.g. a zero amount).
    #[error("{0}")]
    Invalid(String),
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            // Bad input is the caller's problem: answered, not logged as an error.
            AppError::Invalid(message) => ErrorBody::new("invalid_request", message)
                .into_response_with(StatusCode::UNPROCESSABLE_ENTITY),
            // A declined card is Stripe's business answer, passed on as one: no error logged.
            AppError::Stripe(StripeError::Declined) => {
                ErrorBody::new("card_declined", "the card was declined")
                    .with_dependency("stripe")
                    .into_response_with(StatusCode::PAYMENT_REQUIRED)
            }
            AppError::Stripe(error) => {
                // Logged once, inside the request span, so the log line carries the trace id.
                tracing::error!(error = %error, "charge failed");
                let (status, code) = match error {
                    StripeError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "dependency_timeout"),
                    _ => (StatusCode::SERVICE_UNAVAILABLE, "dependency_unavailable"),
                };
                ErrorBody::new(code, error.to_string()).with_dependency("stripe").into_response_with(status)
            }
        }
    }
}
