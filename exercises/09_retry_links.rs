//! # Exercise 9: link a retry to the attempt it replaces
//!
//! Practises: `lessons/slow-stripe.md` (timed-out attempts, retried with backoff) and
//! `lessons/concepts.md`, "Links".
//!
//! payment-service calls Stripe up to three times. Each attempt is a CLIENT span of its own,
//! siblings under the payment; nothing in the trace says that the second attempt is there
//! *because* the first timed out, or which one it replaces. A span link says so: a pointer from
//! one span to another's context, with attributes of its own, drawn by Jaeger under the span's
//! references (and, across traces, the way a resumed checkout points at the crashed one).
//!
//! The retry loop is payment-service's `charge` (`exercises/src/checks/retry_links.rs`): it
//! starts each attempt's CLIENT span with the links this function gives it.
//!
//! Check it: `scripts/exercise.sh 9`. Start again: `scripts/exercise.sh --reset 9`.

use opentelemetry::trace::{Link, SpanContext};

/// The links of an attempt's span: to the attempt it replaces, if there was one.
pub fn links(replaced: Option<&SpanContext>) -> Vec<Link> {
    // YOUR PART: `Link::with_context` makes a link; `Link::new` one with attributes, which can
    // say why (for example `retry.reason`).
    let _ = replaced;
    Vec::new()
}
