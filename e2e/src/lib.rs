//! The stack's end-to-end tests, in `tests/stack/`: whatever needs more than one service, or the
//! real binaries, or the scripts and pages a reader follows. One test binary, two kinds:
//! - in process: the three services' routers served in the test process, their spans caught in
//!   memory (trace shapes, scenarios, error mapping, hostile input);
//! - real processes: the three service binaries exporting to a real OTLP receiver the test runs
//!   (`tracectl`'s), for what only processes show: propagation over real HTTP, logs, signals,
//!   collector trouble, crashes, `scripts/*.sh`, every page's commands, the teaching page in
//!   headless Chromium.
//!
//! Run them with the rest, `cargo test --workspace`: it builds the binaries these tests start
//! (cargo builds a package's binary for that package's own integration tests, which every
//! service and tool has). A service's own tests are in the service; the repository's checks,
//! which read files and start nothing, are the `checks` crate's.
