//! The life of a service binary, in one place: start telemetry, run the service until it stops,
//! flush telemetry, exit with a status that says how it went.
//!
//! The order is the tracing lesson: telemetry starts *first* (so start-up problems are logged) and
//! shuts down *last* (the server has drained, so every finished span is in the queue to flush).

use std::{error::Error, process::ExitCode};

use crate::{Telemetry, TelemetryConfig};

/// What a service's run function returns: any error ends the process with exit code 1.
pub type RunResult = Result<(), Box<dyn Error>>;

/// Runs a service binary: `run` gets the telemetry handle (to add remote systems) and serves
/// until shutdown. Returns the process exit code.
pub async fn service_main(
    service_name: &'static str,
    version: &'static str,
    run: impl AsyncFnOnce(&mut Telemetry) -> RunResult,
) -> ExitCode {
    let mut telemetry = match crate::init(TelemetryConfig::from_env(service_name, version)) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("{service_name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(&mut telemetry).await;
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "{service_name} stopped with an error");
    }
    telemetry.shutdown().await;
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
