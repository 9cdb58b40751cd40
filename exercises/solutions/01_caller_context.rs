//! # Exercise 1: continue the caller's trace (a solution)
//!
//! The global propagator reads `traceparent` (and `tracestate`, and `baggage`) into a context
//! whose span is the caller's CLIENT span, remote: the SERVER span started in it is its child.

use http::HeaderMap;
use opentelemetry::{Context, global};
use opentelemetry_http::HeaderExtractor;

/// The caller's context, read from the request's `headers`: the parent of the SERVER span.
pub fn caller_context(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}
