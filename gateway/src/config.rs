//! gateway settings, read once from the environment (see the README's table).

use std::time::Duration;

use service_kit::settings::{FromSettings, SettingError, Settings};

/// Everything the gateway can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`HOST`, default `127.0.0.1`: loopback only; the image sets `0.0.0.0`).
    pub host: String,
    /// Port to listen on (`PORT`, default 3000; 0 picks a free port).
    pub port: u16,
    /// The longest a request may take before it is answered 408 (`REQUEST_TIMEOUT_MS`, default 30000).
    pub request_timeout: Duration,
    /// Where order-service listens (`ORDER_SERVICE_URL`, default `http://127.0.0.1:3001`).
    pub order_service_url: String,
    /// Timeout of the whole call to order-service (`ORDER_SERVICE_TIMEOUT_MS`, default 10000).
    /// Longer than order-service's own timeout for payment-service, so the deepest failure is
    /// the one reported.
    pub order_service_timeout: Duration,
    /// Baggage keys accepted from clients (`BAGGAGE_ALLOWLIST`, comma-separated, default
    /// `scenario,mistake`); every other entry is dropped at the edge.
    pub baggage_allowlist: Vec<String>,
    /// The Jaeger UI that `trace_url` points to (`JAEGER_UI_URL`, default `http://localhost:16686`);
    /// none when it is `none` (a run without Jaeger, such as `scripts/run-local.sh`'s).
    pub jaeger_ui_url: Option<String>,
}

impl FromSettings for Config {
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError> {
        Ok(Self {
            host: settings.string("HOST", "127.0.0.1"),
            port: settings.parse("PORT", 3000)?,
            request_timeout: settings.timeout_millis("REQUEST_TIMEOUT_MS", 30_000)?,
            order_service_url: settings.string("ORDER_SERVICE_URL", "http://127.0.0.1:3001"),
            order_service_timeout: settings.timeout_millis("ORDER_SERVICE_TIMEOUT_MS", 10_000)?,
            baggage_allowlist: settings
                .string("BAGGAGE_ALLOWLIST", "scenario,mistake")
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            jaeger_ui_url: Some(settings.string("JAEGER_UI_URL", "http://localhost:16686"))
                .filter(|url| url != "none")
                .map(|url| url.trim_end_matches('/').to_owned()),
        })
    }
}
