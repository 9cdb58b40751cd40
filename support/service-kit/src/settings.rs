//! Reading a service's own settings (ports, URLs, latencies, timeouts) from the environment.
//!
//! Each service has a typed `Config` built once in `main` with these helpers and passed down;
//! nothing reads the environment after start-up. Unlike the `OTEL_*` variables, a malformed
//! service setting is an error at start-up: a typo in `STRIPE_LATENCY_MS` should not go unnoticed.

use std::{cell::RefCell, str::FromStr, time::Duration};

/// A setting had a value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is invalid: {reason}")]
pub struct SettingError {
    name: String,
    value: String,
    reason: String,
}

impl SettingError {
    /// `name=value` is invalid because of `reason`.
    pub fn new(name: &str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { name: name.to_owned(), value: value.into(), reason: reason.into() }
    }
}

/// A configuration that can be read from [`Settings`]: implement `from_settings`, get `from_env`.
pub trait FromSettings: Sized {
    /// Reads the configuration through `settings`.
    fn from_settings<F: Fn(&str) -> Option<String>>(settings: &Settings<F>) -> Result<Self, SettingError>;

    /// Reads the configuration from the process environment, and logs once each setting that
    /// differs from its default (like HotROD's fix flags, a switched default should be visible).
    fn from_env() -> Result<Self, SettingError> {
        let settings = Settings::from_env();
        let config = Self::from_settings(&settings)?;
        for (name, value) in settings.changed() {
            tracing::info!(setting = %name, value = %value, "Non-default setting {name}={value}");
        }
        Ok(config)
    }
}

/// Reads settings through a lookup function (the process environment, or a map in tests).
pub struct Settings<F> {
    lookup: F,
    /// Settings read with a value other than their default, in the order read.
    changed: RefCell<Vec<(String, String)>>,
}

impl Settings<fn(&str) -> Option<String>> {
    /// Settings from the process environment.
    pub fn from_env() -> Self {
        Settings::new(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    /// Settings from any lookup function.
    pub fn new(lookup: F) -> Self {
        Settings { lookup, changed: RefCell::default() }
    }

    /// Every setting read so far whose value differs from its default: `(name, value)`, once each.
    pub fn changed(&self) -> Vec<(String, String)> {
        self.changed.borrow().clone()
    }

    fn note_changed(&self, name: &str, value: &str) {
        let mut changed = self.changed.borrow_mut();
        if !changed.iter().any(|(n, _)| n == name) {
            changed.push((name.to_owned(), value.to_owned()));
        }
    }

    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The string value of `name`, or `default`.
    pub fn string(&self, name: &str, default: &str) -> String {
        match self.raw(name) {
            Some(value) => {
                if value != default {
                    self.note_changed(name, &value);
                }
                value
            }
            None => default.to_owned(),
        }
    }

    /// `name` parsed as `T`, or `default` when unset.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, SettingError>
    where
        T: FromStr + PartialEq,
        T::Err: std::fmt::Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(value) => {
                let parsed = value.parse().map_err(|e: T::Err| SettingError {
                    name: name.to_owned(),
                    reason: e.to_string(),
                    value: value.clone(),
                })?;
                if parsed != default {
                    self.note_changed(name, &value);
                }
                Ok(parsed)
            }
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
    fn settings_that_differ_from_their_default_are_noted_once_each() {
        let s = settings(&[("PORT", "3000"), ("DB_POOL_SIZE", "1"), ("HOST", "127.0.0.1"), ("X", "a")]);
        assert_eq!(s.parse::<u16>("PORT", 3000).expect("valid"), 3000);
        assert_eq!(s.parse::<usize>("DB_POOL_SIZE", 4).expect("valid"), 1);
        assert_eq!(s.parse::<usize>("DB_POOL_SIZE", 4).expect("valid"), 1);
        assert_eq!(s.string("HOST", "0.0.0.0"), "127.0.0.1");
        assert_eq!(s.string("X", "a"), "a");
        let _ = s.parse::<u64>("UNSET", 5);
        assert_eq!(
            s.changed(),
            [("DB_POOL_SIZE".to_owned(), "1".to_owned()), ("HOST".to_owned(), "127.0.0.1".to_owned())]
        );
    }

    #[test]
    fn a_zero_timeout_is_rejected() {
        let s = settings(&[("PAYMENT_SERVICE_TIMEOUT_MS", "0")]);
        assert!(s.timeout_millis("PAYMENT_SERVICE_TIMEOUT_MS", 100).is_err());
    }
}
