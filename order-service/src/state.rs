//! The state every request handler can reach: built by [`crate::startup`], read by the
//! handlers, so that neither imports the other.

use std::sync::Arc;

use shared_tracing::outbound::TracedClient;

use crate::{
    config::Config,
    db::Database,
    in_flight::InFlight,
    mistakes::{KeptSpans, Receipts},
};

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's configuration.
    pub config: Arc<Config>,
    /// The traced client for payment-service.
    pub payments: TracedClient,
    /// Where orders are stored.
    pub db: Database,
    /// The orders this process is working on (see [`crate::in_flight`]).
    pub in_flight: InFlight,
    /// This process's id, recorded as the owner of the pending orders it works on.
    pub instance: Arc<str>,
    /// An HTTP client that traces nothing, for the `no-propagation` mistake only.
    pub plain_http: reqwest::Client,
    /// Where the `unended-span` mistake keeps its spans.
    pub kept_spans: KeptSpans,
    /// The receipt printer of the `guard-across-await` mistake.
    pub receipts: Receipts,
}
