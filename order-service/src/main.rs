//! order-service binary: the life of the service, in order. Telemetry starts first (so start-up
//! problems are logged) and shuts down last (the server has drained, so every finished span is
//! in the queue to flush).

use std::{error::Error, process::ExitCode};

use order_service::{Config, SERVICE_NAME};
use service_kit::{exit, server::shutdown_signal, settings::FromSettings as _};
use shared_tracing::EdgeTracer;

#[tokio::main]
async fn main() -> ExitCode {
    let telemetry = match checkout_domain::telemetry(SERVICE_NAME, env!("CARGO_PKG_VERSION")).init() {
        Ok(telemetry) => telemetry,
        Err(e) => return exit::failed_to_start(SERVICE_NAME, &e),
    };
    let outcome = serve(telemetry.tracer()).await;
    telemetry.shutdown().await;
    exit::exit_code(SERVICE_NAME, outcome)
}

/// Reads the configuration, then serves until SIGTERM or Ctrl-C and the drain that follows.
async fn serve(tracer: EdgeTracer) -> Result<(), Box<dyn Error>> {
    // Signal handlers first: from here on, SIGTERM means "drain and flush", never "die".
    let stop = shutdown_signal();
    let server = order_service::build(Config::from_env()?, tracer).await?;
    server.run_until_stopped(stop).await?;
    Ok(())
}
