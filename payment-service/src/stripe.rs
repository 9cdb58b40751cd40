//! A simulated Stripe: no network, just the time Stripe would take, recorded as the span Stripe's
//! client library would make, under `service.name=stripe`.

use std::time::Duration;

use opentelemetry::KeyValue;
use shared_tracing::{remote::RemoteSystem, sensitive::CardToken, simulate::Latency};

/// The charge Stripe created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Stripe's id for the charge (`ch_…`).
    pub id: String,
}

/// Why a charge did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe did not answer in time.
    #[error("stripe did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
}

/// The Stripe API client (simulated).
#[derive(Debug, Clone)]
pub struct SimulatedStripe {
    system: RemoteSystem,
    latency: Latency,
    timeout: Duration,
}

impl SimulatedStripe {
    /// A Stripe that answers after `latency`, called with `timeout`.
    pub fn new(system: RemoteSystem, latency: Latency, timeout: Duration) -> Self {
        Self { system, latency, timeout }
    }

    /// Charges `amount_cents` to the card behind `token`.
    ///
    /// A real client would send `token.expose()` in the form body; note that nothing here puts
    /// it on the span, which records only what is safe to see.
    pub async fn charge(
        &self,
        amount_cents: u64,
        currency: &str,
        _token: &CardToken,
    ) -> Result<Charge, StripeError> {
        let call = self.system.start_call(
            "POST /v1/charges",
            vec![
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("url.full", "https://api.stripe.com/v1/charges"),
                KeyValue::new("server.address", "api.stripe.com"),
                KeyValue::new("server.port", 443),
                KeyValue::new("stripe.amount", amount_cents as i64),
                KeyValue::new("stripe.currency", currency.to_owned()),
            ],
        );
        let answer_after = self.latency.sample();
        if answer_after > self.timeout {
            tokio::time::sleep(self.timeout).await;
            let error = StripeError::Timeout(self.timeout);
            call.fail("timeout", error.to_string());
            return Err(error);
        }
        tokio::time::sleep(answer_after).await;
        let charge = Charge { id: format!("ch_{}", uuid::Uuid::new_v4().simple()) };
        call.set_attribute(KeyValue::new("http.response.status_code", 200));
        call.set_attribute(KeyValue::new("stripe.charge_id", charge.id.clone()));
        call.end();
        Ok(charge)
    }
}
