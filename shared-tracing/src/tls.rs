//! TLS to the collector, with the `tls` feature: an `https://` endpoint, its certificate checked
//! against the system's trusted roots plus, if `OTEL_EXPORTER_OTLP_CERTIFICATE` (or its `TRACES_`
//! form) names a PEM file, the certificates in it (a private CA, or a collector's self-signed
//! certificate); with `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, a certificate of
//! the service's own (mutual TLS). opentelemetry-otlp 0.33 reads none of these files itself, so
//! they are read here and given to the HTTP client (or gRPC channel) the exporter uses.
//!
//! Without the feature there is no TLS, and a certificate variable stops the start, naming the
//! feature: TLS that was asked for and is missing would only show later, as failed exports.

#[cfg(feature = "tls")]
pub(crate) use with_tls::Tls;
#[cfg(not(feature = "tls"))]
pub(crate) use without_tls::Tls;

use crate::{config::otlp_setting, error::TelemetryError};

/// The file `OTEL_EXPORTER_OTLP_(TRACES_)<name>` names: the variable (`VAR=path`, for messages)
/// and its path; `None` when neither is set.
fn named(name: &str) -> Option<(String, String)> {
    let (variable, path) = otlp_setting(name, |v| std::env::var(v).ok())?;
    Some((format!("{variable}={path}"), path))
}

#[cfg(not(feature = "tls"))]
mod without_tls {
    use super::*;

    /// No TLS in this build.
    pub(crate) struct Tls;

    impl Tls {
        pub(crate) fn from_env() -> Result<Self, TelemetryError> {
            match ["CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"].into_iter().find_map(named) {
                Some((variable, _)) => Err(TelemetryError::Certificate(format!(
                    "{variable}: TLS needs shared-tracing's `tls` feature, which this build does not have"
                ))),
                None => Ok(Self),
            }
        }

        pub(crate) fn apply(
            self,
            client: reqwest::blocking::ClientBuilder,
        ) -> reqwest::blocking::ClientBuilder {
            client
        }
    }
}

#[cfg(feature = "tls")]
mod with_tls {
    use super::*;

    /// The TLS files the variables name, read. A file that cannot be read, or does not hold what
    /// it should, stops the start.
    pub(crate) struct Tls {
        /// `CERTIFICATE`: certificates to trust besides the system's roots.
        trusted: Option<Vec<u8>>,
        /// `CLIENT_CERTIFICATE` and `CLIENT_KEY`, both or neither: the service's own.
        identity: Option<(Vec<u8>, Vec<u8>)>,
    }

    impl Tls {
        pub(crate) fn from_env() -> Result<Self, TelemetryError> {
            let failed = |message: String| Err(TelemetryError::Certificate(message));
            let trusted = pem_file("CERTIFICATE")?;
            if let Some((variable, pem)) = &trusted
                && reqwest::Certificate::from_pem_bundle(pem)
                    .map_or(true, |certificates| certificates.is_empty())
            {
                return failed(format!("{variable}: holds no PEM certificate"));
            }
            let identity = match (pem_file("CLIENT_CERTIFICATE")?, pem_file("CLIENT_KEY")?) {
                (None, None) => None,
                (Some((variable, certificate)), Some((_, key))) => match identity(&certificate, &key) {
                    Ok(_) => Some((certificate, key)),
                    Err(e) => return failed(format!("{variable} and its key: {e}")),
                },
                (Some((variable, _)), None) | (None, Some((variable, _))) => {
                    let missing =
                        if variable.contains("CLIENT_KEY") { "CLIENT_CERTIFICATE" } else { "CLIENT_KEY" };
                    return failed(format!(
                        "{variable} is set but OTEL_EXPORTER_OTLP_{missing} is not: set both"
                    ));
                }
            };
            Ok(Self { trusted: trusted.map(|(_, pem)| pem), identity })
        }

        /// `client`, trusting the named certificates as well as the system's, and showing the
        /// service's own. (Both were checked by [`Tls::from_env`].)
        pub(crate) fn apply(
            self,
            client: reqwest::blocking::ClientBuilder,
        ) -> reqwest::blocking::ClientBuilder {
            let trusted =
                self.trusted.as_deref().and_then(|pem| reqwest::Certificate::from_pem_bundle(pem).ok());
            let client = client.tls_certs_merge(trusted.unwrap_or_default());
            let identity = self.identity.and_then(|(certificate, key)| identity(&certificate, &key).ok());
            identity.into_iter().fold(client, reqwest::blocking::ClientBuilder::identity)
        }

        /// The same for the gRPC channel. Without roots of its own the exporter's TLS trusts
        /// nothing (tonic's `ClientTlsConfig::new()` is empty), so every https collector would
        /// fail: the system's roots, plus the named certificate. Ignored for an http:// endpoint.
        #[cfg(feature = "grpc")]
        pub(crate) fn for_grpc(&self) -> opentelemetry_otlp::tonic_types::transport::ClientTlsConfig {
            use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
            let mut config = ClientTlsConfig::new().with_enabled_roots();
            if let Some(pem) = &self.trusted {
                config = config.ca_certificate(Certificate::from_pem(pem));
            }
            if let Some((certificate, key)) = &self.identity {
                config = config.identity(Identity::from_pem(certificate, key));
            }
            config
        }
    }

    /// The file `OTEL_EXPORTER_OTLP_(TRACES_)<name>` names, read: the variable and the bytes.
    fn pem_file(name: &str) -> Result<Option<(String, Vec<u8>)>, TelemetryError> {
        let Some((variable, path)) = named(name) else { return Ok(None) };
        match std::fs::read(&path) {
            Ok(pem) => Ok(Some((variable, pem))),
            Err(e) => Err(TelemetryError::Certificate(format!("{variable}: {e}"))),
        }
    }

    /// The client's certificate and key as reqwest's rustls reads an identity: one PEM, key first.
    fn identity(certificate: &[u8], key: &[u8]) -> reqwest::Result<reqwest::Identity> {
        reqwest::Identity::from_pem(&[key, b"\n", certificate].concat())
    }
}
