//! An axum service traced with shared-tracing alone: telemetry first, an inbound layer, one
//! `#[instrument]`ed function, a traced client, the flush last.
//!
//! - `GET /hello`: a SERVER span, and `greet`, a `tracing` span, as its child.
//! - `GET /relay`: a SERVER span, `ask_downstream` inside it, and inside that a CLIENT span calling
//!   `/hello` at `DOWNSTREAM_URL` (this service itself unless told otherwise), whose context travels
//!   in `traceparent`: the callee's SERVER span is the CLIENT span's child, in the same trace.

use std::{error::Error, time::Duration};

use axum::{Router, extract::State, routing::get};
use shared_tracing::{TelemetryConfig, inbound, outbound::TracedClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // 1. Telemetry first: logs with trace ids, W3C propagation, export, from the OTEL_* variables.
    let telemetry =
        shared_tracing::init(TelemetryConfig::from_env("traced-service", env!("CARGO_PKG_VERSION")))?;
    // The stop signals' handlers at once: from here on SIGTERM means "drain and flush", not "die".
    let stop = stop_signal()?;

    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;

    // 2. A client whose every call is a CLIENT span, its context sent on in `traceparent`.
    let downstream = std::env::var("DOWNSTREAM_URL").unwrap_or_else(|_| format!("http://{address}"));
    let client = TracedClient::new(telemetry.tracer(), "downstream", &downstream, Duration::from_secs(5))?;

    // 3. A SERVER span for every request to the routes above the layer; `/health` is added after
    //    it, so health checks make no spans.
    let routes = Router::new().route("/hello", get(hello)).route("/relay", get(relay));
    let app = inbound::traced(routes, telemetry.tracer())
        .route("/health", get(|| async { "ok" }))
        .with_state(client);

    tracing::info!(%address, "listening");
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;

    // 4. The flush, last: the server has drained, so every finished span is exported.
    telemetry.shutdown().await;
    Ok(())
}

async fn hello() -> String {
    greet("world").await
}

/// Internal work: an ordinary `tracing` span, which the bridge makes the SERVER span's child. Its
/// argument becomes an attribute, and the event inside it an event of the span.
#[tracing::instrument]
async fn greet(name: &str) -> String {
    tracing::info!("Greeting");
    format!("hello, {name}\n")
}

async fn relay(State(client): State<TracedClient>) -> String {
    ask_downstream(&client).await
}

/// A `tracing` span with a call inside it: the CLIENT span is this span's child.
#[tracing::instrument(skip_all)]
async fn ask_downstream(client: &TracedClient) -> String {
    match client.get("/hello", "/hello").await {
        Ok(answer) => format!("downstream said: {}", String::from_utf8_lossy(&answer.body)),
        Err(error) => format!("downstream failed: {error}\n"),
    }
}

/// SIGTERM (`docker stop`, Kubernetes) or Ctrl-C (SIGINT). The handlers are installed when this is
/// called, not when the future is first polled: a signal arriving in between would meet the
/// default action and end the process before it flushed its spans.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut terminate, mut interrupt) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
