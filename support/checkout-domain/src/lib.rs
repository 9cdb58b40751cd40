//! The checkout's own vocabulary, shared by the three services: what a teaching scenario is, how
//! long simulated work takes, the card token that cannot be printed, the rule that masks card
//! data, the skus, quantities and amounts they pass on, and the baggage keys they agree on.
//!
//! # Layout
//! - [`scenario`]: the eight teaching scenarios, chosen per request by W3C baggage, and
//!   [`scenario::ScenarioStamp`], the span processor that puts `demo.scenario` (and
//!   `demo.mistake`) on every span.
//! - [`mistake`]: the instrumentation mistakes a learner can make on purpose, chosen per request
//!   by baggage like the scenarios; the wrong code is in the services. Both are declared by one
//!   macro (`switch.rs`): names, lessons, parsing, the one the current request carries.
//! - [`simulate`]: a latency with jitter, for simulated work.
//! - [`sensitive`]: [`sensitive::CardToken`], whose `Debug` and `Display` redact it.
//! - [`card_data`]: the rule that masks card numbers and tokens in spans and log lines.
//! - [`values`]: [`values::Sku`], [`values::Quantity`] and [`values::Cents`], the values every
//!   service passes to the next, parsed once.
//! - [`baggage`]: the baggage keys the services read and write.
//! - [`telemetry`]: the telemetry every checkout service starts (shared-tracing, plus the two above).
//!
//! Depends on shared-tracing and shared-tracing-hardening (to plug its span processor and its
//! masking rule in) and on nothing
//! of any service: a service wires this crate, the service kit and shared-tracing together.

pub mod baggage;
pub mod card_data;
pub mod mistake;
pub mod scenario;
pub mod sensitive;
pub mod simulate;
mod switch;
pub mod values;

use shared_tracing::{Telemetry, TelemetryBuilder, TelemetryConfig};
use shared_tracing_hardening::Hardening;

/// The `service.namespace` of the three services: the system they make up.
pub const SERVICE_NAMESPACE: &str = "checkout";

/// The telemetry every checkout service starts: shared-tracing's, from the standard `OTEL_*`
/// variables, with `demo.scenario` stamped on every span ([`scenario::ScenarioStamp`]),
/// `service.namespace=checkout`, and shared-tracing-hardening switched on, with card data masked
/// in every span and log line ([`card_data::mask`]). Call `.init()` on it.
pub fn telemetry(service_name: &str, version: &str) -> TelemetryBuilder {
    Telemetry::builder(TelemetryConfig::from_env(service_name, version))
        .with_service_namespace(SERVICE_NAMESPACE)
        .with_span_processor(|| scenario::ScenarioStamp)
        .with_extension(Hardening::default().with_redaction(card_data::mask))
}
