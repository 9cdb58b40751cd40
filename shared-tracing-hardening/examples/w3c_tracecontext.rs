//! The participant ("test service") of the official W3C Trace Context test suite, built from
//! shared-tracing's inbound layer and outbound client, with this crate's hardening switched on:
//! its strict W3C layer ([`shared_tracing_hardening::w3c`]) is what the suite passes at strict
//! level 2. (With the SDK's propagators alone, as shipped, some of the suite's cases fail: the
//! `propagation` module of shared-tracing lists what they accept that the specification refuses.)
//!
//! The suite (w3c/trace-context, `test/`) POSTs to `/test` a JSON array of `{"url", "arguments"}`;
//! for each element this service POSTs `arguments` to `url`, carrying the trace context of the
//! request it is serving, and the suite reads what arrived. Run it, then the suite:
//!
//! ```sh
//! OTEL_TRACES_EXPORTER=none cargo run -p shared-tracing-hardening --example w3c_tracecontext
//! # in a checkout of github.com/w3c/trace-context (pip install aiohttp):
//! SPEC_LEVEL=2 STRICT_LEVEL=2 python test/test.py http://127.0.0.1:5000/test
//! SPEC_LEVEL=2 STRICT_LEVEL=1 python test/test.py http://127.0.0.1:5000/test
//! ```
//!
//! `HOST` (default `127.0.0.1`) and `PORT` (default `5000`) choose where it listens.

use std::{error::Error, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::Deserialize;
use shared_tracing::{EdgeTracer, Telemetry, TelemetryConfig, inbound, outbound::TracedClient};
use shared_tracing_hardening::Hardening;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = TelemetryConfig::from_env("w3c-tracecontext", "0");
    let telemetry = Telemetry::builder(config).with_extension(Hardening::default()).init()?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(5000);
    let listener = tokio::net::TcpListener::bind((host, port)).await?;
    tracing::info!(address = %listener.local_addr()?, "W3C Trace Context participant listening");
    axum::serve(listener, app(telemetry.tracer())).await?;
    telemetry.shutdown().await;
    Ok(())
}

/// `POST /test`, in a SERVER span that continues the caller's trace.
pub fn app(tracer: EdgeTracer) -> Router {
    inbound::traced(Router::new().route("/test", post(test)), tracer.clone()).with_state(tracer)
}

/// One instruction of the suite: POST `arguments` to `url`.
#[derive(Deserialize)]
struct Call {
    url: String,
    arguments: serde_json::Value,
}

/// Follows each instruction in turn, every call a CLIENT span whose context goes in its
/// `traceparent` and `tracestate`. A call that fails is the suite's to notice (no callback).
async fn test(State(tracer): State<EdgeTracer>, Json(calls): Json<Vec<Call>>) -> StatusCode {
    for call in calls {
        let Ok(mut url) = reqwest::Url::parse(&call.url) else { return StatusCode::BAD_REQUEST };
        let path = url.path().to_owned();
        url.set_path("");
        let Ok(client) =
            TracedClient::new(tracer.clone(), "test-harness", url.as_str(), Duration::from_secs(5))
        else {
            return StatusCode::BAD_REQUEST;
        };
        let _ = client.post_json_with_headers("/{path}", &path, &call.arguments, Default::default()).await;
    }
    StatusCode::OK
}
