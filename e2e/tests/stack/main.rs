//! The stack's end-to-end tests, one binary, in two kinds:
//! - in process ([`in_process::InProcess`]): the three services' servers in this test process,
//!   their spans caught in memory, for trace shapes, scenarios, error mapping and hostile input
//!   (`scenarios`, `errors`, `hostile_input`);
//! - over real processes ([`support::Stack`]): the three service binaries exporting to a real OTLP
//!   receiver run by the test, for what only processes show (propagation over real HTTP between
//!   the binaries, logs, signals, collector trouble, idempotency across restarts, the scripts,
//!   compose, the page).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

mod canary;
mod collector_trouble;
mod crash;
mod docs;
mod e2e_checkout;
mod errors;
mod exporters;
mod fixes;
mod hostile_input;
mod in_process;
mod lint;
mod mistakes;
mod order_service;
mod orders;
mod production;
mod real_jaeger;
mod remote_sampling;
mod scenarios;
mod scripts;
mod settings;
mod web_page;
