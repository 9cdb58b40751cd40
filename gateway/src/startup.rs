//! Building the service: the router, and the state its handlers share.

use std::sync::Arc;

use axum::{Router, routing::get, routing::post};
use service_kit::server::{self, Server, StartError};
use shared_tracing::{EdgeTracer, inbound, outbound::TracedClient};
use shared_tracing_hardening::edge_policy::EdgePolicy;

use crate::{checkout, config::Config, edge, page::Page, state::AppState};

/// The HTTP API, its SERVER and CLIENT spans made with `tracer`. `GET /health` is added after the
/// tracing layer, so health checks make no spans.
pub fn router(config: Config, tracer: EdgeTracer) -> Result<Router, StartError> {
    let orders = TracedClient::new(
        tracer.clone(),
        "order-service",
        &config.order_service_url,
        config.order_service_timeout,
    )?;
    let policy = EdgePolicy::allow_baggage(config.baggage_allowlist.clone());
    let api = server::hardened(
        Router::new()
            .route("/api/checkout", post(checkout::checkout))
            .route("/api/orders/{id}", get(checkout::get_order)),
        config.request_timeout,
    );
    let page = Page::new(config.jaeger_ui_url.as_deref());
    let state = AppState { config: Arc::new(config), orders };
    // The gateway is the edge: the only service that filters what clients send, and where
    // `?scenario=` becomes baggage (see `edge.rs`), before the SERVER span starts.
    // The page, the two lists it loads and `/health` are added after the tracing layer: opening
    // the page makes no spans, only the checkouts it sends do.
    let parent = move |request: &_, cx| edge::parent(&policy, request, cx);
    Ok(inbound::traced_with(api, tracer, parent)
        .route("/", get(move || std::future::ready(page.response())))
        .route("/api/scenarios", get(checkout::scenarios))
        .route("/api/mistakes", get(checkout::mistakes))
        .route("/health", get(|| async { "ok" }))
        .with_state(state))
}

/// Binds the configured address and builds the router: a server ready to run.
pub async fn build(config: Config, tracer: EdgeTracer) -> Result<Server, StartError> {
    let (host, port) = (config.host.clone(), config.port);
    let header_timeout = config.request_timeout.min(server::DEFAULT_HEADER_TIMEOUT);
    Ok(Server::bind(&host, port, router(config, tracer)?).await?.with_header_timeout(header_timeout))
}
