//! # Exercise 8: sample a quarter of the new traces, and keep every trace whole
//!
//! Practises: `lessons/head-sampling.md`.
//!
//! order-service is called by the gateway, which decides whether a checkout is traced and says
//! so in the `traceparent` flags. A sampler that decides again in order-service (a ratio of its
//! own, or "always") keeps half-traces: the gateway's spans without order-service's, or
//! order-service's without the gateway's root. The traces order-service itself starts (no
//! caller) are its own to sample: a quarter of them.
//!
//! Check it: `scripts/exercise.sh 8`. Start again: `scripts/exercise.sh --reset 8`.

use opentelemetry_sdk::trace::Sampler;

/// order-service's sampler.
pub fn sampler() -> Sampler {
    // YOUR PART: the SDK's samplers compose: one follows a parent's decision and asks another
    // only for a root; another keeps a ratio of the trace ids.
    Sampler::AlwaysOn
}
