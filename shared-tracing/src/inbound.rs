//! The inbound side: one OpenTelemetry SERVER span per HTTP request, continuing the caller's trace.
//!
//! This is the first half of distributed tracing. The caller's `traceparent` header names the
//! span that made the call (the caller's CLIENT span); the SERVER span made here takes it as its
//! parent, which is what joins two services into one trace.
//!
//! Integer attributes are recorded as `i64`: OTLP integers are signed.
//!
//! The span is named `METHOD route-template` (`POST /orders`, never `POST /orders/8f3a…`) so that
//! span names stay low-cardinality, and carries the stable HTTP semantic-convention attributes.

use std::net::SocketAddr;

use axum::{
    Router,
    extract::{ConnectInfo, MatchedPath, Request},
    http::{HeaderMap, Method, Version, header},
    middleware::{self, Next},
    response::Response,
};
use opentelemetry::{
    Context, KeyValue,
    trace::{SpanBuilder, SpanKind},
};

use opentelemetry_semantic_conventions::attribute;

use crate::edge::EdgeTracer;
use crate::propagation::{self, TRACERESPONSE};

/// Runs every route of `router` inside a SERVER span made with `tracer`, and adds a
/// `traceresponse` header to every answer.
///
/// Routes added to the router *after* this call are not traced: that is how services keep
/// `GET /health` (polled every few seconds by an orchestrator) out of their traces.
pub fn traced<S>(router: Router<S>, tracer: EdgeTracer) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    traced_with(router, tracer, |_, cx| cx)
}

/// Like [`traced`], with the caller's context passed through `parent` before the SERVER span
/// starts under it: what a service at the edge of its system does to decide what outside context
/// it trusts, or to add baggage of its own that every span of the request (and every hop after
/// it) sees from the start.
pub fn traced_with<S>(
    router: Router<S>,
    tracer: EdgeTracer,
    parent: impl Fn(&Request, Context) -> Context + Clone + Send + Sync + 'static,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // `Router::layer` wraps each route (after routing), so `MatchedPath` is already known here.
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let (tracer, parent) = (tracer.clone(), parent.clone());
        async move {
            let cx = parent(&request, propagation::extract(request.headers()));
            serve_in_span(&tracer, request, next, cx).await
        }
    }))
}

/// Serves `request` inside a SERVER span whose parent is `parent`.
async fn serve_in_span(tracer: &EdgeTracer, request: Request, next: Next, parent: Context) -> Response {
    // The caller's context is the parent: this is where two services join into one trace.
    let span = tracer.start(&parent, SpanKind::Server, || server_span(&request));

    // If the client disconnects first (say, its timeout fired), hyper drops this future and the
    // handler's work stops mid-way. The guard makes the span say so instead of ending silently.
    let cancelled = CancelledGuard { cx: span.context().clone(), completed: false };
    // The handler runs with the span's context attached: its `tracing` spans, events, log lines
    // and outgoing calls all find the span there, and a handler adds business attributes to it
    // with `Context::current().span().set_attribute(…)`. With telemetry off that context is the
    // caller's, so its baggage still reaches `Context::current()` (baggage is W3C context, not
    // tracing).
    let mut response = span.scope(next.run(request)).await;
    cancelled.complete();

    let status = response.status();
    span.set_attribute(KeyValue::new(attribute::HTTP_RESPONSE_STATUS_CODE, i64::from(status.as_u16())));
    // For a SERVER span only 5xx is an error: a 4xx is the client's mistake, not ours.
    if status.is_server_error() {
        span.fail(status.as_str().to_owned(), "");
    }
    if let Some(value) = propagation::traceresponse_value(span.context()) {
        response.headers_mut().insert(TRACERESPONSE, value);
    }
    response
}

/// The SERVER span for `request`: its name and the HTTP semantic-convention attributes known
/// before the handler runs, given at the start, where a sampler can see them.
fn server_span(request: &Request) -> SpanBuilder {
    let method = known_method(request.method());
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    // Semantic conventions: `{method} {route}`, or just `{method}` when no route matched; a
    // method outside the standard nine is `HTTP` in the name and `_OTHER` in the attribute.
    let name = match route {
        Some(route) => format!("{} {route}", method.unwrap_or("HTTP")),
        None => method.unwrap_or("HTTP").to_owned(),
    };
    let mut attributes = Vec::new();
    attributes.push(KeyValue::new(attribute::HTTP_REQUEST_METHOD, method.unwrap_or("_OTHER")));
    if method.is_none() {
        attributes.push(KeyValue::new(attribute::HTTP_REQUEST_METHOD_ORIGINAL, request.method().to_string()));
    }
    if let Some(route) = route {
        attributes.push(KeyValue::new(attribute::HTTP_ROUTE, route.to_owned()));
    }
    attributes.push(KeyValue::new(attribute::URL_PATH, request.uri().path().to_owned()));
    if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
        attributes.push(KeyValue::new(attribute::URL_QUERY, query.to_owned()));
    }
    attributes.push(KeyValue::new(attribute::URL_SCHEME, "http"));
    // The socket the request came in on (when the server recorded it: `ConnectInfo`), and the
    // client: the first `X-Forwarded-For` entry when a proxy added one (the semantic conventions
    // ask for the original client), else the peer itself.
    let forwarded_for = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let forwarded_for =
        forwarded_for.and_then(|v| v.split(',').next()).map(str::trim).filter(|v| !v.is_empty());
    if let Some(client) = forwarded_for {
        attributes.push(KeyValue::new(attribute::CLIENT_ADDRESS, client.to_owned()));
    }
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let (address, port) = (peer.ip().to_string(), i64::from(peer.port()));
        // (`client.port` is opt-in for HTTP servers: left out, one attribute fewer per request.)
        if forwarded_for.is_none() {
            attributes.push(KeyValue::new(attribute::CLIENT_ADDRESS, address.clone()));
        }
        attributes.push(KeyValue::new(attribute::NETWORK_PEER_ADDRESS, address));
        attributes.push(KeyValue::new(attribute::NETWORK_PEER_PORT, port));
    }
    let (server_address, server_port) = host_and_port(request.headers());
    if let Some(address) = server_address {
        attributes.push(KeyValue::new(attribute::SERVER_ADDRESS, address));
    }
    if let Some(port) = server_port {
        attributes.push(KeyValue::new(attribute::SERVER_PORT, i64::from(port)));
    }
    attributes.push(KeyValue::new(attribute::NETWORK_PROTOCOL_VERSION, protocol_version(request.version())));
    if let Some(agent) = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        attributes.push(KeyValue::new(attribute::USER_AGENT_ORIGINAL, agent.to_owned()));
    }
    SpanBuilder::from_name(name).with_attributes(attributes)
}

/// The method as the semantic conventions name it: one of the nine HTTP methods, or `None` for a
/// method they call `_OTHER`.
pub(crate) fn known_method(method: &Method) -> Option<&'static str> {
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"]
        .into_iter()
        .find(|known| *known == method.as_str())
}

/// Marks the SERVER span when the request is dropped before a response exists.
struct CancelledGuard {
    cx: Context,
    completed: bool,
}

impl CancelledGuard {
    fn complete(mut self) {
        self.completed = true;
    }
}

impl Drop for CancelledGuard {
    fn drop(&mut self) {
        if !self.completed {
            use opentelemetry::trace::{Status, TraceContextExt as _};
            let span = self.cx.span();
            span.set_attribute(KeyValue::new(attribute::ERROR_TYPE, "cancelled"));
            span.set_status(Status::error(""));
            let _attached = self.cx.clone().attach();
            tracing::warn!("request cancelled: the client went away before the response was ready");
        }
    }
}

/// `server.address` and `server.port` as the client addressed us (the `Host` header).
fn host_and_port(headers: &HeaderMap) -> (Option<String>, Option<u16>) {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return (None, None);
    };
    // `[::1]:3000` splits at the last colon; `[::1]` alone leaves `1]`, which is not a port.
    match host.rsplit_once(':').map(|(name, port)| (name, port.parse::<u16>())) {
        Some((name, Ok(port))) => (Some(name.to_owned()), Some(port)),
        _ => (Some(host.to_owned()), None),
    }
}

/// `network.protocol.version` of an HTTP version.
pub(crate) fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn host(value: &str) -> (Option<String>, Option<u16>) {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(value).expect("valid header"));
        host_and_port(&headers)
    }

    #[test]
    fn host_header_is_split_into_address_and_port() {
        assert_eq!(host("localhost:3000"), (Some("localhost".into()), Some(3000)));
        assert_eq!(host("example.com"), (Some("example.com".into()), None));
        assert_eq!(host("[::1]:3000"), (Some("[::1]".into()), Some(3000)));
        assert_eq!(host("[::1]"), (Some("[::1]".into()), None));
        assert_eq!(host("example.com:notaport"), (Some("example.com:notaport".into()), None));
    }
}
