//! # Exercise 8: sample a quarter of the new traces, and keep every trace whole (a solution)
//!
//! `OTEL_TRACES_SAMPLER=parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.25`, in code.

use opentelemetry_sdk::trace::Sampler;

/// order-service's sampler.
pub fn sampler() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25)))
}
