//! `ApiJson<T>`: axum's `Json` extractor, but a bad body gets the shared error shape with a
//! status that says what is wrong, instead of axum's plain-text rejection:
//!
//! | problem                                   | status | code                    |
//! |-------------------------------------------|--------|-------------------------|
//! | no `Content-Type: application/json`       | 415    | `unsupported_media_type` |
//! | not JSON at all                           | 400    | `malformed_json`        |
//! | JSON of the wrong shape (missing field…)  | 422    | `invalid_request`       |
//! | body over the size limit                  | 413    | `payload_too_large`     |
//!
//! Bad input is the client's problem, so it is logged at DEBUG, not as an error.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::error_body::ErrorBody;

/// A JSON request body of type `T`, rejected with a JSON error when it does not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// The rejection of [`ApiJson`]: a 4xx with the shared error body.
#[derive(Debug, thiserror::Error)]
#[error("{}", body.message)]
pub struct JsonError {
    status: StatusCode,
    body: ErrorBody,
}

impl JsonError {
    /// The HTTP status of the rejection.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        self.body.into_response_with(self.status)
    }
}

impl From<JsonRejection> for JsonError {
    fn from(rejection: JsonRejection) -> Self {
        let (status, code, message) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with Content-Type: application/json".to_owned(),
            ),
            JsonRejection::JsonSyntaxError(e) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {}", shared_tracing::outbound::root_cause(e)),
            ),
            JsonRejection::JsonDataError(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                format!("the body is not a valid request: {}", shared_tracing::outbound::root_cause(e)),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is too large".to_owned())
            }
            other => {
                (other.status(), "invalid_body", format!("the body could not be read: {}", other.body_text()))
            }
        };
        tracing::debug!(status = status.as_u16(), code, "rejected request body");
        JsonError { status, body: ErrorBody::new(code, message) }
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = JsonError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}
