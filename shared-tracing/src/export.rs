//! Where finished spans go, as `OTEL_TRACES_EXPORTER` chooses: OTLP (the default), the console
//! (stdout, each span printed, for a look without any collector), both, or nowhere (`none`: spans
//! are still made and their context still propagates, so trace ids are still answered).
//!
//! OTLP goes over `http/protobuf`, `http/json` or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL`), to an
//! `http://` or an `https://` collector. Over https the collector's certificate is checked
//! against the system's trusted roots plus, if `OTEL_EXPORTER_OTLP_CERTIFICATE` (or its `TRACES_`
//! form) names a PEM file, the certificates in it: a private CA, or a collector's self-signed
//! certificate; with `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, the service shows
//! a certificate of its own (mutual TLS). Every protocol goes through opentelemetry-otlp's own
//! exporter, which reads the endpoint, headers, timeout, compression and retries from the
//! `OTEL_EXPORTER_OTLP_*` variables itself.
//!
//! The console is the SDK's own stdout exporter (opentelemetry-stdout): each batch printed as a
//! block per span, its ids, kind, times, status, attributes and events, for a look without any
//! collector. The specification leaves its format to each SDK (`specification/trace/sdk_exporters/
//! stdout.md`: for debugging, not production).

use std::time::Duration;

use crate::{
    config::{Protocol, otlp_setting},
    error::TelemetryError,
    tls::Tls,
};
use opentelemetry_otlp::{SpanExporter as SdkOtlpExporter, WithExportConfig as _, WithHttpConfig as _};

/// opentelemetry-otlp's exporter over `protocol`, with the TLS the `OTEL_EXPORTER_OTLP_*` files
/// ask for. The protocol is given, not left to the exporter to read: `config` has already read it
/// (and warned about a value it does not know, or one this build lacks the feature for).
pub(crate) fn otlp(protocol: Protocol) -> Result<SdkOtlpExporter, TelemetryError> {
    let tls = Tls::from_env()?;
    #[cfg(feature = "grpc")]
    if protocol == Protocol::Grpc {
        use opentelemetry_otlp::WithTonicConfig as _;
        return Ok(SdkOtlpExporter::builder().with_tonic().with_tls_config(tls.for_grpc()).build()?);
    }
    let protocol = match protocol {
        #[cfg(feature = "http-json")]
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    let builder = SdkOtlpExporter::builder().with_http().with_protocol(protocol);
    Ok(builder.with_http_client(http_client(tls)?).build()?)
}

/// The blocking HTTP client the exporter would build, with `tls` as well. Built on a thread of its
/// own, as the exporter builds its own: reqwest's blocking client runs a runtime of its own, which
/// must not be created inside the service's.
fn http_client(tls: Tls) -> Result<reqwest::blocking::Client, opentelemetry_otlp::ExporterBuildError> {
    let failed = |reason: String| opentelemetry_otlp::ExporterBuildError::InternalFailure(reason);
    let timeout = export_timeout();
    std::thread::spawn(move || tls.apply(reqwest::blocking::Client::builder().timeout(timeout)).build())
        .join()
        .map_err(|_| failed("the thread building the HTTP client panicked".to_owned()))?
        .map_err(|e| failed(format!("the HTTP client could not be built: {e}")))
}

/// `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`, in milliseconds (10 s by default): what the exporter
/// gives the client it builds itself, so the client built here gets it too.
fn export_timeout() -> Duration {
    otlp_setting("TIMEOUT", |v| std::env::var(v).ok())
        .and_then(|(_, ms)| ms.parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}
