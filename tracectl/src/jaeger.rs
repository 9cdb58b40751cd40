//! A client of Jaeger's HTTP query API, version 3 (`/api/v3`), whose answers are OTLP/JSON
//! wrapped in `{"result": …}`: hex ids, nanosecond timestamps as strings, enums as numbers.
//!
//! Every way a call can fail is one [`JaegerError`] variant whose message is one line a person can
//! act on: Jaeger unreachable, trace not found, an error status, an answer that is not OTLP/JSON.

use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Deserialize;

use crate::model::{Span, spans_from_request};

/// Where `tracectl` looks for Jaeger unless told otherwise.
pub const DEFAULT_URL: &str = "http://localhost:16686";

/// Why a Jaeger query failed.
#[derive(Debug, thiserror::Error)]
pub enum JaegerError {
    /// Not 32 hex digits, or all zeros.
    #[error("{0:?} is not a trace id: expected 32 hexadecimal digits, not all zero")]
    InvalidTraceId(String),
    /// The `--jaeger` URL is not usable.
    #[error("{0:?} is not a usable Jaeger URL: expected http://host:port or https://host:port")]
    InvalidUrl(String),
    /// No connection, or no answer in time.
    #[error("cannot reach Jaeger at {url}: {cause}")]
    Unreachable {
        /// The Jaeger base URL.
        url: String,
        /// What went wrong.
        cause: String,
    },
    /// Jaeger has no trace with that id (it answered 404, or an empty result).
    #[error("trace {0} was not found in Jaeger (it may not have arrived yet, or Jaeger was restarted)")]
    TraceNotFound(String),
    /// Jaeger answered with an error status.
    #[error("Jaeger answered {status} for {path}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The request path.
        path: String,
        /// The start of the body.
        body: String,
    },
    /// The answer is not what the v3 API returns.
    #[error("Jaeger's answer to {path} is not the expected JSON: {cause}")]
    Malformed {
        /// The request path.
        path: String,
        /// What did not parse.
        cause: String,
    },
}

/// One operation of a service, as `/api/v3/operations` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Operation {
    /// The span name (`POST /api/checkout`).
    pub name: String,
    /// The span kind, lowercase (`server`); Jaeger sends an empty one as `internal` from 2.x on,
    /// and older stores may leave it out.
    #[serde(rename(deserialize = "spanKind"), default)]
    pub span_kind: String,
}

/// Checks and normalises a trace id to 32 lowercase hex digits.
pub fn parse_trace_id(id: &str) -> Result<String, JaegerError> {
    let trimmed = id.trim();
    let valid = trimmed.len() == 32
        && trimmed.bytes().all(|b| b.is_ascii_hexdigit())
        && trimmed.bytes().any(|b| b != b'0');
    if valid { Ok(trimmed.to_ascii_lowercase()) } else { Err(JaegerError::InvalidTraceId(id.to_owned())) }
}

/// Parses OTLP/JSON spans: Jaeger's `{"result": {"resourceSpans": […]}}` or a bare export request.
pub fn parse_otlp_json(body: &[u8]) -> Result<Vec<Span>, String> {
    #[derive(Deserialize)]
    struct Envelope {
        result: ExportTraceServiceRequest,
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let request = if value.get("result").is_some() {
        serde_json::from_value::<Envelope>(value).map(|e| e.result)
    } else {
        serde_json::from_value::<ExportTraceServiceRequest>(value)
    }
    .map_err(|e| e.to_string())?;
    Ok(spans_from_request(&request))
}

/// What `tracectl search` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Traces with a span of this service.
    pub service: String,
    /// … and, if given, of this operation.
    pub operation: Option<String>,
    /// At least this long.
    pub min_duration: Option<Duration>,
    /// Started at most this long ago.
    pub lookback: Duration,
    /// How many traces to return: Jaeger's search depth, the most recent matching ones.
    pub limit: usize,
    /// Only traces in which a span of the service has an error status (Jaeger's `error=true`
    /// tag query).
    pub errors: bool,
}

impl SearchQuery {
    /// Jaeger's search over the spans of a store file: the traces that [`SearchQuery::matches`],
    /// the most recent `limit` of them (the time range is the caller's: [`crate::store::within`]).
    pub fn over_store(&self, spans: Vec<Span>) -> Vec<crate::trace::Trace> {
        let mut traces: Vec<_> =
            crate::trace::Trace::group(spans).into_iter().filter(|trace| self.matches(trace)).collect();
        traces.sort_by_key(|trace| std::cmp::Reverse(trace.start()));
        traces.truncate(self.limit);
        traces
    }

    /// Whether `trace` is one Jaeger's search would find (for a store file, which has no Jaeger
    /// behind it): a span of the service, of the operation if one is given, at least
    /// `min_duration` long, with an error status if `errors` (Jaeger's memory store,
    /// `internal/storage/v2/memory/tenant.go`, `validSpan`, holds every condition on one span).
    /// The time range is not applied.
    pub fn matches(&self, trace: &crate::trace::Trace) -> bool {
        trace.spans.iter().any(|span| {
            span.service_name == self.service
                && self.operation.as_ref().is_none_or(|op| *op == span.name)
                && self.min_duration.is_none_or(|min| u128::from(span.duration_nanos()) >= min.as_nanos())
                && (!self.errors || span.status == crate::model::StatusCode::Error)
        })
    }
}

/// The answer to a search: the spans of the traces that match, as Jaeger sent them, and whether
/// some of what Jaeger sent did not match (a Jaeger before 2.19 ignores `--errors`' attribute query).
#[derive(Debug)]
pub struct Found {
    /// The spans of the traces that match.
    pub spans: Vec<Span>,
    /// Whether traces were taken out here.
    pub filtered_here: bool,
}

/// A Jaeger query service.
#[derive(Debug, Clone)]
pub struct Jaeger {
    base: reqwest::Url,
    http: reqwest::Client,
}

impl Jaeger {
    /// A client for the Jaeger at `url` (e.g. `http://localhost:16686`, or an `https://` one,
    /// whose certificate is checked against the system's trusted roots).
    pub fn new(url: &str) -> Result<Self, JaegerError> {
        let invalid = || JaegerError::InvalidUrl(url.to_owned());
        let base = reqwest::Url::parse(url.trim_end_matches('/')).map_err(|_| invalid())?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(invalid());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|_| invalid())?;
        Ok(Self { base, http })
    }

    /// The Jaeger's address, as given.
    pub fn url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<(u16, Vec<u8>), JaegerError> {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        let unreachable = |e: reqwest::Error| JaegerError::Unreachable {
            url: self.base.to_string().trim_end_matches('/').to_owned(),
            cause: root_cause(&e),
        };
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let response = self.http.get(url).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        Ok((status, body.to_vec()))
    }

    fn fail(path: &str, status: u16, body: &[u8]) -> JaegerError {
        let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
        JaegerError::Status {
            status,
            path: path.to_owned(),
            body: text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// Every span of one trace.
    pub async fn trace(&self, trace_id: &str) -> Result<Vec<Span>, JaegerError> {
        let id = parse_trace_id(trace_id)?;
        let path = format!("/api/v3/traces/{id}");
        let (status, body) = self.get(&path, &[]).await?;
        match status {
            200 => {}
            404 => return Err(JaegerError::TraceNotFound(id)),
            _ => return Err(Self::fail(&path, status, &body)),
        }
        let spans =
            parse_otlp_json(&body).map_err(|cause| JaegerError::Malformed { path: path.clone(), cause })?;
        let spans: Vec<Span> = spans.into_iter().filter(|s| s.trace_id == id).collect();
        if spans.is_empty() {
            return Err(JaegerError::TraceNotFound(id));
        }
        Ok(spans)
    }

    /// The traces matching `query` (Jaeger answers 404 when nothing matches), as spans.
    ///
    /// Every parameter goes under both of the names Jaeger 2.x has read it by, so every release
    /// reads the search (`cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/`): the
    /// snake_case ones (`query.service_name`, `query.start_time_min`, `query.num_traces`, …) of
    /// `http_gateway.go` up to 2.18, and the camelCase ones of `query_parser.go` from 2.19 on, which
    /// win there over the snake_case ones it keeps as deprecated aliases. `--errors` is Jaeger's
    /// `error=true` attribute query, which the HTTP API reads from 2.19 on only; so the answer is
    /// held to `query` here as well (as Jaeger's memory store would, [`SearchQuery::matches`]),
    /// and [`Found::filtered_here`] says when that took traces out: the Jaeger ignored the filter,
    /// and the failed traces shown are those among the newest `limit` it sent.
    pub async fn search(&self, query: &SearchQuery) -> Result<Found, JaegerError> {
        let path = "/api/v3/traces";
        let now = SystemTime::now();
        let since = now.checked_sub(query.lookback).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut params = vec![
            (["query.serviceName", "query.service_name"], query.service.clone()),
            (
                ["query.startTimeMin", "query.start_time_min"],
                humantime::format_rfc3339_nanos(since).to_string(),
            ),
            (
                ["query.startTimeMax", "query.start_time_max"],
                humantime::format_rfc3339_nanos(now).to_string(),
            ),
            // How many traces to return: the most recent ones that match, up to this many.
            (["query.searchDepth", "query.num_traces"], query.limit.to_string()),
        ];
        if let Some(operation) = &query.operation {
            params.push((["query.operationName", "query.operation_name"], operation.clone()));
        }
        if let Some(min) = query.min_duration {
            params.push((["query.durationMin", "query.duration_min"], go_duration(min)));
        }
        let mut params: Vec<(&str, String)> =
            params.into_iter().flat_map(|(names, value)| names.map(|name| (name, value.clone()))).collect();
        if query.errors {
            // A JSON map of tags; `error` is matched against the span's status, not a tag.
            params.push(("query.attributes", r#"{"error":"true"}"#.to_owned()));
        }
        let (status, body) = self.get(path, &params).await?;
        let spans = match status {
            200 => {
                parse_otlp_json(&body).map_err(|cause| JaegerError::Malformed { path: path.into(), cause })?
            }
            404 => Vec::new(),
            _ => return Err(Self::fail(path, status, &body)),
        };
        let traces = crate::trace::Trace::group(spans.clone());
        let matching: std::collections::HashSet<&str> =
            traces.iter().filter(|trace| query.matches(trace)).map(|trace| trace.trace_id.as_str()).collect();
        let filtered_here = matching.len() < traces.len();
        let spans = spans.into_iter().filter(|span| matching.contains(span.trace_id.as_str())).collect();
        Ok(Found { spans, filtered_here })
    }

    /// The spans of the newest `limit` traces of each of `services` that started within
    /// `lookback` (what `lint --service` reads).
    pub async fn spans_of(
        &self,
        services: Vec<String>,
        lookback: Duration,
        limit: usize,
    ) -> Result<Vec<Span>, JaegerError> {
        let mut spans = Vec::new();
        for service in services {
            let query =
                SearchQuery { service, operation: None, min_duration: None, lookback, limit, errors: false };
            spans.extend(self.search(&query).await?.spans);
        }
        Ok(spans)
    }

    /// The operations (span names) Jaeger has seen for `service`, of one span kind if given
    /// (`server`, `client`, `internal`, `producer`, `consumer`), sorted by name then kind.
    pub async fn operations(
        &self,
        service: &str,
        span_kind: Option<&str>,
    ) -> Result<Vec<Operation>, JaegerError> {
        #[derive(Deserialize)]
        struct Operations {
            #[serde(default)]
            operations: Vec<Operation>,
        }
        let path = "/api/v3/operations";
        // `service` and `span_kind`: the names every 2.x reads (from 2.19 `spanKind` too).
        let mut params = vec![("service", service.to_owned())];
        if let Some(kind) = span_kind {
            params.push(("span_kind", kind.to_owned()));
        }
        let (status, body) = self.get(path, &params).await?;
        if status != 200 {
            return Err(Self::fail(path, status, &body));
        }
        let mut operations = serde_json::from_slice::<Operations>(&body)
            .map_err(|e| JaegerError::Malformed { path: path.into(), cause: e.to_string() })?
            .operations;
        operations.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.span_kind.cmp(&b.span_kind)));
        Ok(operations)
    }

    /// The services Jaeger has seen.
    pub async fn services(&self) -> Result<Vec<String>, JaegerError> {
        #[derive(Deserialize)]
        struct Services {
            #[serde(default)]
            services: Vec<String>,
        }
        let path = "/api/v3/services";
        let (status, body) = self.get(path, &[]).await?;
        if status != 200 {
            return Err(Self::fail(path, status, &body));
        }
        let mut services = serde_json::from_slice::<Services>(&body)
            .map_err(|e| JaegerError::Malformed { path: path.into(), cause: e.to_string() })?
            .services;
        services.sort();
        Ok(services)
    }
}

/// `duration` in Go's `time.ParseDuration` syntax, exactly: `1500ms`, `250us`, `1200ns`.
fn go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    match nanos {
        n if n % 1_000_000 == 0 => format!("{}ms", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}us", n / 1_000),
        n => format!("{n}ns"),
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_32_hex_digits_normalised_to_lowercase() {
        assert_eq!(
            parse_trace_id("0AF7651916CD43DD8448EB211C80319C").unwrap(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        for bad in [
            "",
            "xyz",
            "0af7651916cd43dd8448eb211c80319",
            "00000000000000000000000000000000",
            "0af7651916cd43dd8448eb211c80319g",
        ] {
            assert!(parse_trace_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_are_written_in_go_syntax_without_losing_precision() {
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(go_duration(Duration::from_micros(250)), "250us");
        assert_eq!(go_duration(Duration::from_nanos(1_200)), "1200ns");
        assert_eq!(go_duration(Duration::ZERO), "0ms");
    }

    #[test]
    fn http_and_https_urls_are_accepted_and_nothing_else() {
        assert!(Jaeger::new("http://localhost:16686/").is_ok());
        assert!(Jaeger::new("https://jaeger.example.com").is_ok());
        assert!(Jaeger::new("localhost:16686").is_err());
        assert!(Jaeger::new("ftp://jaeger.example.com").is_err());
    }

    #[test]
    fn otlp_json_parses_with_or_without_the_result_envelope() {
        let bare = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}}]},
            "scopeSpans":[{"scope":{},"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",
            "parentSpanId":"","name":"GET /","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"5000","status":{"code":2}}]}]}]}"#;
        let wrapped = format!(r#"{{"result":{bare}}}"#);
        for body in [bare.to_owned(), wrapped] {
            let spans = parse_otlp_json(body.as_bytes()).unwrap();
            assert_eq!(spans.len(), 1);
            assert_eq!(spans[0].parent_span_id, None);
            assert_eq!(spans[0].service_name, "gateway");
            assert_eq!(spans[0].duration_nanos(), 4000);
            assert_eq!(spans[0].status, crate::model::StatusCode::Error);
        }
        assert!(parse_otlp_json(b"<html>").is_err());
        assert!(parse_otlp_json(br#"{"result": {"resourceSpans": "nope"}}"#).is_err());
    }
}
