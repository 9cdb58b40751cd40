//! Hostile input, one table: every row is a request a careless or malicious client might send,
//! with the answer the gateway must give. None may be a 5xx, none may hang, and every rejection
//! the application makes is a JSON error naming what is wrong. HOSTILE-INPUTS.md lists the same
//! table for people. The services run in this process, each behind the hardened serve loop its
//! `main` runs ([`InProcess`]), so the limits and timeouts tested are the binaries' own.

use std::time::Duration;

use crate::{in_process::InProcess, support::*};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const JSON: &str = "application/json";
const GOOD: &str = r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}],"card_token":"tok_visa"}"#;

/// What to send.
struct Probe {
    method: &'static str,
    path: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn post(content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Probe {
    let headers = content_type.map(|ct| vec![("content-type".to_owned(), ct.to_owned())]).unwrap_or_default();
    Probe { method: "POST", path: "/api/checkout", headers, body: body.into() }
}

fn json(body: impl Into<String>) -> Probe {
    post(Some(JSON), body.into())
}

fn with_header(name: &str, value: String) -> Probe {
    let mut probe = json(GOOD);
    probe.headers.push((name.to_owned(), value));
    probe
}

fn item(sku: &str, quantity: &str) -> String {
    format!(
        r#"{{"customer_id":"c","items":[{{"sku":"{sku}","quantity":{quantity}}}],"card_token":"tok_visa"}}"#
    )
}

/// `(what, probe, status, error code)`; `None` code: no JSON body is expected.
fn table() -> Vec<(&'static str, Probe, u16, Option<&'static str>)> {
    let many_items: Vec<String> = (0..51).map(|_| r#"{"sku":"sku-book","quantity":1}"#.to_owned()).collect();
    let long = "x".repeat(10_000);
    vec![
        ("a well-formed checkout (control)", json(GOOD), 201, None),
        ("no content type", post(None, GOOD), 415, Some("unsupported_media_type")),
        ("text/plain", post(Some("text/plain"), GOOD), 415, Some("unsupported_media_type")),
        (
            "application/xml",
            post(Some("application/xml"), "<checkout/>"),
            415,
            Some("unsupported_media_type"),
        ),
        ("JSON with a charset parameter", post(Some("application/json; charset=utf-8"), GOOD), 201, None),
        ("empty body", json(""), 400, Some("malformed_json")),
        ("truncated JSON", json(r#"{"customer_id": "c", "items": ["#), 400, Some("malformed_json")),
        (
            "invalid UTF-8",
            post(Some(JSON), b"{\"customer_id\":\"\xff\xfe\",\"items\":[]}".to_vec()),
            400,
            Some("malformed_json"),
        ),
        ("JSON null", json("null"), 422, Some("invalid_request")),
        ("a JSON array", json("[]"), 422, Some("invalid_request")),
        ("a JSON string", json(r#""checkout""#), 422, Some("invalid_request")),
        ("a JSON number", json("42"), 422, Some("invalid_request")),
        (
            "10 000 levels of nesting in an unknown field",
            json(format!(r#"{{"x":{}{},"customer_id":"c"}}"#, "[".repeat(10_000), "]".repeat(10_000))),
            422,
            Some("invalid_request"),
        ),
        (
            "10 000 levels of nesting in items",
            json(format!(
                r#"{{"customer_id":"c","items":{}{},"card_token":"t"}}"#,
                "[".repeat(10_000),
                "]".repeat(10_000)
            )),
            422,
            Some("invalid_request"),
        ),
        (
            "missing customer_id",
            json(r#"{"items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "customer_id is a number",
            json(r#"{"customer_id":7,"items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "customer_id is empty",
            json(r#"{"customer_id":"  ","items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "customer_id of 10 000 characters",
            json(format!(
                r#"{{"customer_id":"{long}","items":[{{"sku":"sku-book","quantity":1}}],"card_token":"t"}}"#
            )),
            422,
            Some("invalid_request"),
        ),
        (
            "items is an object",
            json(r#"{"customer_id":"c","items":{"sku":"sku-book"},"card_token":"t"}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "no items",
            json(r#"{"customer_id":"c","items":[],"card_token":"t"}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "51 items",
            json(format!(r#"{{"customer_id":"c","items":[{}],"card_token":"t"}}"#, many_items.join(","))),
            422,
            Some("invalid_request"),
        ),
        ("quantity 0", json(item("sku-book", "0")), 422, Some("invalid_request")),
        ("quantity -1", json(item("sku-book", "-1")), 422, Some("invalid_request")),
        ("quantity 101", json(item("sku-book", "101")), 422, Some("invalid_request")),
        ("quantity 10^20", json(item("sku-book", "100000000000000000000")), 422, Some("invalid_request")),
        ("quantity 1.5", json(item("sku-book", "1.5")), 422, Some("invalid_request")),
        ("quantity as a string", json(item("sku-book", r#""2""#)), 422, Some("invalid_request")),
        ("empty sku", json(item("", "1")), 422, Some("invalid_request")),
        ("sku of 10 000 characters", json(item(&long, "1")), 422, Some("invalid_request")),
        ("unknown sku", json(item("sku-unicorn", "1")), 422, Some("unknown_sku")),
        (
            "missing card_token",
            json(r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}]}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "empty card_token",
            json(r#"{"customer_id":"c","items":[{"sku":"sku-book","quantity":1}],"card_token":""}"#),
            422,
            Some("invalid_request"),
        ),
        (
            "card_token of 300 characters",
            json(format!(
                r#"{{"customer_id":"c","items":[{{"sku":"sku-book","quantity":1}}],"card_token":"{}"}}"#,
                "t".repeat(300)
            )),
            422,
            Some("invalid_request"),
        ),
        (
            "a duplicated key",
            json(
                r#"{"customer_id":"a","customer_id":"b","items":[{"sku":"sku-book","quantity":1}],"card_token":"t"}"#,
            ),
            422,
            Some("invalid_request"),
        ),
        (
            "unknown extra fields (ignored)",
            json(
                r#"{"customer_id":"c","admin":true,"items":[{"sku":"sku-book","quantity":1,"price":0}],"card_token":"t"}"#,
            ),
            201,
            None,
        ),
        (
            "GET instead of POST",
            Probe { method: "GET", path: "/api/checkout", headers: vec![], body: vec![] },
            405,
            Some("method_not_allowed"),
        ),
        ("PUT instead of POST", Probe { method: "PUT", ..json(GOOD) }, 405, Some("method_not_allowed")),
        (
            "an unknown path",
            Probe { path: "/api/checkout/../../etc/passwd", ..json(GOOD) },
            404,
            Some("not_found"),
        ),
        ("a garbage traceparent (ignored)", with_header("traceparent", "garbage".into()), 201, None),
        (
            "a 5 KB traceparent (ignored)",
            with_header("traceparent", format!("00-{}-b7ad6b7169203331-01", "a".repeat(5_000))),
            201,
            None,
        ),
        (
            "a tracestate of 100 members (over the W3C limit of 32)",
            {
                let mut probe = with_header(
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                );
                probe.headers.push((
                    "tracestate".into(),
                    (0..100).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(","),
                ));
                probe
            },
            201,
            None,
        ),
        (
            "a 20 KB baggage header (over the W3C limit of 8 KB)",
            with_header(
                "baggage",
                (0..200).map(|i| format!("k{i}={}", "v".repeat(100))).collect::<Vec<_>>().join(","),
            ),
            201,
            None,
        ),
        ("a malformed baggage header", with_header("baggage", "=;,,=x;;=".into()), 201, None),
        ("a 100 KB header value", with_header("x-padding", "a".repeat(100_000)), 201, None),
    ]
}

#[tokio::test]
async fn every_hostile_input_gets_its_expected_4xx_and_never_a_5xx() {
    let stack = InProcess::start(&[]).await;
    let client = http();
    let cases = table();
    assert!(cases.len() >= 30);
    // Two more rows (an oversized body, too many headers) are in the raw-socket test below.

    for (what, probe, status, code) in cases {
        let url = format!("{}{}", stack.url(), probe.path);
        let mut request = client.request(probe.method.parse().unwrap(), url).body(probe.body);
        for (name, value) in probe.headers {
            request = request.header(name, value);
        }
        let response = tokio::time::timeout(Duration::from_secs(20), request.send())
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(response.status().as_u16(), status, "{what}");
        if let Some(code) = code {
            let body: Value = response.json().await.unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
            assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{what}");
        }
    }
}

#[tokio::test]
async fn a_client_that_trickles_its_body_is_answered_408_when_the_request_timeout_passes() {
    let stack = InProcess::start(&[("REQUEST_TIMEOUT_MS", "300")]).await;

    // Announce 200 bytes, send 10, then go quiet.
    let mut socket = tokio::net::TcpStream::connect(stack.addr()).await.unwrap();
    let head = format!(
        "POST /api/checkout HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"customer",
        stack.addr()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), socket.read(&mut answer))
        .await
        .expect("the server must answer a stalled request, not wait for it forever")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    drop(socket);
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected_when_the_header_timeout_passes() {
    // The "slowloris" attack: open a connection, start a request, never finish the headers.
    let stack = InProcess::start(&[("REQUEST_TIMEOUT_MS", "300")]).await;

    let mut socket = tokio::net::TcpStream::connect(stack.addr()).await.unwrap();
    socket.write_all(b"POST /api/checkout HTTP/1.1\r\nhost: shop\r\nx-slow: ").await.unwrap();
    let mut answer = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(20), socket.read_to_end(&mut answer)).await;

    let closed = matches!(outcome, Ok(Ok(_)) | Ok(Err(_)));
    assert!(closed, "the server must close a connection whose headers never finish");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Sends `request` as raw bytes and reads one HTTP response: the head, then as many body bytes
/// as its `content-length` says (the server may keep the connection open afterwards).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let read = async {
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if answer.len() >= head_end + 4 + length {
                    return text;
                }
            }
            let n = socket.read(&mut chunk).await.unwrap();
            if n == 0 {
                return String::from_utf8_lossy(&answer).into_owned();
            }
            answer.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read).await.expect("the server must answer, not hang")
}

#[tokio::test]
async fn an_oversized_body_and_too_many_headers_are_refused_before_they_are_read() {
    // Over a raw socket, sending only the headers: a client that asks first
    // (`Expect: 100-continue`) is answered without sending its body, and so is one announcing more
    // than the server would read to let it see the answer.
    let stack = InProcess::start(&[]).await;
    let addr = stack.addr();

    // A 3 MiB body announced (limit 2 MiB), the client waiting for 100 Continue: refused from its
    // Content-Length alone.
    let oversized = format!(
        "POST /api/checkout HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        3 << 20
    );
    let answer = raw_exchange(addr, oversized.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");

    // 64 MiB announced without asking: more than the server reads to let a client see its answer,
    // so it answers at once and closes.
    let huge = format!(
        "POST /api/checkout HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        64 << 20
    );
    let answer = raw_exchange(addr, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");

    // 200 headers (limit 100): refused by the HTTP layer with 431, before any handler runs.
    let mut many = String::from("POST /api/checkout HTTP/1.1\r\nhost: shop\r\ncontent-length: 0\r\n");
    for i in 0..200 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw_exchange(addr, many.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}
