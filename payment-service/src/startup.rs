//! Building the service: the router, and the state its handlers share.

use std::sync::Arc;

use axum::{Router, routing::get, routing::post};
use service_kit::server::{self, Server};
use shared_tracing::{EdgeTracer, inbound, remote::RemoteSystem};

use crate::{
    config::Config,
    ledger::{Ledger, LedgerError},
    payments,
    state::AppState,
    stripe::{SimulatedStripe, StripeSettings},
};

/// The HTTP API, its SERVER spans made with `tracer` and Stripe's with `stripe`. `GET /health` is
/// added after the tracing layer, so health checks make no spans. Fails only if Stripe's ledger
/// cannot be opened.
pub fn router(config: Config, tracer: EdgeTracer, stripe: RemoteSystem) -> Result<Router, LedgerError> {
    let ledger = Ledger::open(&config.stripe_ledger_path)?;
    let stripe = SimulatedStripe::new(
        stripe,
        StripeSettings {
            latency: config.stripe_latency,
            slow_latency: config.stripe_slow_latency,
            timeout: config.stripe_timeout,
            max_attempts: config.stripe_max_attempts,
            backoff: config.stripe_retry_backoff,
            failure_percent: config.stripe_failure_percent,
            decline_percent: config.stripe_decline_percent,
            fixes: config.fixes,
            fixed_timeout: config.stripe_fixed_timeout,
            breaker_cooldown: config.stripe_breaker_cooldown,
        },
        ledger,
    );
    let api = server::hardened(
        Router::new().route("/payments", post(payments::create_payment)),
        config.request_timeout,
    );
    let state = AppState { config: Arc::new(config), stripe };
    Ok(inbound::traced(api, tracer).route("/health", get(|| async { "ok" })).with_state(state))
}

/// Binds the configured address and builds the router: a server ready to run.
pub async fn build(config: Config, tracer: EdgeTracer, stripe: RemoteSystem) -> std::io::Result<Server> {
    let (host, port) = (config.host.clone(), config.port);
    let header_timeout = config.request_timeout.min(server::DEFAULT_HEADER_TIMEOUT);
    let router = router(config, tracer, stripe).map_err(std::io::Error::other)?;
    Ok(Server::bind(&host, port, router).await?.with_header_timeout(header_timeout))
}
