//! The baggage keys the checkout services agree on. Baggage is W3C context that travels with a
//! request through every hop (shared-tracing reads and writes the header); what its entries mean
//! is the checkout's business, so their names live here.

/// The entry naming the customer behind a request. The gateway sets it (from the validated body,
/// never from a client's baggage), so any service can say whose request it is serving:
/// order-service's connection pool names the requests a waiter queued behind.
pub const CUSTOMER: &str = "customer.id";

// The entry that chooses a teaching scenario is `crate::scenario::BAGGAGE_KEY`, beside the scenarios.
