//! Teaching scenarios: production failures a learner can trigger per request, and then see.
//!
//! A scenario is chosen by the W3C baggage entry `scenario=<name>` (the gateway also turns
//! `?scenario=<name>` into that entry). Downstream services read it from baggage only: that is
//! the lesson, since context set at the edge travels with the request through every hop without
//! any service passing it on by hand. [`ScenarioStamp`] puts `demo.scenario` on every
//! span of such a request, in every service, so a trace says which experiment it was.

use std::{str::FromStr, time::Duration};

use opentelemetry::{Context, KeyValue, baggage::BaggageExt as _, trace::Span as _};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{Span, SpanData, SpanProcessor},
};

use crate::switch::lesson_switch;

/// The baggage key that selects a scenario.
pub const BAGGAGE_KEY: &str = "scenario";
/// The span attribute that names it.
pub const ATTRIBUTE: &str = "demo.scenario";

lesson_switch! {
    /// A failure shape to reproduce.
    pub enum Scenario(kind = "scenario", key = BAGGAGE_KEY, error = UnknownScenario) {
        /// The default path.
        Happy = "happy":
            "The normal checkout: one trace across gateway, order-service, payment-service and Stripe.",
        /// Stripe answers slower than payment-service waits; it retries with backoff and succeeds.
        SlowStripe = "slow-stripe":
            "Stripe answers slower than payment-service waits: timed-out attempts, retries with backoff, and a checkout that takes seconds; the trace shows where they went.",
        /// Every call to Stripe fails; the checkout fails naming the payment dependency.
        StripeOutage = "stripe-outage":
            "Every call to Stripe fails: the error starts at the Stripe client spans and climbs through every level to a 503.",
        /// Stripe declines the card: a business refusal (402), not a failure.
        CardDeclined = "card-declined":
            "Stripe declines the card: a 402 business refusal that travels back up, with no server error anywhere.",
        /// The inventory check rejects the order (409); payment is never called.
        OutOfStock = "out-of-stock":
            "The inventory check rejects the order with 409: the trace stops at order-service, and payment-service never appears.",
        /// The order insert is slow and dominates the trace.
        SlowDb = "slow-db":
            "The order insert waits for the write lock a back-office report holds: one database span takes most of the checkout, and its link points at the report.",
        /// Inventory is checked item by item instead of in parallel: a staircase of spans (N+1).
        SequentialInventory = "sequential-inventory":
            "Stock is checked one item after another instead of all at once: a staircase of spans, the N+1 pattern.",
        /// The order database has one connection: concurrent checkouts queue for it.
        PoolContention = "pool-contention":
            "The order database has a single connection: under concurrent load, checkouts queue for it, and a waiting span names the request it waited behind.",
    }
}

/// The scenarios whose fix is switched on (`FIXES=slow-stripe,pool-contention`, or `all`): each
/// service applies the fixes that concern it, to every request, so the same scenario sent again
/// shows the fixed trace (the README's lessons compare the two with `tracectl compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fixes(u16);

impl Fixes {
    /// The scenarios that have a fix. A declined card and an empty shelf are answers, not
    /// defects.
    pub const FIXABLE: [Scenario; 5] = [
        Scenario::SlowStripe,
        Scenario::StripeOutage,
        Scenario::SlowDb,
        Scenario::SequentialInventory,
        Scenario::PoolContention,
    ];

    /// Whether the fix for `scenario` is on.
    pub fn has(self, scenario: Scenario) -> bool {
        self.0 & (1 << scenario as u16) != 0
    }
}

impl FromStr for Fixes {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let fixable = || Fixes::FIXABLE.map(Scenario::name).join(", ");
        let mut fixes = Fixes::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                Fixes::FIXABLE.iter().for_each(|s| fixes.0 |= 1 << *s as u16);
                continue;
            }
            let scenario: Scenario = name.parse().map_err(|e: UnknownScenario| e.to_string())?;
            if !Fixes::FIXABLE.contains(&scenario) {
                return Err(format!("{name} has no fix; the scenarios with one are: {}", fixable()));
            }
            fixes.0 |= 1 << scenario as u16;
        }
        Ok(fixes)
    }
}

/// Exponential backoff: `base`, `2·base`, `4·base`, … for retry `n` (1-based).
pub fn backoff(base: Duration, retry: u32) -> Duration {
    base.saturating_mul(1 << retry.saturating_sub(1).min(16))
}

/// A span processor that stamps `demo.scenario` on every span whose parent context carries a
/// valid scenario in baggage (and `demo.mistake`, for a valid mistake). The service adds it to its
/// telemetry ahead of the exporters (`Telemetry::builder(..).with_span_processor(|| ScenarioStamp)`),
/// so every span of every tracer, the Stripe spans and the `tracing` ones included, says which
/// experiment it belongs to: one place instead of a line in every handler. It only reads and sets
/// in `on_start`; the finished span goes to the exporters' processors, not through this one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScenarioStamp;

impl SpanProcessor for ScenarioStamp {
    fn on_start(&self, span: &mut Span, parent: &Context) {
        if let Some(value) = parent.baggage().get(BAGGAGE_KEY)
            && let Ok(scenario) = value.as_str().parse::<Scenario>()
        {
            span.set_attribute(KeyValue::new(ATTRIBUTE, scenario.name()));
        }
        if let Some(value) = parent.baggage().get(crate::mistake::BAGGAGE_KEY)
            && let Ok(mistake) = value.as_str().parse::<crate::mistake::Mistake>()
        {
            span.set_attribute(KeyValue::new(crate::mistake::ATTRIBUTE, mistake.name()));
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_a_list_of_fixable_scenarios_or_all() {
        let fixes: Fixes = "slow-stripe, pool-contention".parse().unwrap();
        assert!(fixes.has(Scenario::SlowStripe) && fixes.has(Scenario::PoolContention));
        assert!(!fixes.has(Scenario::StripeOutage));
        let all: Fixes = "all".parse().unwrap();
        assert!(Fixes::FIXABLE.iter().all(|s| all.has(*s)));
        assert!(!all.has(Scenario::CardDeclined));
        assert!("card-declined".parse::<Fixes>().unwrap_err().contains("has no fix"));
        assert!("out-of-stock".parse::<Fixes>().unwrap_err().contains("has no fix"));
        assert!("slow-strip".parse::<Fixes>().unwrap_err().contains("unknown scenario"));
        assert_eq!("".parse::<Fixes>().unwrap(), Fixes::default());
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
            assert!(!scenario.lesson().is_empty());
        }
        let error = "chaos".parse::<Scenario>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown scenario \"chaos\"; valid scenarios are: happy, slow-stripe, stripe-outage, card-declined, out-of-stock, slow-db, sequential-inventory, pool-contention"
        );
    }

    #[test]
    fn backoff_doubles_from_the_base() {
        let base = Duration::from_millis(100);
        assert_eq!([1, 2, 3].map(|n| backoff(base, n).as_millis()), [100, 200, 400]);
    }
}
