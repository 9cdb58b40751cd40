//! The gateway's own tests, against its real binary with nothing behind it (order-service's URL
//! is a closed port): what its edge answers before any other service is involved, between two
//! processes' sockets, which one test process serving itself does not show. The stack's
//! end-to-end tests, which start all three services, are the `e2e` crate's.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::{
    net::SocketAddr,
    process::{ExitStatus, Stdio},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    process::{Child, Command},
};

/// Generous: it only decides how long a broken run takes to fail.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The gateway binary, started on a free port, its logs (JSON) read until it says where it listens.
struct Gateway {
    addr: SocketAddr,
    child: Child,
}

impl Gateway {
    async fn start() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OTEL_")) {
            command.env_remove(key);
        }
        command
            .envs([
                ("HOST", "127.0.0.1"),
                ("PORT", "0"),
                ("LOG_FORMAT", "json"),
                ("OTEL_SDK_DISABLED", "true"),
                ("ORDER_SERVICE_URL", "http://127.0.0.1:9"),
            ])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let log: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if log["message"] == "listening" {
                    return log["address"].as_str().unwrap().parse().unwrap();
                }
            }
            panic!("the gateway exited before it listened");
        })
        .await
        .expect("the gateway listens");
        // Keep reading its logs, so a full pipe never stalls it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { addr, child }
    }

    async fn stop(mut self) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::timeout(TIMEOUT, self.child.wait()).await.unwrap().unwrap()
    }
}

/// Writes all of `request` (head and body) before reading anything, as a client that does not
/// expect an early answer does, then reads the status line of the answer. `Err` says what the
/// client saw instead: a reset or a broken pipe.
async fn write_all_then_read(addr: SocketAddr, request: &[u8]) -> Result<String, String> {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.map_err(|e| format!("writing: {e}"))?;
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(TIMEOUT, socket.read(&mut answer))
        .await
        .map_err(|_| "no answer".to_owned())?
        .map_err(|e| format!("reading: {e}"))?;
    let answer = String::from_utf8_lossy(&answer[..read]);
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_uploads_a_3_mib_body_without_asking_first_still_reads_its_413() {
    // What Node's `fetch` and Python's urllib do: headers and body in one go, no
    // `Expect: 100-continue`, reading only once the whole body is written.
    let gateway = Gateway::start().await;
    for attempt in 0..3 {
        let length = 3 << 20;
        let mut request = format!(
            "POST /api/checkout HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
        )
        .into_bytes();
        request.resize(request.len() + length, b' ');
        let status = write_all_then_read(gateway.addr, &request).await;
        assert_eq!(status.as_deref(), Ok("HTTP/1.1 413 Payload Too Large"), "attempt {attempt}");
    }
    assert!(gateway.stop().await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_writes_a_whole_unrouted_or_malformed_body_before_reading_gets_its_4xx() {
    // Found by fuzzing: the gateway answered these at once, without reading the body, and closed;
    // the unread bytes made the kernel reset the connection, destroying the answer in flight.
    // Each row: what it is, the path, the headers after the request line, the body, the status.
    let chunked = "host: shop\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n";
    let json = "host: shop\r\ncontent-type: application/json\r\ncontent-length: 1048576\r\n";
    let text = "host: shop\r\ncontent-type: text/plain\r\ncontent-length: 1048576\r\n";
    // 1 MiB: more than the server's socket buffers hold, so unread bytes are left behind.
    let junk = "x".repeat(1 << 20);
    let rows: [(&str, &str, &str, &str, &str); 5] = [
        ("a chunked body not chunk-encoded, to a trailing slash", "/api/checkout/", chunked, &junk, "404"),
        ("a chunked body not chunk-encoded, to doubled slashes", "//api//checkout", chunked, &junk, "404"),
        ("a body to a path with no route", "/api/nowhere", json, &junk, "404"),
        ("a body to a route, with a method it does not take", "/api/checkout", json, &junk, "405"),
        ("a body of a type the route does not read", "/api/checkout", text, &junk, "415"),
    ];
    let gateway = Gateway::start().await;
    for (what, path, headers, body, status) in rows {
        let method = if status == "405" { "PUT" } else { "POST" };
        let request = format!("{method} {path} HTTP/1.1\r\n{headers}\r\n{body}");
        for attempt in 0..50 {
            let answer = write_all_then_read(gateway.addr, request.as_bytes()).await;
            let line = answer.unwrap_or_else(|e| panic!("{what}, attempt {attempt}: {e}"));
            assert!(line.starts_with(&format!("HTTP/1.1 {status}")), "{what}, attempt {attempt}: {line}");
        }
    }
    assert!(gateway.stop().await.success());
}
