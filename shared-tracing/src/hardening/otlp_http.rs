//! Hardening (a first reading can skip this file): OTLP over `http/protobuf`, the default
//! protocol, sent with a body written straight from the spans ([`super::otlp_body`]).
//!
//! Everything but the body is what the SDK's exporter (opentelemetry-otlp 0.33,
//! `src/exporter/http/mod.rs`) does, read from the same variables, as the OpenTelemetry
//! specification's "OTLP Exporter Configuration" (`specification/protocol/exporter.md`) says:
//! - the URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   with `/v1/traces` appended, else `http://localhost:4318/v1/traces`;
//! - `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`: `key=value` pairs, comma-separated, values
//!   percent-decoded; the signal's variable, when set, instead of the general one;
//! - `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`: `gzip`, `zstd` or `none`;
//! - `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`: the time one export may take, retries included;
//! - retries as the SDK's recommended policy: up to 3, after 100 ms, doubling to at most 1.6 s,
//!   plus up to 100 ms of jitter, for the answers the OTLP/HTTP specification calls retryable
//!   (429, 502, 503, 504, and no answer at all); a `Retry-After` of 429 or 503 is honoured.
//!
//! The gRPC and `http/json` protocols keep the SDK's exporter.

use std::{
    io::Write as _,
    time::{Duration, Instant, SystemTime},
};

use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
};
use reqwest::{
    blocking::Client,
    header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT},
};

use super::otlp_body;

const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
const TRACES_PATH: &str = "/v1/traces";
const MAX_RETRIES: u32 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// The longest `Retry-After` heeded, as the SDK's exporter caps it.
const MAX_THROTTLE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
}

/// The `http/protobuf` OTLP exporter: see the module's documentation.
#[derive(Debug)]
pub struct OtlpHttpExporter {
    client: Client,
    endpoint: reqwest::Url,
    headers: HeaderMap,
    compression: Option<Compression>,
    timeout: Duration,
    resource: Resource,
}

impl OtlpHttpExporter {
    /// Configured from the `OTEL_EXPORTER_OTLP_*` variables, sending with `client` (which must
    /// have been built off any async runtime, as reqwest's blocking client requires). A
    /// variable that cannot be used (an endpoint that is not an http(s) URL, an unknown
    /// compression) is an error that names it.
    pub fn from_env(client: Client, timeout: Duration) -> Result<Self, String> {
        Self::from_vars(client, timeout, |name| std::env::var(name).ok())
    }

    fn from_vars(
        client: Client,
        timeout: Duration,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = match (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(url), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url),
            (None, Some(base)) => ("OTEL_EXPORTER_OTLP_ENDPOINT", with_traces_path(&base)),
            (None, None) => ("the default endpoint", with_traces_path(DEFAULT_ENDPOINT)),
        };
        let (variable, url) = endpoint;
        let endpoint = reqwest::Url::parse(&url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| format!("{variable}: {url:?} is not an http:// or https:// URL"))?;

        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some(list) =
            var("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
        {
            headers.extend(parse_headers(&list));
        }

        let mut compression = None;
        for name in ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"] {
            let Some(value) = var(name) else { continue };
            compression = match value.to_ascii_lowercase().as_str() {
                "none" => None,
                "gzip" => Some(Compression::Gzip),
                "zstd" => Some(Compression::Zstd),
                _ => return Err(format!("{name}={value:?}: the compression is gzip, zstd or none")),
            };
            break;
        }
        Ok(Self {
            client,
            endpoint,
            headers,
            compression,
            timeout,
            resource: Resource::builder_empty().build(),
        })
    }

    fn body(&self, batch: &[SpanData]) -> Result<Vec<u8>, String> {
        let body = otlp_body::encode(batch, &self.resource);
        match self.compression {
            None => Ok(body),
            Some(Compression::Gzip) => {
                let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gzip.write_all(&body).and_then(|()| gzip.finish()).map_err(|e| format!("gzip: {e}"))
            }
            Some(Compression::Zstd) => zstd::bulk::compress(&body, 0).map_err(|e| format!("zstd: {e}")),
        }
    }

    /// One export: the batch sent, and sent again while the answer says to and time is left.
    fn send(&self, batch: &[SpanData]) -> OTelSdkResult {
        // Shared, not copied, by each attempt.
        let body = axum::body::Bytes::from(self.body(batch).map_err(OTelSdkError::InternalFailure)?);
        let start = Instant::now();
        let (mut delay, mut cap) = (FIRST_DELAY, MAX_DELAY);
        let mut retries = 0;
        loop {
            let remaining = self.timeout.saturating_sub(start.elapsed());
            let (message, retry_after) = match self.attempt(body.clone(), remaining) {
                Ok(()) => return Ok(()),
                Err(Failed::Finally(message)) => return Err(OTelSdkError::InternalFailure(message)),
                Err(Failed::Retryable { message, retry_after }) => (message, retry_after),
            };
            if retries == MAX_RETRIES {
                return Err(OTelSdkError::InternalFailure(message));
            }
            if let Some(server_delay) = retry_after {
                // The server's delay is the new base; backoff may then grow past the usual cap.
                if server_delay > cap {
                    cap = MAX_THROTTLE;
                }
                delay = delay.max(server_delay);
            }
            let pause = (delay + jitter()).min(cap);
            if pause >= self.timeout.saturating_sub(start.elapsed()) {
                return Err(OTelSdkError::InternalFailure(format!("{message}; no time left to retry")));
            }
            std::thread::sleep(pause);
            delay = (delay * 2).min(cap);
            retries += 1;
        }
    }

    /// One POST of `body`, given `remaining` to answer.
    fn attempt(&self, body: axum::body::Bytes, remaining: Duration) -> Result<(), Failed> {
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .timeout(remaining)
            .body(body);
        if let Some(compression) = self.compression {
            request = request.header(CONTENT_ENCODING, encoding(compression));
        }
        let response = request.send().map_err(|e| Failed::Retryable {
            message: format!("HTTP export failed: {e}"),
            retry_after: None,
        })?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            warn_of_rejected_spans(&response.bytes().unwrap_or_default());
            return Ok(());
        }
        let message = format!("HTTP export failed with status code: {status}");
        match status {
            429 | 503 => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(|seconds| Duration::from_secs(seconds).min(MAX_THROTTLE));
                Err(Failed::Retryable { message, retry_after })
            }
            502 | 504 => Err(Failed::Retryable { message, retry_after: None }),
            _ => Err(Failed::Finally(message)),
        }
    }
}

/// Why an attempt failed, and whether another may succeed.
enum Failed {
    /// No answer, or one OTLP/HTTP calls retryable; a 429 or 503 may say when to come back.
    Retryable { message: String, retry_after: Option<Duration> },
    /// Any other answer: the collector will not take this batch.
    Finally(String),
}

/// The OTLP exporter of the protocol chosen: this module's for `http/protobuf`, the SDK's for
/// `http/json` and `grpc`.
#[derive(Debug)]
pub enum OtlpExporter {
    /// `http/protobuf`, this module's.
    Protobuf(OtlpHttpExporter),
    /// `http/json` or `grpc`, the SDK's.
    Sdk(opentelemetry_otlp::SpanExporter),
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            // On the calling thread (the batch processor's own), as the SDK's blocking client.
            Self::Protobuf(exporter) => exporter.send(&batch),
            Self::Sdk(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Protobuf(_) => Ok(()),
            Self::Sdk(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            Self::Protobuf(_) => Ok(()),
            Self::Sdk(exporter) => exporter.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Protobuf(exporter) => exporter.resource = resource.clone(),
            Self::Sdk(exporter) => exporter.set_resource(resource),
        }
    }
}

/// What the specification asks an exporter's `User-Agent` to say: exporter, language, version.
const USER_AGENT_VALUE: &str = concat!("OTel-OTLP-Exporter-Rust-shared-tracing/", env!("CARGO_PKG_VERSION"));

fn encoding(compression: Compression) -> &'static str {
    match compression {
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// A collector that accepts a batch may still reject some of its spans, and say so in the
/// answer's `partial_success` (OTLP/HTTP "Partial Success"): that loss is logged, as the SDK's
/// exporter logs it.
fn warn_of_rejected_spans(answer: &[u8]) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    use prost::Message as _;
    let Some(partial) = ExportTraceServiceResponse::decode(answer).ok().and_then(|a| a.partial_success)
    else {
        return;
    };
    if partial.rejected_spans > 0 || !partial.error_message.is_empty() {
        tracing::warn!(
            rejected_spans = partial.rejected_spans,
            error_message = partial.error_message,
            "the collector rejected spans of an export"
        );
    }
}

/// `base` with `/v1/traces` appended, one slash between them.
fn with_traces_path(base: &str) -> String {
    format!("{}{TRACES_PATH}", base.strip_suffix('/').unwrap_or(base))
}

/// `key=value,key2=value2`, values percent-decoded; a pair that is not a valid header is skipped,
/// as the SDK's exporter skips it.
fn parse_headers(list: &str) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
    list.split(',').filter_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        let value = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
        if key.is_empty() || value.is_empty() {
            return None;
        }
        Some((HeaderName::from_bytes(key.as_bytes()).ok()?, HeaderValue::from_str(&value).ok()?))
    })
}

/// Up to [`MAX_JITTER_MS`], from the clock's low bits: retries of services that failed together
/// spread out, which is all jitter is for.
fn jitter() -> Duration {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from(nanos) % (MAX_JITTER_MS + 1))
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{
            Arc, Mutex,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use axum::{body::Bytes, http::HeaderMap as Headers, http::StatusCode};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;

    use super::*;

    /// reqwest's blocking client, built off the test's runtime as it must be.
    fn client() -> Client {
        std::thread::spawn(|| Client::builder().build().unwrap()).join().unwrap()
    }

    fn exporter(vars: &[(&str, &str)]) -> Result<OtlpHttpExporter, String> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OtlpHttpExporter::from_vars(client(), Duration::from_secs(10), |name| vars.get(name).cloned())
    }

    #[test]
    fn the_url_headers_and_compression_come_from_the_variables_as_the_specification_says() {
        let default = exporter(&[]).unwrap();
        assert_eq!(default.endpoint.as_str(), "http://localhost:4318/v1/traces");
        assert_eq!(default.compression, None);
        assert!(default.headers[USER_AGENT].to_str().unwrap().starts_with("OTel-OTLP-Exporter-Rust"));

        let base = exporter(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/")]).unwrap();
        assert_eq!(base.endpoint.as_str(), "https://collector:4318/v1/traces", "one slash, path appended");
        let signal = exporter(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:9999/custom"),
        ])
        .unwrap();
        assert_eq!(signal.endpoint.as_str(), "http://collector:9999/custom", "the signal's URL as it is");

        let headers = exporter(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "ignored=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=a%20b%3Dc, x-tenant = acme,broken,=v,k="),
        ])
        .unwrap()
        .headers;
        assert_eq!(headers["api-key"], "a b=c", "percent-decoded");
        assert_eq!(headers["x-tenant"], "acme", "trimmed");
        assert!(!headers.contains_key("ignored"), "the signal's variable instead of the general one");
        assert_eq!(headers.len(), 3, "what is not key=value is skipped: {headers:?}");

        let zstd = exporter(&[
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "ZSTD"),
        ]);
        assert_eq!(zstd.unwrap().compression, Some(Compression::Zstd));
        let none = exporter(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")]).unwrap();
        assert_eq!(none.compression, None);
    }

    #[test]
    fn an_unusable_variable_is_an_error_that_names_it() {
        let error = exporter(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")]).unwrap_err();
        assert!(error.contains("OTEL_EXPORTER_OTLP_COMPRESSION") && error.contains("brotli"), "{error}");
        let error =
            exporter(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318/v1/traces")]).unwrap_err();
        assert!(error.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "{error}");
    }

    /// A collector that answers each export with the next of `answers` (the last one again when
    /// they run out), and keeps what it was sent.
    struct Collector {
        url: String,
        requests: Arc<AtomicUsize>,
        last: Arc<Mutex<Option<(Headers, Bytes)>>>,
    }

    async fn collector(answers: Vec<(StatusCode, &'static [(&'static str, &'static str)])>) -> Collector {
        let requests = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(Mutex::new(None));
        let (count, keep) = (requests.clone(), last.clone());
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: Headers, body: Bytes| {
                let n = count.fetch_add(1, Ordering::SeqCst);
                *keep.lock().unwrap() = Some((headers, body));
                let (status, extra) = answers[n.min(answers.len() - 1)];
                let mut answer = Headers::new();
                for (name, value) in extra {
                    answer.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
                }
                async move { (status, answer) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Collector { url, requests, last }
    }

    fn one_span() -> Vec<SpanData> {
        use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
        vec![SpanData {
            span_context: SpanContext::new(
                TraceId::from(7),
                SpanId::from(7),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "POST /orders".into(),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: vec![],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }]
    }

    /// Sends one span to `collector` with `vars` set, off the runtime (the client is blocking).
    async fn export(collector: &Collector, vars: &[(&'static str, &'static str)]) -> OTelSdkResult {
        let mut vars = vars.to_vec();
        let url: &'static str = Box::leak(collector.url.clone().into_boxed_str());
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", url));
        tokio::task::spawn_blocking(move || {
            let mut exporter = exporter(&vars).unwrap();
            exporter.resource = Resource::builder_empty().with_service_name("order-service").build();
            exporter.send(&one_span())
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_retryable_answer_is_sent_again_until_the_collector_takes_it() {
        let collector = collector(vec![
            (StatusCode::SERVICE_UNAVAILABLE, &[("retry-after", "0")]),
            (StatusCode::BAD_GATEWAY, &[]),
            (StatusCode::OK, &[]),
        ])
        .await;
        let sent = export(
            &collector,
            &[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"), ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
        )
        .await;

        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(collector.requests.load(Ordering::SeqCst), 3, "503, 502, then taken");
        let (headers, body) = collector.last.lock().unwrap().take().unwrap();
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["content-encoding"], "gzip");
        assert_eq!(headers["api-key"], "secret");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
        let request = ExportTraceServiceRequest::decode(plain.as_slice()).unwrap();
        assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].name, "POST /orders");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_refusal_is_not_sent_again_and_says_its_status() {
        let collector = collector(vec![(StatusCode::BAD_REQUEST, &[])]).await;
        let sent = export(&collector, &[]).await;

        assert!(matches!(&sent, Err(OTelSdkError::InternalFailure(m)) if m.contains("400")), "{sent:?}");
        assert_eq!(collector.requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn retries_stop_after_three_and_within_the_timeout() {
        let unavailable = collector(vec![(StatusCode::SERVICE_UNAVAILABLE, &[])]).await;
        let sent = export(&unavailable, &[]).await;
        assert!(sent.is_err());
        assert_eq!(unavailable.requests.load(Ordering::SeqCst), 4, "the first try and three retries");

        // A Retry-After longer than the export's time left (10 s here): no retry at all.
        let throttling = collector(vec![(StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "20")])]).await;
        let sent = export(&throttling, &[]).await;
        assert!(matches!(&sent, Err(OTelSdkError::InternalFailure(m)) if m.contains("429")), "{sent:?}");
        assert_eq!(throttling.requests.load(Ordering::SeqCst), 1);
    }
}
