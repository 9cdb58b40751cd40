//! Which orders this process is working on right now: what tells an order still in progress (a
//! retry gets 409) from one whose attempt died (a retry resumes it).
//!
//! A pending order is owned by the request working on it, and this registry, in memory, is that
//! ownership: a request claims its order before it stores or resumes it, and the claim ends with
//! the request, answered, failed or cancelled (its future dropped when the caller went away).
//! After a crash and a restart the registry is empty, so every pending order in the database is
//! abandoned, and the next retry with its `Idempotency-Key` resumes it at once, with no lease to
//! wait out. That holds for one order-service per database file, which a local SQLite file
//! implies; two processes on one file would each take the other's pending orders for abandoned
//! (a lease renewed in the row would be the design for that).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

/// The orders being worked on in this process.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

/// A request's hold on its order; dropping it (however the request ends) lets the order go.
#[derive(Debug)]
pub struct Claim {
    registry: InFlight,
    order_id: String,
}

impl InFlight {
    /// Claims `order_id` for the calling request; `None` if a request of this process holds it.
    pub fn claim(&self, order_id: &str) -> Option<Claim> {
        let fresh = self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(order_id.to_owned());
        fresh.then(|| Claim { registry: self.clone(), order_id: order_id.to_owned() })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.registry.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.order_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_held_by_one_request_until_it_ends() {
        let in_flight = InFlight::default();
        let first = in_flight.claim("ord_1").expect("free");
        assert!(in_flight.claim("ord_1").is_none(), "held");
        assert!(in_flight.claim("ord_2").is_some(), "another order is free");
        drop(first);
        assert!(in_flight.claim("ord_1").is_some(), "let go when the request ends");
    }
}
