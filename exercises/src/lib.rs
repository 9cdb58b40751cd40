//! Your turn: small pieces of a traced service where you write the instrumentation, and the trace
//! it makes is the grade. Start at `lessons/your-turn.md`.
//!
//! # Layout
//! - `exercises/NN_*.rs`: the exercises, yours to edit (the part to write is marked `YOUR PART`);
//!   compiled as [`yours`].
//! - `exercises/solutions/NN_*.rs`: a solution to each, same file names; compiled as
//!   [`solutions`], in the same build, so one build checks either.
//! - [`lab`]: where an exercise runs (OpenTelemetry as a service sets it up, exporting to memory).
//! - [`checks`]: each exercise's check: what it runs, the shape its trace must have, what is
//!   wrong when it does not, and a hint.
//! - `src/main.rs`: the `exercise` command `scripts/exercise.sh` runs.
//!
//! The exercises use the OpenTelemetry API directly (a propagator's `inject` and `extract`, a
//! span's status) where shared-tracing would hide the point; that is why the rule that only
//! shared-tracing touches trace headers exempts this crate (ARCHITECTURE.md).

pub mod checks;
pub mod lab;

pub mod solutions;
pub mod yours;
