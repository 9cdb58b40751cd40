//! Why telemetry could not start: its own module, below everything that can fail at start-up
//! (`telemetry`, `export`, `tls`), so none of them imports another for it.

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built (for example, a malformed endpoint URL).
    #[error("could not build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The certificate to trust for the collector (`OTEL_EXPORTER_OTLP_CERTIFICATE`) is unusable:
    /// `VARIABLE=path: why`.
    #[error("{0}")]
    Certificate(String),
    /// A global `tracing` subscriber was already installed.
    #[error("could not install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}
