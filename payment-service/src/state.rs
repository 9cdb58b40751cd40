//! The state every request handler can reach: built by [`crate::startup`], read by the
//! handlers, so that neither imports the other.

use std::sync::Arc;

use crate::{config::Config, stripe::SimulatedStripe};

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's configuration.
    pub config: Arc<Config>,
    /// The Stripe client.
    pub stripe: SimulatedStripe,
}
