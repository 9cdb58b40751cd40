//! # Exercise 1: continue the caller's trace
//!
//! Practises: `lessons/no-propagation.md`, from the callee's side, and `lessons/concepts.md`,
//! "Parent and context".
//!
//! payment-service's middleware starts a SERVER span for every request it serves, as a child of
//! the context this function returns. The caller (order-service) sends the context of its CLIENT
//! span in the request's `traceparent` header; read it, or every request payment-service serves
//! starts a trace of its own.
//!
//! Check it: `scripts/exercise.sh 1`. Start again: `scripts/exercise.sh --reset 1`.

use http::HeaderMap;
use opentelemetry::Context;

/// The caller's context, read from the request's `headers`: the parent of the SERVER span.
pub fn caller_context(headers: &HeaderMap) -> Context {
    // YOUR PART: read the context the caller sent in `headers`, with the propagator the service
    // installed (`opentelemetry::global::get_text_map_propagator`); `opentelemetry_http` has a
    // `HeaderExtractor` that lets a propagator read an `http::HeaderMap`.
    let _ = headers;
    Context::new()
}
