//! The smallest service traced with shared-tracing alone, and what the README's "Trace your own
//! axum service" copies: telemetry first, an inbound layer, a traced client, one `#[instrument]`ed
//! function, the flush last.
//!
//! `GET /hello` is a SERVER span; `greet` is an internal span (a `tracing` span, bridged), its
//! child; the call it makes to `DOWNSTREAM_URL` is a CLIENT span, child of `greet`, whose context
//! the downstream service receives in `traceparent`.

use std::{error::Error, time::Duration};

use axum::{Router, extract::State, routing::get};
use shared_tracing::{TelemetryConfig, inbound, outbound::TracedClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // 1. Telemetry first: logs with trace ids, W3C propagation, OTLP export, from the OTEL_* variables.
    let telemetry =
        shared_tracing::init(TelemetryConfig::from_env("traced-service", env!("CARGO_PKG_VERSION")))?;

    // 2. A client whose every call is a CLIENT span, its context sent on in `traceparent`.
    let downstream = std::env::var("DOWNSTREAM_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let client = TracedClient::new(telemetry.tracer(), "downstream", &downstream, Duration::from_secs(5))?;

    // 3. A SERVER span for every request to the routes above the layer; `/health` is added after
    //    it, so health checks make no spans.
    let app = inbound::traced(Router::new().route("/hello", get(hello)), telemetry.tracer())
        .route("/health", get(|| async { "ok" }))
        .with_state(client);

    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, app).with_graceful_shutdown(stop_signal()).await?;

    // 4. The flush, last: the server has drained, so every finished span is exported.
    telemetry.shutdown().await;
    Ok(())
}

async fn hello(State(client): State<TracedClient>) -> String {
    greet(&client).await
}

/// Internal work: an ordinary `tracing` span, which the bridge makes the SERVER span's child.
#[tracing::instrument(skip_all, fields(greeting.language = "en"))]
async fn greet(client: &TracedClient) -> String {
    tracing::info!("Asking downstream who is there");
    match client.get("/whoami", "/whoami").await {
        Ok(answer) => format!("hello, {}", String::from_utf8_lossy(&answer.body)),
        Err(error) => format!("hello, whoever you are ({error})"),
    }
}

/// SIGTERM (`docker stop`, Kubernetes) or Ctrl-C.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
