//! Serving with graceful shutdown: on SIGTERM or Ctrl-C, stop accepting, let in-flight requests
//! finish (for a bounded time), then return so `main` can flush telemetry and exit 0.
//!
//! Order matters for tracing: the tracer provider is shut down *after* the server has drained,
//! so the spans of the last requests are finished and in the export queue when it flushes.

use std::{future::Future, time::Duration};

use axum::{
    Router,
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::Response,
};

use crate::{error_body::ErrorBody, linger::linger};
use tokio::net::TcpListener;

/// How long in-flight requests get to finish after a shutdown signal.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client gets to send its request headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes when the process receives SIGTERM (`docker stop`, Kubernetes) or Ctrl-C (SIGINT).
///
/// The handlers are installed *now*, when this is called, not when the future is first polled: a
/// SIGTERM arriving in between would otherwise meet the default action and kill the process
/// without draining or flushing. Must be called inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received: shutting down"),
                    _ = interrupt.recv() => tracing::info!("Ctrl-C received: shutting down"),
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for shutdown signals; stop with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received: shutting down");
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains in-flight requests for at
/// most `drain_timeout`.
///
/// This is `axum::serve` written out with hyper-util, for one reason: a client must send its
/// request headers within `header_timeout`. `axum::serve` sets no such limit, so a client that
/// trickles its headers (the "slowloris" attack) could hold a connection open forever; the
/// request timeout of [`hardened`] only starts once the headers have arrived.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
    header_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };

    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // Shutdown first: under a flood of connections it must still be noticed at once.
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    // Usually running out of file descriptors: log, breathe, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // Each request learns which socket it came from (`ConnectInfo`, as `axum::serve` gives
        // it with `into_make_service_with_connect_info`): the inbound span's `network.peer.*`.
        let router = router.clone();
        let service = TowerToHyperService::new(tower::service_fn(move |mut request: Request<_>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            tower::ServiceExt::oneshot(router.clone(), request)
        }));
        // A second handle on the socket, for the lingering close once hyper is done with it.
        let socket = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned();
        let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client hanging up mid-request is ordinary; nothing to report above debug.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            if let Ok(socket) = socket {
                crate::linger::close_lingering(socket).await;
            }
        });
    }
    // Stop accepting (the listener closes here), then let open connections finish their requests.
    drop(listener);
    tracing::info!("stopped accepting connections; finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain_timeout) => {
            tracing::warn!(timeout_ms = drain_timeout.as_millis() as u64, "in-flight requests did not finish in time; closing them");
        }
    }
    Ok(())
}

/// The protections every API router gets, whatever its routes:
/// - a body over [`MAX_BODY_BYTES`] is refused with `413`, up front when its length is announced;
/// - a body the answer came before (a `404`, `405`, `413`, `415`…) is read after it, so a client
///   still writing sees the answer rather than a reset ([`linger`]);
/// - a request that takes longer than `request_timeout` (a client trickling its body, a handler
///   stuck on something without its own timeout) is answered `408` rather than held forever;
/// - an unknown path is a JSON `404`, a wrong method a JSON `405`, like every other error here.
pub fn hardened<S>(router: Router<S>, request_timeout: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .fallback(|| async {
            ErrorBody::new("not_found", "there is no such endpoint").into_response_with(StatusCode::NOT_FOUND)
        })
        .method_not_allowed_fallback(|| async {
            ErrorBody::new("method_not_allowed", "this endpoint does not accept that method")
                .into_response_with(StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(middleware::from_fn(move |request: Request, next: Next| async move {
            match tokio::time::timeout(request_timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => request_timed_out(request_timeout),
            }
        }))
        .layer(middleware::from_fn(refuse_oversized))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outermost: whatever answered, a body left unread is read after the answer.
        .layer(middleware::from_fn(linger))
}

/// The largest request body any service accepts (axum's default, stated here so it is visible).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A body announced as larger than [`MAX_BODY_BYTES`] gets a `413` from its `Content-Length`
/// alone, rather than after reading 2 MiB of it (which is what the body limit alone would do).
/// The client still sees it, whether it asked first or is already sending (see [`linger`]).
async fn refuse_oversized(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced.filter(|length| *length > MAX_BODY_BYTES as u64) {
        Some(length) => ErrorBody::new(
            "payload_too_large",
            format!("the body is {length} bytes; the limit is {MAX_BODY_BYTES}"),
        )
        .into_response_with(StatusCode::PAYLOAD_TOO_LARGE),
        None => next.run(request).await,
    }
}

fn request_timed_out(limit: Duration) -> Response {
    tracing::warn!(limit_ms = limit.as_millis() as u64, "request took too long; answered 408");
    ErrorBody::new("request_timeout", format!("the request did not complete within {} ms", limit.as_millis()))
        .into_response_with(StatusCode::REQUEST_TIMEOUT)
}

/// A bound, ready-to-run HTTP server: what every service's `startup::build` returns.
///
/// Binding happens in [`Server::bind`], before serving, so a test can bind port 0 and ask
/// [`Server::port`] which port it got before any request is sent.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
}

impl Server {
    /// Binds `host:port` (port 0 picks a free port).
    pub async fn bind(host: &str, port: u16, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind((host, port)).await?;
        tracing::info!(address = %listener.local_addr()?, "listening");
        Ok(Self { listener, router, header_timeout: DEFAULT_HEADER_TIMEOUT })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests for at most
    /// [`DEFAULT_DRAIN_TIMEOUT`]. Clients get the header timeout to send their request headers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve(self.listener, self.router, shutdown, DEFAULT_DRAIN_TIMEOUT, self.header_timeout).await
    }

    /// Gives clients `timeout` to send their request headers (default [`DEFAULT_HEADER_TIMEOUT`]).
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A dependency's URL setting is not an http URL.
    #[error(transparent)]
    Url(#[from] shared_tracing::outbound::InvalidBaseUrl),
    /// The address could not be bound (in use, or not ours).
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
    /// A resource the service needs (its database) could not be opened.
    #[error("cannot open {what}: {cause}")]
    Resource {
        /// What it was (`the order database at data/orders.sqlite3`).
        what: String,
        /// Why not.
        cause: String,
    },
}
