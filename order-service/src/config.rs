//! order-service settings, read once from the environment (see the README's table).

use std::{path::PathBuf, str::FromStr, time::Duration};

use checkout_domain::{scenario::Fixes, simulate::Latency};
use service_kit::settings::{FromSettings, SettingError, Settings};

/// Everything order-service can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`HOST`, default `127.0.0.1`: loopback only; the image sets `0.0.0.0`).
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
    /// Simulated stock check of one item (`INVENTORY_MS`, default 40).
    pub inventory: Latency,
    /// How items are checked: all at once, or one after another (`INVENTORY_MODE`, `parallel`
    /// by default; `sequential` makes the N+1 staircase of the `sequential-inventory` scenario
    /// the service-wide behaviour).
    pub inventory_mode: InventoryMode,
    /// The SQLite file orders are stored in (`ORDER_DB_PATH`, default `data/orders.sqlite3`).
    pub db_path: PathBuf,
    /// Connections in the pool (`DB_POOL_SIZE`, default 4; 1 makes every request queue as in the
    /// `pool-contention` scenario).
    pub db_pool_size: usize,
    /// Simulated time of one query, on top of SQLite's own (`DB_QUERY_MS`, default 20).
    pub db_query: Latency,
    /// How long the `slow-db` scenario's sales report keeps its transaction open, and so, without
    /// the fix, how long the order's INSERT waits for the write lock (`SLOW_DB_MS`, default 1500).
    pub slow_db_report: Latency,
    /// Each step of printing a receipt, for the `guard-across-await` mistake only (`RECEIPT_MS`,
    /// default 30).
    pub receipt: Latency,
    /// The scenario fixes switched on (`FIXES`, e.g. `sequential-inventory,pool-contention`):
    /// order-service applies those two.
    pub fixes: Fixes,
    /// Test-only: how long to wait between the charge and the confirming UPDATE, so a test can
    /// kill the process in that window (`CRASH_WINDOW_BEFORE_CONFIRM_MS`, default 0).
    pub crash_window_before_confirm: Duration,
}

/// How the inventory of an order's items is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryMode {
    /// Every item at once: the order waits for the slowest.
    Parallel,
    /// One after another: the order waits for the sum (the N+1 pattern).
    Sequential,
}

impl FromStr for InventoryMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "parallel" => Ok(InventoryMode::Parallel),
            "sequential" => Ok(InventoryMode::Sequential),
            _ => Err("expected parallel or sequential".into()),
        }
    }
}

impl FromSettings for Config {
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError> {
        let jitter = settings.parse("SIM_JITTER_PERCENT", 20u8)?;
        Ok(Self {
            host: settings.string("HOST", "127.0.0.1"),
            port: settings.parse("PORT", 3001)?,
            request_timeout: settings.timeout_millis("REQUEST_TIMEOUT_MS", 30_000)?,
            payment_service_url: settings.string("PAYMENT_SERVICE_URL", "http://127.0.0.1:3002"),
            payment_service_timeout: settings.timeout_millis("PAYMENT_SERVICE_TIMEOUT_MS", 8_000)?,
            validation: Latency::from_millis(settings.parse("ORDER_VALIDATION_MS", 50)?, jitter),
            inventory: Latency::from_millis(settings.parse("INVENTORY_MS", 40)?, jitter),
            inventory_mode: settings.parse("INVENTORY_MODE", InventoryMode::Parallel)?,
            db_path: settings.string("ORDER_DB_PATH", "data/orders.sqlite3").into(),
            db_pool_size: settings.parse("DB_POOL_SIZE", 4usize)?.max(1),
            db_query: Latency::from_millis(settings.parse("DB_QUERY_MS", 20)?, jitter),
            slow_db_report: Latency::from_millis(settings.parse("SLOW_DB_MS", 1_500)?, jitter),
            receipt: Latency::from_millis(settings.parse("RECEIPT_MS", 30)?, jitter),
            crash_window_before_confirm: settings.millis("CRASH_WINDOW_BEFORE_CONFIRM_MS", 0)?,
            fixes: settings.parse("FIXES", Fixes::default())?,
        })
    }
}
