//! Reading a service's own settings (ports, URLs, latencies, timeouts) from the environment.
//!
//! Each service has a typed `Config` built once in `main` with these helpers and passed down;
//! nothing reads the environment after start-up. Unlike the `OTEL_*` variables, a malformed
//! service setting is an error at start-up: a typo in `STRIPE_LATENCY_MS` should not go unnoticed.

use std::{str::FromStr, time::Duration};

/// A setting had a value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is invalid: {reason}")]
pub struct SettingError {
    name: String,
    value: String,
    reason: String,
}

/// A configuration that can be read from [`Settings`]: implement `from_settings`, get `from_env`.
pub trait FromSettings: Sized {
    /// Reads the configuration through `settings`.
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError>;

    /// Reads the configuration from the process environment.
    fn from_env() -> Result<Self, SettingError> {
        Self::from_settings(&Settings::from_env())
    }
}

/// Reads settings through a lookup function (the process environment, or a map in tests).
pub struct Settings<F> {
    lookup: F,
}

impl Settings<fn(&str) -> Option<String>> {
    /// Settings from the process environment.
    pub fn from_env() -> Self {
        Settings { lookup: |name| std::env::var(name).ok() }
    }
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    /// Settings from any lookup function.
    pub fn new(lookup: F) -> Self {
        Settings { lookup }
    }

    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The string value of `name`, or `default`.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    /// `name` parsed as `T`, or `default` when unset.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, SettingError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|e: T::Err| SettingError {
                name: name.to_owned(),
                reason: e.to_string(),
                value,
            }),
        }
    }

    /// `name` as whole milliseconds, or `default_ms`.
    pub fn millis(&self, name: &str, default_ms: u64) -> Result<Duration, SettingError> {
        self.parse(name, default_ms).map(Duration::from_millis)
    }

    /// `name` as a non-zero timeout in milliseconds, or `default_ms`. A zero timeout would fail
    /// every call at once, which is never what someone setting it meant.
    pub fn timeout_millis(&self, name: &str, default_ms: u64) -> Result<Duration, SettingError> {
        let d = self.millis(name, default_ms)?;
        if d.is_zero() {
            return Err(SettingError {
                name: name.to_owned(),
                value: "0".into(),
                reason: "a timeout must be at least 1 ms".into(),
            });
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &'static [(&'static str, &'static str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        Settings::new(move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn unset_and_empty_values_give_the_default() {
        let s = settings(&[("PORT", "")]);
        assert_eq!(s.parse::<u16>("PORT", 3000).expect("default"), 3000);
        assert_eq!(s.string("URL", "http://x"), "http://x");
    }

    #[test]
    fn a_malformed_number_is_an_error_that_names_the_variable() {
        let s = settings(&[("STRIPE_LATENCY_MS", "80ms")]);
        let e = s.millis("STRIPE_LATENCY_MS", 80).expect_err("not a number");
        assert!(e.to_string().starts_with("STRIPE_LATENCY_MS=\"80ms\" is invalid"), "{e}");
    }

    #[test]
    fn a_zero_timeout_is_rejected() {
        let s = settings(&[("PAYMENT_SERVICE_TIMEOUT_MS", "0")]);
        assert!(s.timeout_millis("PAYMENT_SERVICE_TIMEOUT_MS", 100).is_err());
    }
}
