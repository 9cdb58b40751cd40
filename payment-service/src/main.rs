//! payment-service binary: read config, serve until SIGTERM/Ctrl-C (telemetry around it all).

use std::process::ExitCode;

use payment_service::{Config, SERVICE_NAME};
use shared_tracing::{server::shutdown_signal, service::service_main, settings::FromSettings as _};

#[tokio::main]
async fn main() -> ExitCode {
    service_main(SERVICE_NAME, env!("CARGO_PKG_VERSION"), async |telemetry| {
        // Signal handlers first: from here on, SIGTERM means "drain and flush", never "die".
        let stop = shutdown_signal();
        let config = Config::from_env()?;
        // The simulated Stripe exports its spans under its own service.name.
        let stripe = telemetry.remote_system("stripe")?;
        let server = payment_service::build(config, stripe).await?;
        server.run_until_stopped(stop).await?;
        Ok(())
    })
    .await
}
