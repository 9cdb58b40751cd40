//! # Exercise 2: send the context of the call, not of its caller
//!
//! Practises: `lessons/no-propagation.md`, from the caller's side, and `lessons/concepts.md`,
//! "Span kinds" (`shared-tracing/src/outbound.rs` does this for the services).
//!
//! order-service calls payment-service inside its own SERVER span. The call is a CLIENT span of
//! its own; the context sent in the request's headers must be *that span's*, so that
//! payment-service's SERVER span becomes the child of the call. Sending the context that is
//! current (the SERVER span's) makes it the call's sibling: the mistake the OpenTelemetry demo's
//! own Rust service once made (open-telemetry/opentelemetry-demo#1318). Sending nothing splits the
//! checkout in two traces.
//!
//! Check it: `scripts/exercise.sh 2`. Start again: `scripts/exercise.sh --reset 2`.

use http::HeaderMap;
use opentelemetry::Context;

/// Puts into `headers` the context the request of the call `call` (a context holding its CLIENT
/// span) must carry.
pub fn inject(call: &Context, headers: &mut HeaderMap) {
    // YOUR PART: write `call`'s context into `headers` with the propagator the service installed
    // (`opentelemetry::global::get_text_map_propagator`, and `opentelemetry_http::HeaderInjector`).
    let _ = (call, headers);
}
