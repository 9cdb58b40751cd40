//! Lingering close: a request body its handler did not read is read and thrown away after the
//! answer, so the client sees the answer.
//!
//! Some answers come before the body is read: a `404` for a path with no route, a `405`, a `415`
//! for a type the route does not read, a `413` for a body announced too large. If the server then
//! closed the connection with the body's bytes unread, TCP would send a reset, which can destroy
//! the answer in flight: a client that writes its whole body before reading (Node's `fetch`,
//! Python's urllib) would see "connection reset" or "broken pipe" instead of the `4xx`. So, as
//! nginx does ("lingering close"), the rest of the body is read and dropped, up to
//! [`MAX_DISCARDED_BYTES`] and for at most [`DISCARD_TIMEOUT`], while the answer goes out; past
//! either bound the connection closes. A client that asked first (`Expect: 100-continue`, as curl
//! does) never sent its body, so nothing is read (reading would invite it to send).
//!
//! A body hyper cannot decode (sent as `Transfer-Encoding: chunked` but not chunk-encoded) ends
//! the connection inside hyper, before [`linger`] can read it: for that, [`close_lingering`] does
//! the same at the socket once hyper is done with it, as nginx does at its socket.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use http_body_util::BodyExt as _;

/// The most of an unread body read (and thrown away) so that its client can read the answer.
pub const MAX_DISCARDED_BYTES: u64 = 16 * 1024 * 1024;

/// How long an unread body may take to arrive before the connection is closed on it.
pub const DISCARD_TIMEOUT: Duration = Duration::from_secs(5);

/// A middleware: serves `request`, then reads whatever of its body the handler left unread (see
/// the module's documentation).
pub async fn linger(request: Request, next: Next) -> Response {
    let announced = header_value(&request, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let asked_first =
        header_value(&request, header::EXPECT).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let too_long = announced.is_some_and(|length| length > MAX_DISCARDED_BYTES);
    // The handler gets the body through a slot this middleware can look into afterwards.
    let (parts, body) = request.into_parts();
    let slot = Slot(Arc::new(Mutex::new(Some(body))));
    let mut response = next.run(Request::from_parts(parts, Body::new(slot.clone()))).await;
    let Some(unread) = slot.take() else { return response };
    if too_long {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    } else if !asked_first {
        // The answer is written while the body is read: hyper reads on for as long as the body
        // is wanted, then keeps the connection (or closes it, if reading failed or timed out).
        tokio::spawn(tokio::time::timeout(DISCARD_TIMEOUT, discard(unread)));
    }
    response
}

fn header_value(request: &Request, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Reads `body` to its end (or its first error), up to [`MAX_DISCARDED_BYTES`].
async fn discard(mut body: Body) {
    let mut read = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, |data| data.len() as u64);
        if read > MAX_DISCARDED_BYTES {
            return;
        }
    }
}

/// The request body, shared between the handler (which reads it through this) and [`linger`]
/// (which takes what is left). Empty once read to the end or failed.
#[derive(Clone)]
struct Slot(Arc<Mutex<Option<Body>>>);

impl Slot {
    fn take(&self) -> Option<Body> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl http_body::Body for Slot {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(body) = slot.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            *slot = None;
        }
        polled
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().map_or_else(|| http_body::SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

/// Lingering close at the socket, once hyper is done with the connection (`socket` is a second
/// handle on it, so the socket stays open after hyper's is dropped): the write side is shut, so
/// the client sees the end of the answer, then whatever the client still sends is read and
/// dropped, up to [`MAX_DISCARDED_BYTES`], until it closes or for at most [`DISCARD_TIMEOUT`].
/// Only then is the socket closed, with nothing unread: no reset destroys the answer. A client
/// that closed first costs one read.
pub async fn close_lingering(socket: std::os::fd::OwnedFd) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let socket = std::net::TcpStream::from(socket);
    let Ok(mut socket) = socket.set_nonblocking(true).and_then(|()| tokio::net::TcpStream::from_std(socket))
    else {
        return;
    };
    let _ = socket.shutdown().await;
    let mut buffer = vec![0; 64 * 1024];
    let mut discarded = 0;
    let _ = tokio::time::timeout(DISCARD_TIMEOUT, async {
        while discarded < MAX_DISCARDED_BYTES {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => discarded += read as u64,
            }
        }
    })
    .await;
}
