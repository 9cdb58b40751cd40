//! Instrumentation mistakes a learner can make on purpose, per request: the errors a developer
//! writes into their own code, as the scenarios are the failures production brings.
//!
//! A mistake is chosen by the W3C baggage entry `mistake=<name>` (the gateway turns `?mistake=<name>`
//! into it, as it does `?scenario=`). The wrong code is in the service where it would happen,
//! beside the right code, and runs only for a request that asks for it; this module only names the
//! mistakes. [`crate::scenario::ScenarioStamp`] puts `demo.mistake` on every span of such a request
//! that still has the baggage (a mistake that loses the context loses the stamp too: that is
//! what it teaches), and the span that makes the mistake gets an event saying so.

use std::{fmt, str::FromStr};

/// The baggage key that selects a mistake.
pub const BAGGAGE_KEY: &str = "mistake";
/// The span attribute that names it.
pub const ATTRIBUTE: &str = "demo.mistake";

/// An instrumentation mistake to make on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// order-service calls payment-service with a plain HTTP client: no `traceparent`, no baggage.
    NoPropagation,
    /// order-service spawns its stock checks as tasks that do not carry the span.
    DetachedSpawn,
    /// order-service's receipt printer holds an entered span guard across its `.await`s.
    GuardAcrossAwait,
    /// order-service makes a span for every catalog entry it looks at.
    SpanPerItem,
    /// order-service keeps the span of its payment step in a long-lived map, so it never ends.
    UnendedSpan,
    /// order-service names its SERVER span after the order id.
    IdInSpanName,
    /// payment-service answers Stripe's failure without recording it on the Stripe span.
    ErrorNotRecorded,
}

impl Mistake {
    /// Every mistake, in the order they are taught.
    pub const ALL: [Mistake; 7] = [
        Mistake::NoPropagation,
        Mistake::DetachedSpawn,
        Mistake::GuardAcrossAwait,
        Mistake::SpanPerItem,
        Mistake::UnendedSpan,
        Mistake::IdInSpanName,
        Mistake::ErrorNotRecorded,
    ];

    /// The name used in baggage, query strings and `demo.mistake`.
    pub fn name(self) -> &'static str {
        match self {
            Mistake::NoPropagation => "no-propagation",
            Mistake::DetachedSpawn => "detached-spawn",
            Mistake::GuardAcrossAwait => "guard-across-await",
            Mistake::SpanPerItem => "span-per-item",
            Mistake::UnendedSpan => "unended-span",
            Mistake::IdInSpanName => "id-in-span-name",
            Mistake::ErrorNotRecorded => "error-not-recorded",
        }
    }

    /// One sentence on what its trace shows.
    pub fn lesson(self) -> &'static str {
        match self {
            Mistake::NoPropagation => {
                "order-service calls payment-service without injecting the context: one checkout becomes two traces, and the scenario (baggage is context too) is lost downstream."
            }
            Mistake::DetachedSpawn => {
                "The stock checks run on spawned tasks that do not carry the span: each becomes a trace of its own, and the checkout's trace has a hole where they were."
            }
            Mistake::GuardAcrossAwait => {
                "The receipt printer holds an entered span across its awaits: one checkout alone looks fine; under concurrent checkouts, spans of one land under another's."
            }
            Mistake::SpanPerItem => {
                "A span for every catalog entry looked at: hundreds of microsecond spans bury the checkout, and the export queue and the backend pay for each."
            }
            Mistake::UnendedSpan => {
                "The payment step's span is kept in a long-lived map and never ends: it is never exported, and its children arrive with a missing parent."
            }
            Mistake::IdInSpanName => {
                "order-service names its SERVER span after the order id: every checkout is a new operation, and the operation list grows without bound."
            }
            Mistake::ErrorNotRecorded => {
                "With Stripe down, payment-service answers the failure but leaves the Stripe span's status unset: the trace no longer says where the failure began."
            }
        }
    }

    /// The mistake the current request asks for, from its baggage (`None` for none, or a name
    /// that is not a mistake: the gateway refuses those).
    pub fn current() -> Option<Mistake> {
        raw_current()?.parse().ok()
    }

    /// Whether the current request asks for this mistake.
    pub fn is_current(self) -> bool {
        Mistake::current() == Some(self)
    }
}

/// The raw `mistake` baggage value of the current request, if any (valid or not).
pub fn raw_current() -> Option<String> {
    shared_tracing::propagation::current_baggage(BAGGAGE_KEY)
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not a mistake; the message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mistake {name:?}; valid mistakes are: {valid}", name = .0, valid = Mistake::ALL.map(Mistake::name).join(", "))]
pub struct UnknownMistake(pub String);

impl FromStr for Mistake {
    type Err = UnknownMistake;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Mistake::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| UnknownMistake(name.to_owned()))
    }
}

/// Says, on the current span, that the mistake is being made on purpose (an event, which Jaeger
/// shows under the span's logs, and a log line).
pub fn making(mistake: Mistake) {
    tracing::warn!(demo.mistake = mistake.name(), "Making the {mistake} mistake on purpose");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for mistake in Mistake::ALL {
            assert_eq!(mistake.name().parse::<Mistake>(), Ok(mistake));
            assert!(!mistake.lesson().is_empty());
        }
        let error = "typo".parse::<Mistake>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown mistake \"typo\"; valid mistakes are: no-propagation, detached-spawn, guard-across-await, span-per-item, unended-span, id-in-span-name, error-not-recorded"
        );
    }
}
