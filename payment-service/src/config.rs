//! payment-service settings, read once from the environment (see the README's table).

use std::time::Duration;

use checkout_domain::{scenario::Fixes, simulate::Latency};
use service_kit::settings::{FromSettings, SettingError, Settings};

/// Everything payment-service can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`HOST`, default `127.0.0.1`: loopback only; the image sets `0.0.0.0`).
    pub host: String,
    /// Port to listen on (`PORT`, default 3002; 0 picks a free port).
    pub port: u16,
    /// The longest a request may take before it is answered 408 (`REQUEST_TIMEOUT_MS`, default 30000).
    pub request_timeout: Duration,
    /// Simulated fraud screening (`FRAUD_CHECK_MS`, default 100).
    pub fraud_check: Latency,
    /// Simulated Stripe response time (`STRIPE_LATENCY_MS`, default 80).
    pub stripe_latency: Latency,
    /// Stripe's response time in the `slow-stripe` scenario (`STRIPE_SLOW_LATENCY_MS`, default 3000).
    pub stripe_slow_latency: Latency,
    /// How long one call to Stripe may take (`STRIPE_TIMEOUT_MS`, default 1500).
    pub stripe_timeout: Duration,
    /// Most attempts per charge (`STRIPE_MAX_ATTEMPTS`, default 3).
    pub stripe_max_attempts: u32,
    /// Backoff before the first retry, doubling after (`STRIPE_RETRY_BACKOFF_MS`, default 250).
    pub stripe_retry_backoff: Duration,
    /// Percent of Stripe attempts answered 503, for every request (`STRIPE_FAILURE_PERCENT`,
    /// default 0): a flaky dependency that retries mostly hide.
    pub stripe_failure_percent: u8,
    /// Percent of charges Stripe declines, for every request (`STRIPE_DECLINE_PERCENT`, default 0).
    pub stripe_decline_percent: u8,
    /// The scenario fixes switched on (`FIXES`): payment-service applies `slow-stripe` (a
    /// timeout sized to Stripe's real latency) and `stripe-outage` (a circuit breaker).
    pub fixes: Fixes,
    /// The slow-stripe fix's per-attempt timeout (`STRIPE_FIXED_TIMEOUT_MS`, default 300: about
    /// four times Stripe's usual answer, instead of 1.5 s).
    pub stripe_fixed_timeout: Duration,
    /// How long the stripe-outage fix's breaker stays open (`STRIPE_BREAKER_COOLDOWN_MS`, 10000).
    pub stripe_breaker_cooldown: Duration,
    /// The simulated Stripe's ledger, a SQLite file that outlives payment-service
    /// (`STRIPE_LEDGER_PATH`, default `data/stripe-ledger.sqlite3`; `:memory:` for none).
    pub stripe_ledger_path: std::path::PathBuf,
    /// Test-only: how long to wait after Stripe charged before answering, so a test can kill the
    /// process in that window (`CRASH_WINDOW_AFTER_CHARGE_MS`, default 0).
    pub crash_window_after_charge: Duration,
}

impl FromSettings for Config {
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError> {
        let jitter = settings.parse("SIM_JITTER_PERCENT", 20u8)?;
        Ok(Self {
            host: settings.string("HOST", "127.0.0.1"),
            port: settings.parse("PORT", 3002)?,
            request_timeout: settings.timeout_millis("REQUEST_TIMEOUT_MS", 30_000)?,
            fraud_check: Latency::from_millis(settings.parse("FRAUD_CHECK_MS", 100)?, jitter),
            stripe_latency: Latency::from_millis(settings.parse("STRIPE_LATENCY_MS", 80)?, jitter),
            stripe_slow_latency: Latency::from_millis(
                settings.parse("STRIPE_SLOW_LATENCY_MS", 3_000)?,
                jitter,
            ),
            stripe_timeout: settings.timeout_millis("STRIPE_TIMEOUT_MS", 1_500)?,
            stripe_max_attempts: settings.parse("STRIPE_MAX_ATTEMPTS", 3u32)?.max(1),
            stripe_retry_backoff: settings.millis("STRIPE_RETRY_BACKOFF_MS", 250)?,
            stripe_failure_percent: percent(settings, "STRIPE_FAILURE_PERCENT")?,
            stripe_decline_percent: percent(settings, "STRIPE_DECLINE_PERCENT")?,
            fixes: settings.parse("FIXES", Fixes::default())?,
            stripe_fixed_timeout: settings.timeout_millis("STRIPE_FIXED_TIMEOUT_MS", 300)?,
            stripe_breaker_cooldown: settings.millis("STRIPE_BREAKER_COOLDOWN_MS", 10_000)?,
            stripe_ledger_path: settings.string("STRIPE_LEDGER_PATH", "data/stripe-ledger.sqlite3").into(),
            crash_window_after_charge: settings.millis("CRASH_WINDOW_AFTER_CHARGE_MS", 0)?,
        })
    }
}

/// A percentage setting, 0 to 100, default 0.
fn percent<F: Fn(&str) -> Option<String>>(settings: &Settings<F>, name: &str) -> Result<u8, SettingError> {
    let value = settings.parse(name, 0u8)?;
    if value > 100 {
        return Err(SettingError::new(name, value.to_string(), "a percentage is 0 to 100"));
    }
    Ok(value)
}
