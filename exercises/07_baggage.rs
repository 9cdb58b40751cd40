//! # Exercise 7: baggage, carried across services, into an attribute
//!
//! Practises: `lessons/concepts.md`, "Baggage", as the scenarios use it: every service reads
//! the checkout's scenario from baggage (`support/checkout-domain/src/scenario.rs`).
//!
//! The gateway knows the customer's tier; order-service, two hops later, does not, and no
//! service passed it on by hand: it travels in the W3C `baggage` header, inside the context the
//! propagator extracts, beside the trace. Baggage is not on any span until a service puts it
//! there: a search for the gold customers' slow checkouts needs the tier as an attribute.
//!
//! Check it: `scripts/exercise.sh 7`. Start again: `scripts/exercise.sh --reset 7`.

use opentelemetry::Context;

/// The baggage entry the gateway sets, and the attribute it becomes here.
pub const TIER: &str = "customer.tier";

/// Puts the customer's tier, from the baggage in `request` (the context of the request, holding
/// its SERVER span), on that SERVER span as the attribute [`TIER`].
pub fn tag_customer(request: &Context) {
    // YOUR PART: `opentelemetry::baggage::BaggageExt` reads a context's baggage;
    // `opentelemetry::trace::TraceContextExt` gives its span.
    let _ = request;
}
