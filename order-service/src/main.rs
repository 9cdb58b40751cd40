//! order-service binary: read config, serve until SIGTERM/Ctrl-C (telemetry around it all).

use std::process::ExitCode;

use order_service::{Config, SERVICE_NAME};
use shared_tracing::{server::shutdown_signal, service::service_main, settings::FromSettings as _};

#[tokio::main]
async fn main() -> ExitCode {
    service_main(SERVICE_NAME, env!("CARGO_PKG_VERSION"), async |_telemetry| {
        // Signal handlers first: from here on, SIGTERM means "drain and flush", never "die".
        let stop = shutdown_signal();
        let server = order_service::build(Config::from_env()?).await?;
        server.run_until_stopped(stop).await?;
        Ok(())
    })
    .await
}
