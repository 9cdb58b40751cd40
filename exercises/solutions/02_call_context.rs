//! # Exercise 2: send the context of the call, not of its caller (a solution)
//!
//! `inject_context` with the call's context, not `inject`, which writes the *current* context:
//! the caller's SERVER span, which would make payment-service's span the call's sibling.

use http::HeaderMap;
use opentelemetry::{Context, global};
use opentelemetry_http::HeaderInjector;

/// Puts into `headers` the context the request of the call `call` (a context holding its CLIENT
/// span) must carry.
pub fn inject(call: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(call, &mut HeaderInjector(headers))
    });
}
