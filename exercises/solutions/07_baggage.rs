//! # Exercise 7: baggage, carried across services, into an attribute (a solution)

use opentelemetry::{Context, KeyValue, baggage::BaggageExt as _, trace::TraceContextExt as _};

/// The baggage entry the gateway sets, and the attribute it becomes here.
pub const TIER: &str = "customer.tier";

/// Puts the customer's tier, from the baggage in `request` (the context of the request, holding
/// its SERVER span), on that SERVER span as the attribute [`TIER`].
pub fn tag_customer(request: &Context) {
    if let Some(tier) = request.baggage().get(TIER) {
        request.span().set_attribute(KeyValue::new(TIER, tier.to_string()));
    }
}
