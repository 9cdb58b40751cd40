//! Building the service: the router, and the state its handlers share.

use std::sync::Arc;

use axum::{Router, routing::get, routing::post};
use checkout_domain::scenario::Scenario;
use service_kit::server::{self, Server, StartError};
use shared_tracing::{EdgeTracer, inbound, outbound::TracedClient};

use crate::{
    config::Config,
    db::{self, Database},
    in_flight::InFlight,
    mistakes::{KeptSpans, Receipts},
    orders,
    state::AppState,
};

/// The HTTP API, its SERVER and CLIENT spans made with `tracer`. `GET /health` is added after the
/// tracing layer, so health checks make no spans.
pub fn router(config: Config, tracer: EdgeTracer) -> Result<Router, StartError> {
    let payments = TracedClient::new(
        tracer.clone(),
        "payment-service",
        &config.payment_service_url,
        config.payment_service_timeout,
    )?;
    // An INSERT may wait out the whole `slow-db` report (at most twice its mean, with jitter).
    let busy_timeout = db::BUSY_TIMEOUT + config.slow_db_report.mean * 2;
    let db =
        Database::open(&config.db_path, config.db_pool_size, config.db_query, busy_timeout).map_err(|e| {
            StartError::Resource {
                what: format!("the order database at {}", config.db_path.display()),
                cause: e.to_string(),
            }
        })?;
    let db = if config.fixes.has(Scenario::PoolContention) { db.sized_for_concurrency() } else { db };
    let api = server::hardened(
        Router::new()
            .route("/orders", post(orders::create_order))
            .route("/orders/{id}", get(orders::get_order)),
        config.request_timeout,
    );
    let instance = uuid::Uuid::new_v4().simple().to_string().into();
    let plain_http = reqwest::Client::builder()
        .timeout(config.payment_service_timeout)
        .build()
        .map_err(|e| StartError::Resource { what: "the plain HTTP client".into(), cause: e.to_string() })?;
    let receipts = Receipts::new(config.receipt);
    let state = AppState {
        config: Arc::new(config),
        payments,
        db,
        in_flight: InFlight::default(),
        instance,
        plain_http,
        kept_spans: KeptSpans::default(),
        receipts,
    };
    Ok(inbound::traced(api, tracer).route("/health", get(|| async { "ok" })).with_state(state))
}

/// Binds the configured address and builds the router: a server ready to run.
pub async fn build(config: Config, tracer: EdgeTracer) -> Result<Server, StartError> {
    let (host, port) = (config.host.clone(), config.port);
    let header_timeout = config.request_timeout.min(server::DEFAULT_HEADER_TIMEOUT);
    Ok(Server::bind(&host, port, router(config, tracer)?).await?.with_header_timeout(header_timeout))
}
