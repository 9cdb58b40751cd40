//! The example service, run for real: its binary started as a process, called over HTTP, stopped
//! with SIGTERM. What the README promises a reader who copies it: one trace across a call
//! (SERVER → `ask_downstream` → CLIENT → the callee's SERVER → `greet`), every span flushed at
//! shutdown (`otlp`); and the README's copy guide, followed word for word in a crate outside this
//! workspace, printing its spans with the console exporter (`copy_guide`).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod copy_guide;
mod otlp;

use std::process::Stdio;

use tokio::{
    io::{AsyncBufReadExt as _, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

/// `binary`, started with `env` on a port the OS picks, its stdout read line by line; and the
/// address it listens on, from its "listening" log line.
pub async fn start(
    binary: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, Lines<BufReader<ChildStdout>>, String) {
    let mut child = Command::new(binary)
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next_line().await.unwrap().expect("the service exited before listening");
        if let Some((_, rest)) = line.split_once("address=") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, lines, address)
}

/// SIGTERM, then the exit status: the service drains and flushes first.
pub async fn stop(child: &mut Child) -> std::process::ExitStatus {
    use nix::{sys::signal, unistd::Pid};
    signal::kill(Pid::from_raw(child.id().unwrap() as i32), signal::Signal::SIGTERM).unwrap();
    child.wait().await.unwrap()
}
