//! Instrumentation mistakes a learner can make on purpose, per request: the errors a developer
//! writes into their own code, as the scenarios are the failures production brings.
//!
//! A mistake is chosen by the W3C baggage entry `mistake=<name>` (the gateway turns `?mistake=<name>`
//! into it, as it does `?scenario=`). The wrong code is in the service where it would happen,
//! beside the right code, and runs only for a request that asks for it; this module only names the
//! mistakes. [`crate::scenario::ScenarioStamp`] puts `demo.mistake` on every span of such a request
//! that still has the baggage (a mistake that loses the context loses the stamp too: that is
//! what it teaches), and the span that makes the mistake gets an event saying so.

use crate::switch::lesson_switch;

/// The baggage key that selects a mistake.
pub const BAGGAGE_KEY: &str = "mistake";
/// The span attribute that names it.
pub const ATTRIBUTE: &str = "demo.mistake";

lesson_switch! {
    /// An instrumentation mistake to make on purpose.
    pub enum Mistake(kind = "mistake", key = BAGGAGE_KEY, error = UnknownMistake) {
        /// order-service calls payment-service with a plain HTTP client: no `traceparent`, no baggage.
        NoPropagation = "no-propagation":
            "order-service calls payment-service without injecting the context: one checkout becomes two traces, and the scenario (baggage is context too) is lost downstream.",
        /// order-service spawns its stock checks as tasks that do not carry the span.
        DetachedSpawn = "detached-spawn":
            "The stock checks run on spawned tasks that do not carry the span: each becomes a trace of its own, and the checkout's trace has a hole where they were.",
        /// order-service's receipt printer holds an entered span guard across its `.await`s.
        GuardAcrossAwait = "guard-across-await":
            "The receipt printer holds an entered span across its awaits: one checkout alone looks fine; under concurrent checkouts, spans of one land under another's.",
        /// order-service makes a span for every catalog entry it looks at.
        SpanPerItem = "span-per-item":
            "A span for every catalog entry looked at: hundreds of microsecond spans bury the checkout, and the export queue and the backend pay for each.",
        /// order-service keeps the span of its payment step in a long-lived map, so it never ends.
        UnendedSpan = "unended-span":
            "The payment step's span is kept in a long-lived map and never ends: it is never exported, and its children arrive with a missing parent.",
        /// order-service names its SERVER span after the order id.
        IdInSpanName = "id-in-span-name":
            "order-service names its SERVER span after the order id: every checkout is a new operation, and the operation list grows without bound.",
        /// payment-service answers Stripe's failure without recording it on the Stripe span.
        ErrorNotRecorded = "error-not-recorded":
            "With Stripe down, payment-service answers the failure but leaves the Stripe span's status unset: the trace no longer says where the failure began.",
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
