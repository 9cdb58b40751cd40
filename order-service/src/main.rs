//! order-service binary: the life of the service, in order (`service_kit::exit::run`): telemetry,
//! the signal handlers, the configuration and the server, serving until SIGTERM, the drain, the
//! flush.

use std::process::ExitCode;

use order_service::{Config, SERVICE_NAME};
use service_kit::settings::FromSettings as _;

#[tokio::main]
async fn main() -> ExitCode {
    let telemetry = checkout_domain::telemetry(SERVICE_NAME, env!("CARGO_PKG_VERSION"));
    service_kit::exit::run(SERVICE_NAME, telemetry, async |telemetry| {
        Ok(order_service::build(Config::from_env()?, telemetry.tracer()).await?)
    })
    .await
}
