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
