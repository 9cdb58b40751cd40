//! order-service settings, read once from the environment (see the README's table).

use std::time::Duration;

use shared_tracing::{
    settings::{FromSettings, SettingError, Settings},
    simulate::Latency,
};

/// Everything order-service can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`HOST`, default `0.0.0.0`).
    pub host: String,
    /// Port to listen on (`PORT`, default 3001; 0 picks a free port).
    pub port: u16,
    /// The longest a request may take before it is answered 408 (`REQUEST_TIMEOUT_MS`, default 30000).
    pub request_timeout: Duration,
    /// Where payment-service listens (`PAYMENT_SERVICE_URL`, default `http://127.0.0.1:3002`).
    pub payment_service_url: String,
    /// Timeout of the whole call to payment-service (`PAYMENT_SERVICE_TIMEOUT_MS`, default 8000).
    pub payment_service_timeout: Duration,
    /// Simulated order validation (`ORDER_VALIDATION_MS`, default 50).
    pub validation: Latency,
    /// Simulated inventory and pricing lookups (`INVENTORY_MS`, default 40).
    pub inventory: Latency,
}

impl FromSettings for Config {
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError> {
        let jitter = settings.parse("SIM_JITTER_PERCENT", 20u8)?;
        Ok(Self {
            host: settings.string("HOST", "0.0.0.0"),
            port: settings.parse("PORT", 3001)?,
            request_timeout: settings.timeout_millis("REQUEST_TIMEOUT_MS", 30_000)?,
            payment_service_url: settings.string("PAYMENT_SERVICE_URL", "http://127.0.0.1:3002"),
            payment_service_timeout: settings.timeout_millis("PAYMENT_SERVICE_TIMEOUT_MS", 8_000)?,
            validation: Latency::from_millis(settings.parse("ORDER_VALIDATION_MS", 50)?, jitter),
            inventory: Latency::from_millis(settings.parse("INVENTORY_MS", 40)?, jitter),
        })
    }
}
