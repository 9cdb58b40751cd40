//! payment-service binary: the life of the service, in order (`service_kit::exit::run`):
//! telemetry, the signal handlers, the configuration and the server, serving until SIGTERM, the
//! drain, the flush.

use std::process::ExitCode;

use payment_service::{Config, SERVICE_NAME};
use service_kit::settings::FromSettings as _;

#[tokio::main]
async fn main() -> ExitCode {
    let telemetry = checkout_domain::telemetry(SERVICE_NAME, env!("CARGO_PKG_VERSION"));
    service_kit::exit::run(SERVICE_NAME, telemetry, async |telemetry| {
        let config = Config::from_env()?;
        // The simulated Stripe exports its spans under its own service.name.
        let stripe = telemetry.remote_system("stripe")?;
        Ok(payment_service::build(config, telemetry.tracer(), stripe).await?)
    })
    .await
}
