//! An OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf (`application/x-protobuf`) or
//! OTLP/JSON (`application/json`) `ExportTraceServiceRequest`, answered as the OTLP spec asks.
//! A body may be compressed (`Content-Encoding: gzip`, which every OTLP server must accept,
//! `deflate` or `zstd`); another encoding is a 415 that says which are accepted. Spans with invalid
//! ids are refused, and the answer says how many (the spec's partial success).
//!
//! Received spans go into a [`Sink`]: usually a [`SpanStore`], bounded (oldest dropped first, with
//! a log line) so a long-running receiver cannot grow without limit. [`SpanStore::wait_for`] lets
//! a test wait for the spans it expects without sleeping: it wakes on every export and gives up at
//! a deadline. `tracectl listen --stats` uses a [`crate::count::TraceCounter`] instead, which
//! only counts spans per trace and so keeps up with a benchmark's load.

use std::{
    collections::VecDeque,
    io::Read as _,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tokio::sync::watch;

use crate::model::{Span, accepted_spans};

/// Where a receiver puts what it receives.
pub trait Sink: Clone + Send + Sync + 'static {
    /// Takes one decoded export request; returns how many of its spans it refused.
    fn accept(&self, request: &ExportTraceServiceRequest) -> u64;

    /// Takes one protobuf-encoded export request. A sink that needs only part of each span can
    /// decode just that part.
    fn accept_protobuf(&self, body: Bytes) -> Result<u64, prost::DecodeError> {
        Ok(self.accept(&ExportTraceServiceRequest::decode(body)?))
    }
}

/// A store refuses spans whose ids are invalid: no trace could be drawn from them.
impl Sink for SpanStore {
    fn accept(&self, request: &ExportTraceServiceRequest) -> u64 {
        let (spans, rejected) = accepted_spans(request);
        if rejected > 0 {
            tracing::warn!(
                rejected,
                "refused spans with invalid ids (the sender is told, as a partial success)"
            );
        }
        self.push(spans);
        rejected
    }
}

/// The answer to an export: empty when every span was taken, else the OTLP spec's partial
/// success ("the server MUST respond with ... `partial_success`", opentelemetry-proto
/// `docs/specification.md`, "Partial Success"), saying how many spans were refused and why.
pub fn export_response(rejected: u64) -> ExportTraceServiceResponse {
    let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: format!(
            "{rejected} span(s) refused: a trace id must be 16 bytes and a span id 8, neither all zeros"
        ),
    });
    ExportTraceServiceResponse { partial_success }
}

/// How many spans a store keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Received spans, shared between the receiver and its readers.
#[derive(Debug, Clone)]
pub struct SpanStore {
    spans: Arc<Mutex<VecDeque<Span>>>,
    capacity: usize,
    /// Bumped on every export, so waiters wake up.
    version: Arc<watch::Sender<u64>>,
}

impl Default for SpanStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl SpanStore {
    /// A store keeping at most `capacity` spans.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            spans: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
            version: Arc::new(watch::channel(0).0),
        }
    }

    /// Adds spans, dropping the oldest beyond capacity. Returns how many were dropped.
    pub fn push(&self, new: Vec<Span>) -> usize {
        let dropped = {
            // A poisoned lock only means another thread panicked mid-push; the data is still usable.
            let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            spans.extend(new);
            let excess = spans.len().saturating_sub(self.capacity);
            spans.drain(..excess);
            excess
        };
        if dropped > 0 {
            tracing::warn!(dropped, capacity = self.capacity, "span store full: dropped the oldest spans");
        }
        self.version.send_modify(|v| *v += 1);
        dropped
    }

    /// Takes every span held, leaving the store empty.
    pub fn drain(&self) -> Vec<Span> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect()
    }

    /// A receiver for "something arrived" notifications (see [`SpanStore::push`]).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// A copy of every span held.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    /// Waits until `done(spans)` holds, or `timeout` passes. Returns the spans either way:
    /// `Ok` when the condition held, `Err` with what had arrived when time ran out.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[Span]) -> bool,
    ) -> Result<Vec<Span>, Vec<Span>> {
        let mut changes = self.version.subscribe();
        let wait = async {
            loop {
                let spans = self.spans();
                if done(&spans) {
                    return spans;
                }
                // The sender lives in `self`, so this cannot fail while we wait.
                if changes.changed().await.is_err() {
                    return spans;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| self.spans())
    }
}

/// The receiver's routes: `POST /v1/traces`.
pub fn router<S: Sink>(sink: S) -> Router {
    Router::new().route("/v1/traces", post(export::<S>)).with_state(sink)
}

/// The most a compressed export may grow to when decompressed (a "zip bomb" gets a 413, not all
/// the memory): 16 times the 2 MiB a request body may have.
pub const MAX_DECOMPRESSED: usize = 32 << 20;

/// Why a compressed body was refused: a status and a message for the client.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refused(status, message) = self;
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            // RFC 9110, 15.5.16: an unsupported content coding is a 415 that lists, in
            // Accept-Encoding, the codings that would have been accepted.
            return (status, [(header::ACCEPT_ENCODING, "gzip, deflate, zstd")], message).into_response();
        }
        (status, message).into_response()
    }
}

/// Undoes the request's `Content-Encoding`, or says why it cannot.
fn decode(headers: &HeaderMap, body: Bytes) -> Result<Bytes, Refused> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut decoder: Box<dyn std::io::Read + '_> = match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => return Ok(body),
        // What the OTLP spec requires of a server (opentelemetry-proto `docs/specification.md`:
        // "All server components MUST support ... none ... gzip").
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(&body[..])),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        // What the OpenTelemetry Collector's exporters and the Rust SDK (`zstd-http`) can send.
        "zstd" => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(decoder) => Box::new(decoder),
            Err(e) => {
                return Err(Refused(StatusCode::BAD_REQUEST, format!("the body is not valid zstd: {e}")));
            }
        },
        other => {
            let message =
                format!("content encoding {other:?} is not supported: send gzip, deflate, zstd or none");
            return Err(Refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, message));
        }
    };
    let mut decoded = Vec::with_capacity(body.len() * 4);
    match (&mut decoder).take(MAX_DECOMPRESSED as u64 + 1).read_to_end(&mut decoded) {
        Ok(_) if decoded.len() > MAX_DECOMPRESSED => Err(Refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the export decompresses to more than {} MiB", MAX_DECOMPRESSED >> 20),
        )),
        Ok(_) => Ok(decoded.into()),
        Err(e) => Err(Refused(StatusCode::BAD_REQUEST, format!("the body is not valid {encoding}: {e}"))),
    }
}

async fn export<S: Sink>(State(sink): State<S>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match decode(&headers, body) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let is_json = content_type.starts_with("application/json");
    let accepted = if is_json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&body)
            .map(|request| sink.accept(&request))
            .map_err(|e| e.to_string())
    } else if content_type.starts_with("application/x-protobuf") || content_type.is_empty() {
        sink.accept_protobuf(body).map_err(|e| e.to_string())
    } else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-protobuf or application/json (OTLP/HTTP)",
        )
            .into_response();
    };
    let rejected = match accepted {
        Ok(rejected) => rejected,
        // 400: the OTLP spec says the client must not retry a malformed request.
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not an OTLP trace export: {e}")).into_response(),
    };

    let response = export_response(rejected);
    if is_json {
        ([(header::CONTENT_TYPE, "application/json")], serde_json::to_vec(&response).unwrap_or_default())
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/x-protobuf")], response.encode_to_vec()).into_response()
    }
}

/// A receiver running on a Tokio task.
#[derive(Debug)]
pub struct RunningReceiver<S = SpanStore> {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it has received.
    pub store: S,
    task: tokio::task::JoinHandle<()>,
}

impl<S> RunningReceiver<S> {
    /// The OTLP/HTTP base endpoint, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl<S> Drop for RunningReceiver<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a receiver on `addr` (use port 0 for a free port), putting what arrives into `store`.
pub async fn spawn<S: Sink>(addr: SocketAddr, store: S) -> std::io::Result<RunningReceiver<S>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(store.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "OTLP receiver stopped");
        }
    });
    Ok(RunningReceiver { addr, store, task })
}
