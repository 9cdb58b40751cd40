//! The JSON error body every service answers with, carrying the trace id so that a failed
//! request can be looked up in Jaeger from the error alone:
//! `{"error": {"code": "unknown_sku", "message": "…", "trace_id": "4bf9…"}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use shared_tracing::propagation::current_trace_id;

/// The envelope: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

/// What went wrong, for the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable snake_case code a program can branch on.
    pub code: String,
    /// A sentence for a person; never internal details.
    pub message: String,
    /// The trace of the failed request (`null` when telemetry is disabled).
    pub trace_id: Option<String>,
    /// For a failed dependency (502/503/504): the service that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
}

impl ErrorBody {
    /// An error in the current request's trace.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), trace_id: current_trace_id(), dependency: None }
    }

    /// Names the dependency that failed.
    pub fn with_dependency(mut self, dependency: impl Into<String>) -> Self {
        self.dependency = Some(dependency.into());
        self
    }

    /// The HTTP response with this body.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        (status, Json(ErrorEnvelope { error: self })).into_response()
    }
}
