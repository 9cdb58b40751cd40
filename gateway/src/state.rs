//! The state every request handler can reach: built by [`crate::startup`], read by the
//! handlers, so that neither imports the other.

use std::sync::Arc;

use shared_tracing::outbound::TracedClient;

use crate::config::Config;

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's configuration.
    pub config: Arc<Config>,
    /// The traced client for order-service.
    pub orders: TracedClient,
}
