//! How a service binary ends: the exit status that says how it went, and the line that says why.

use std::{error::Error, fmt::Display, process::ExitCode};

/// A service could not start its telemetry: there is no logging yet, so say it on stderr.
pub fn failed_to_start(service: &str, error: &impl Display) -> ExitCode {
    eprintln!("{service}: {error}");
    ExitCode::FAILURE
}

/// The exit status for how serving ended: 0 after a clean stop, 1 (with the error logged) after
/// any failure, at start-up (a bad setting, a port in use) or while serving.
pub fn exit_code(service: &str, outcome: Result<(), Box<dyn Error>>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{service} stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// A service's life, in order, given its telemetry and how to build its server: telemetry starts
/// first (so start-up problems are logged), then the signal handlers (from here on SIGTERM means
/// "drain and flush", never "die"), then `build` reads the configuration and binds; the server
/// serves until SIGTERM or Ctrl-C and drains; telemetry shuts down last (the server has drained,
/// so every finished span is in the queue to flush). The exit status says how it went.
pub async fn run(
    service: &str,
    telemetry: shared_tracing::TelemetryBuilder,
    build: impl AsyncFnOnce(&mut shared_tracing::Telemetry) -> Result<crate::server::Server, Box<dyn Error>>,
) -> ExitCode {
    let mut telemetry = match telemetry.init() {
        Ok(telemetry) => telemetry,
        Err(e) => return failed_to_start(service, &e),
    };
    let stop = crate::server::shutdown_signal();
    let outcome = match build(&mut telemetry).await {
        Ok(server) => server.run_until_stopped(stop).await.map_err(Into::into),
        Err(e) => Err(e),
    };
    telemetry.shutdown().await;
    exit_code(service, outcome)
}
