//! Turning a failed call to another service into this service's answer.
//!
//! | what happened downstream                          | we answer | `code`                   |
//! |---------------------------------------------------|-----------|--------------------------|
//! | no connection (refused, unresolvable)             | 503       | `dependency_unavailable` |
//! | no answer within the timeout                      | 504       | `dependency_timeout`     |
//! | the exchange broke, or an unreadable error body   | 502       | `dependency_failed`      |
//! | a 4xx error body (e.g. `unknown_sku`)             | same 4xx  | relayed as is            |
//! | a 502/503/504 error body (its own dependency)     | same      | relayed as is            |
//! | any other 5xx                                     | 502       | relayed code             |
//!
//! Relaying keeps `dependency`: when payment-service is down, order-service answers 503 naming
//! payment-service, and the gateway passes that on, so the client learns *which* hop failed
//! (and the trace shows where the error started).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use shared_tracing::outbound::{OutboundError, OutboundResponse};

use crate::error_body::{ErrorBody, ErrorEnvelope};

/// A downstream failure, ready to be answered.
#[derive(Debug)]
pub struct DownstreamError {
    status: StatusCode,
    body: ErrorBody,
    /// The full cause, for the log line (the client gets `body.message`).
    cause: String,
}

impl DownstreamError {
    /// The call produced no HTTP answer.
    pub fn from_outbound(error: &OutboundError) -> Self {
        let peer = error.peer();
        let (status, code, message) = match error {
            OutboundError::Unreachable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "dependency_unavailable", format!("{peer} is unavailable"))
            }
            OutboundError::Timeout { timeout, .. } => (
                StatusCode::GATEWAY_TIMEOUT,
                "dependency_timeout",
                format!("{peer} did not answer within {} ms", timeout.as_millis()),
            ),
            OutboundError::Failed { .. } => {
                (StatusCode::BAD_GATEWAY, "dependency_failed", format!("the call to {peer} failed"))
            }
        };
        Self { status, body: ErrorBody::new(code, message).with_dependency(peer), cause: error.to_string() }
    }

    /// The dependency `peer` answered `response`, an error status.
    pub fn relay(peer: &str, response: &OutboundResponse) -> Self {
        let received = response.json::<ErrorEnvelope>().ok().map(|envelope| envelope.error);
        let cause = format!("{peer} answered {}", response.status);
        let Some(received) = received else {
            return Self {
                status: StatusCode::BAD_GATEWAY,
                body: ErrorBody::new(
                    "dependency_failed",
                    format!("{peer} answered {} with an unreadable body", response.status.as_u16()),
                )
                .with_dependency(peer),
                cause,
            };
        };
        let status = match response.status {
            s if s.is_client_error() => s,
            s @ (StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT) => {
                s
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        let mut body = ErrorBody::new(received.code, received.message);
        // A 5xx is a failure of `peer` unless it already names a deeper dependency.
        body.dependency = received.dependency.or_else(|| status.is_server_error().then(|| peer.to_owned()));
        Self { status, body, cause }
    }

    /// The status we answer with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body we answer with.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl IntoResponse for DownstreamError {
    fn into_response(self) -> Response {
        // A relayed 4xx is the client's mistake: not an error of ours, so not logged as one.
        if self.status.is_server_error() {
            tracing::error!(
                dependency = self.body.dependency.as_deref(),
                cause = %self.cause,
                code = %self.body.code,
                "dependency failed"
            );
        }
        self.body.into_response_with(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use std::time::Duration;

    fn answer(status: u16, body: &str) -> OutboundResponse {
        OutboundResponse {
            status: StatusCode::from_u16(status).expect("valid"),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_refused_connection_is_a_503_naming_the_dependency() {
        let e = DownstreamError::from_outbound(&OutboundError::Unreachable {
            peer: "payment-service",
            cause: "refused".into(),
        });
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.body().code, "dependency_unavailable");
        assert_eq!(e.body().dependency.as_deref(), Some("payment-service"));
        assert!(e.body().message.contains("payment-service"));
    }

    #[test]
    fn a_timeout_is_a_504() {
        let e = DownstreamError::from_outbound(&OutboundError::Timeout {
            peer: "order-service",
            timeout: Duration::from_millis(250),
        });
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(e.body().message, "order-service did not answer within 250 ms");
    }

    #[test]
    fn a_downstream_4xx_is_relayed_with_its_status_and_code() {
        let e = DownstreamError::relay(
            "order-service",
            &answer(422, r#"{"error":{"code":"unknown_sku","message":"no sku-x","trace_id":null}}"#),
        );
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body().code, "unknown_sku");
        assert_eq!(e.body().dependency, None);
    }

    #[test]
    fn a_relayed_dependency_failure_keeps_the_deepest_dependency() {
        let body = r#"{"error":{"code":"dependency_unavailable","message":"payment-service is unavailable","trace_id":null,"dependency":"payment-service"}}"#;
        let e = DownstreamError::relay("order-service", &answer(503, body));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.body().dependency.as_deref(), Some("payment-service"));
    }

    #[test]
    fn an_unexpected_5xx_or_unreadable_body_becomes_a_502_from_the_peer() {
        let e = DownstreamError::relay(
            "order-service",
            &answer(500, r#"{"error":{"code":"internal","message":"oops","trace_id":null}}"#),
        );
        assert_eq!(
            (e.status(), e.body().dependency.as_deref()),
            (StatusCode::BAD_GATEWAY, Some("order-service"))
        );
        let e = DownstreamError::relay("order-service", &answer(500, "<html>"));
        assert_eq!((e.status(), e.body().code.as_str()), (StatusCode::BAD_GATEWAY, "dependency_failed"));
    }
}
