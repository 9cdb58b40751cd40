//! order-service binary: read config, start telemetry, serve until SIGTERM/Ctrl-C, flush.

use std::process::ExitCode;

use order_service::{Config, SERVICE_NAME};
use shared_tracing::{TelemetryConfig, server::shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    let config = TelemetryConfig::from_env(SERVICE_NAME, env!("CARGO_PKG_VERSION"));
    let telemetry = match shared_tracing::init(config) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("{SERVICE_NAME}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run().await;
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "{SERVICE_NAME} stopped with an error");
    }
    // Last: the server has drained, so every finished span is in the queue to be flushed.
    telemetry.shutdown().await;
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let server = order_service::build(config).await?;
    server.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}
