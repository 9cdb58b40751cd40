//! The gateway's integration tests, one binary: the three real service binaries started as
//! processes, exporting to a real OTLP receiver run by the test, for what only real processes
//! show (propagation over real HTTP, signals, collector trouble, the scripts, compose, the page).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

mod canary;
mod collector_trouble;
mod compose_file;
mod e2e_checkout;
mod hostile_input;
mod in_process;
mod orders;
mod production;
mod scenarios;
mod scripts;
mod web_page;
