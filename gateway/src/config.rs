//! gateway settings, read once from the environment (see the README's table).

use std::time::Duration;

use shared_tracing::settings::{FromSettings, SettingError, Settings};

/// Everything the gateway can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`HOST`, default `0.0.0.0`).
    pub host: String,
    /// Port to listen on (`PORT`, default 3000; 0 picks a free port).
    pub port: u16,
    /// Where order-service listens (`ORDER_SERVICE_URL`, default `http://127.0.0.1:3001`).
    pub order_service_url: String,
    /// Timeout of the whole call to order-service (`ORDER_SERVICE_TIMEOUT_MS`, default 10000).
    /// Longer than order-service's own timeout for payment-service, so the deepest failure is
    /// the one reported.
    pub order_service_timeout: Duration,
    /// The Jaeger UI that `trace_url` points to (`JAEGER_UI_URL`, default `http://localhost:16686`).
    pub jaeger_ui_url: String,
}

impl FromSettings for Config {
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError> {
        Ok(Self {
            host: settings.string("HOST", "0.0.0.0"),
            port: settings.parse("PORT", 3000)?,
            order_service_url: settings.string("ORDER_SERVICE_URL", "http://127.0.0.1:3001"),
            order_service_timeout: settings.timeout_millis("ORDER_SERVICE_TIMEOUT_MS", 10_000)?,
            jaeger_ui_url: settings
                .string("JAEGER_UI_URL", "http://localhost:16686")
                .trim_end_matches('/')
                .to_owned(),
        })
    }
}
