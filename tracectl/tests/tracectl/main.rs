//! tracectl's integration tests, one binary: the real `tracectl` against a Jaeger played by the
//! test, and its OTLP receiver over real HTTP.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod cli;
mod receiver;
