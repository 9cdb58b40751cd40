//! The outbound side: a reqwest client that makes one OpenTelemetry CLIENT span per call and
//! sends that span's context in the request headers.
//!
//! The lesson of this file is *which* context is injected: the CLIENT span's own. The callee's
//! SERVER span then becomes the child of the span that represents the call, and Jaeger can show
//! the network time between the two (client span longer than server span = time on the wire or
//! in a queue). Injecting the caller's span instead would make the callee a sibling of the call.

use std::time::Duration;

use axum::body::Bytes;
use http::{HeaderMap, Method, StatusCode, Version, header};
use opentelemetry::{
    KeyValue,
    trace::{SpanBuilder, SpanKind},
};
use opentelemetry_semantic_conventions::attribute;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    edge::{EdgeTracer, peer_service},
    inbound::known_method,
    propagation,
};

/// An HTTP client for one downstream service, traced.
#[derive(Debug, Clone)]
pub struct TracedClient {
    tracer: EdgeTracer,
    http: reqwest::Client,
    peer_service: &'static str,
    base_url: reqwest::Url,
    timeout: Duration,
}

/// A downstream answer, read whole inside the CLIENT span (so the span covers the body too).
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// The HTTP status the downstream service answered with.
    pub status: StatusCode,
    /// The raw response body.
    pub body: Bytes,
}

impl OutboundResponse {
    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why a downstream call produced no HTTP answer. Each variant names the service that failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// No answer within the configured timeout.
    #[error("{peer} did not answer within {} ms", timeout.as_millis())]
    Timeout {
        /// The `peer.service` that was called.
        peer: &'static str,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The connection could not be made (refused, unresolvable host, reset).
    #[error("{peer} is unreachable: {cause}")]
    Unreachable {
        /// The `peer.service` that was called.
        peer: &'static str,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        cause: String,
    },
    /// The request was sent but the exchange failed (e.g. connection closed mid-body).
    #[error("the call to {peer} failed: {cause}")]
    Failed {
        /// The `peer.service` that was called.
        peer: &'static str,
        /// The innermost cause.
        cause: String,
    },
}

impl OutboundError {
    /// The service that failed.
    pub fn peer(&self) -> &'static str {
        match self {
            Self::Timeout { peer, .. } | Self::Unreachable { peer, .. } | Self::Failed { peer, .. } => peer,
        }
    }

    /// The low-cardinality `error.type` recorded on the CLIENT span.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::Unreachable { .. } => "connection_error",
            Self::Failed { .. } => "request_error",
        }
    }
}

/// `base_url` is not an absolute `http://` URL.
#[derive(Debug, thiserror::Error)]
#[error("{peer} URL {url:?} is not a valid http:// URL")]
pub struct InvalidBaseUrl {
    peer: &'static str,
    url: String,
}

impl TracedClient {
    /// A client for `peer_service` (the `peer.service` attribute, e.g. `"billing"`) at
    /// `base_url`, where every call, body included, must finish within `timeout`; its CLIENT
    /// spans are made with `tracer`.
    pub fn new(
        tracer: EdgeTracer,
        peer_service: &'static str,
        base_url: &str,
        timeout: Duration,
    ) -> Result<Self, InvalidBaseUrl> {
        let invalid = || InvalidBaseUrl { peer: peer_service, url: base_url.to_owned() };
        let base_url = reqwest::Url::parse(base_url.trim_end_matches('/')).map_err(|_| invalid())?;
        if base_url.scheme() != "http" || base_url.host_str().is_none() {
            return Err(invalid());
        }
        // Building a client only fails when the TLS backend cannot initialise; there is none.
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|_| invalid())?;
        Ok(Self { tracer, http, peer_service, base_url, timeout })
    }

    /// The `peer.service` this client calls.
    pub fn peer_service(&self) -> &'static str {
        self.peer_service
    }

    /// `POST` `body` as JSON to `route` (a path without variable parts, e.g. `/orders`).
    pub async fn post_json<B: Serialize + ?Sized>(
        &self,
        route: &'static str,
        body: &B,
    ) -> Result<OutboundResponse, OutboundError> {
        self.post_json_with_headers(route, route, body, HeaderMap::new()).await
    }

    /// Like [`TracedClient::post_json`], to `path`, which `route_template` (e.g.
    /// `/callback/{id}`) names in the span, with extra request headers.
    pub async fn post_json_with_headers<B: Serialize + ?Sized>(
        &self,
        route_template: &'static str,
        path: &str,
        body: &B,
        headers: HeaderMap,
    ) -> Result<OutboundResponse, OutboundError> {
        let body = serde_json::to_vec(body).map_err(|e| OutboundError::Failed {
            peer: self.peer_service,
            cause: format!("request body could not be encoded: {e}"),
        })?;
        self.send(Method::POST, route_template, path, Some(body), headers).await
    }

    /// `GET` `path`; `route_template` (e.g. `/orders/{id}`) names the span, `path` is the real one.
    pub async fn get(
        &self,
        route_template: &'static str,
        path: &str,
    ) -> Result<OutboundResponse, OutboundError> {
        self.send(Method::GET, route_template, path, None, HeaderMap::new()).await
    }

    async fn send(
        &self,
        method: Method,
        route_template: &'static str,
        path: &str,
        body: Option<Vec<u8>>,
        mut headers: HeaderMap,
    ) -> Result<OutboundResponse, OutboundError> {
        let mut url = self.base_url.clone();
        url.set_path(path);
        // The parent is the current span: the SERVER span in a handler, or the `tracing` span the
        // call is made in (entering it attached its context: see `crate::bridge`).
        let span = self.tracer.start(&opentelemetry::Context::current(), SpanKind::Client, || {
            let mut attributes = Vec::new();
            attributes.push(KeyValue::new(
                attribute::HTTP_REQUEST_METHOD,
                known_method(&method).unwrap_or("_OTHER"),
            ));
            attributes.push(KeyValue::new(attribute::URL_FULL, url.to_string()));
            attributes.push(KeyValue::new(attribute::URL_TEMPLATE, route_template));
            if let Some(host) = url.host_str() {
                attributes.push(KeyValue::new(attribute::SERVER_ADDRESS, host.to_owned()));
            }
            if let Some(port) = url.port_or_known_default() {
                attributes.push(KeyValue::new(attribute::SERVER_PORT, i64::from(port)));
            }
            attributes.extend(peer_service(self.peer_service));
            SpanBuilder::from_name(format!("{method} {route_template}")).with_attributes(attributes)
        });

        // Inject the context of *this* CLIENT span, not of the span that is current now. (With
        // telemetry off, `span` holds the incoming context, and that is passed on unchanged, as
        // the OpenTelemetry API does without an SDK.)
        propagation::inject(span.context(), &mut headers);

        let mut request = self.http.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body);
        }

        let outcome: Result<(OutboundResponse, Version), OutboundError> = span
            .scope(async {
                let response = request.send().await.map_err(|e| self.classify(e))?;
                let (status, version) = (response.status(), response.version());
                let body = response.bytes().await.map_err(|e| self.classify(e))?;
                Ok((OutboundResponse { status, body }, version))
            })
            .await;

        match &outcome {
            Ok((response, version)) => {
                span.set_attribute(KeyValue::new(
                    attribute::NETWORK_PROTOCOL_VERSION,
                    crate::inbound::protocol_version(*version),
                ));
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(response.status.as_u16()),
                ));
                // For a CLIENT span both 4xx and 5xx are errors (HTTP semantic conventions).
                if response.status.is_client_error() || response.status.is_server_error() {
                    span.fail(response.status.as_str().to_owned(), "");
                }
            }
            Err(error) => span.fail(error.error_type(), error.to_string()),
        }
        outcome.map(|(response, _)| response)
    }

    fn classify(&self, error: reqwest::Error) -> OutboundError {
        let peer = self.peer_service;
        if error.is_timeout() {
            OutboundError::Timeout { peer, timeout: self.timeout }
        } else if error.is_connect() {
            OutboundError::Unreachable { peer, cause: root_cause(&error) }
        } else {
            OutboundError::Failed { peer, cause: root_cause(&error) }
        }
    }
}

/// The innermost error in a chain: reqwest's own message only says "error sending request", and
/// axum's JSON rejections wrap serde's precise sentence.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_absolute_http() {
        let t = Duration::from_secs(1);
        assert!(
            TracedClient::new(EdgeTracer::disabled(), "order-service", "http://127.0.0.1:3001", t).is_ok()
        );
        assert!(
            TracedClient::new(EdgeTracer::disabled(), "order-service", "http://order-service:3001/", t)
                .is_ok()
        );
        assert!(TracedClient::new(EdgeTracer::disabled(), "order-service", "127.0.0.1:3001", t).is_err());
        assert!(TracedClient::new(EdgeTracer::disabled(), "order-service", "ftp://host", t).is_err());
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_and_names_the_peer() {
        // Bind then drop a listener, so the port is very likely closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind a free port");
        let client = TracedClient::new(
            EdgeTracer::disabled(),
            "payment-service",
            &format!("http://127.0.0.1:{port}"),
            Duration::from_secs(2),
        )
        .expect("valid url");
        let error = client.post_json("/payments", &serde_json::json!({})).await.expect_err("nothing listens");
        assert_eq!(error.peer(), "payment-service");
        assert_eq!(error.error_type(), "connection_error");
        assert!(error.to_string().starts_with("payment-service is unreachable"), "{error}");
    }
}
