//! tracectl: read traces without leaving the terminal, with or without Jaeger.
//!
//! # Layout
//! - [`model`]: one span model built from OTLP (protobuf or OTLP/JSON), whatever sent it.
//! - [`receiver`]: an OTLP/HTTP receiver (`POST /v1/traces`) that keeps what it receives in a
//!   bounded [`receiver::SpanStore`]. The end-to-end tests of the services use it as their
//!   collector, so the project has one receiver, exercised by every test run.
//! - [`grpc`]: the same receiver over OTLP/gRPC (`TraceService/Export`, port 4317 by convention).
//! - [`count`]: spans per trace counted from the wire, for `listen --stats` in benchmarks.
//! - [`listen`]: `tracectl listen`, the receiver printing each trace as a waterfall once it is quiet.
//! - [`trace`]: spans assembled into a tree: orphans kept, cycles broken, clock skew corrected.
//! - [`waterfall`]: a trace drawn as an indented tree with bars on a shared time axis.
//! - [`analyze`]: critical path, self time, bottlenecks, error origin and untraced gaps.
//! - [`report`]: analyses and search results as text for a terminal.
//! - [`jaeger`]: a client of Jaeger's `/api/v3` query API (`show`, `analyze`, `search`, `services`, `operations`).

pub mod analyze;
pub mod compare;
pub mod count;
pub mod grpc;
pub mod jaeger;
pub mod lint;
pub mod listen;
pub mod model;
pub mod receiver;
pub mod report;
pub mod store;
pub mod trace;
pub mod waterfall;
