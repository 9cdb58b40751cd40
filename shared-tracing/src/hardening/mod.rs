//! Production hardening: a first reading can skip this module. Nothing here is needed to trace a
//! request; it is what keeps tracing cheap and safe when things go wrong, and it plugs in through
//! the SDK's own extension points, so the lesson path ([`crate::inbound`] → handler →
//! [`crate::outbound`] → export) never mentions it.
//!
//! - [`export_queue`]: the batch processor's queue watched, spans that would overflow it dropped
//!   and counted, a circuit breaker for a failing collector, and a rate-limited report (a
//!   `SpanProcessor` in front of the batch processor, and a `SpanExporter` around the OTLP one).
//! - [`shedding`]: while that queue refuses spans, new traces are not sampled (a `Sampler`).
//! - [`unsampled`]: a span the sampler would drop is not made, `tracing` or edge (a global filter
//!   layer, and a question `EdgeTracer` asks).
//! - [`edge_policy`]: at the edge, outside baggage kept only where allow-listed (an inbound
//!   layer, [`crate::inbound::traced_edge`]).
//! - [`remote_sampling`]: the remote sampler's backend down, said once instead of every poll (its
//!   HTTP client).
//! - [`redact`]: a rule the service gives (card numbers, say) applied to every finished span
//!   before it is queued (a `SpanProcessor`) and to every log line.
//!
//! BENCHMARKS.md measures what each one buys.

pub mod edge_policy;
pub mod export_queue;
pub mod redact;
pub mod remote_sampling;
pub mod shedding;
pub mod unsampled;
