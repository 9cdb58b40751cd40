//! A simulated Stripe: no network, just the time Stripe would take and the answers it would give,
//! recorded as the spans Stripe's client library would make, under `service.name=stripe`.
//!
//! Calls are retried the way a careful client retries: on a timeout or a 5xx, after an
//! exponential backoff, up to `max_attempts`; never on a 4xx (a declined card stays declined).
//! Each attempt is its own CLIENT span, and retries carry `http.request.resend_count`, so the
//! trace shows every attempt, how long each waited and why it failed.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use checkout_domain::{
    mistake::{Mistake, making},
    scenario::{Fixes, Scenario, backoff},
    sensitive::CardToken,
    simulate::Latency,
    values::Cents,
};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute;
use shared_tracing::remote::RemoteSystem;

pub use crate::ledger::Charge;
use crate::ledger::Ledger;

/// Why a charge did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// No attempt got an answer in time.
    #[error("stripe did not answer within {} ms, {attempts} attempt(s)", timeout.as_millis())]
    Timeout {
        /// The per-attempt timeout.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Stripe kept failing (it answered 503).
    #[error("stripe is unavailable: it answered 503 to {attempts} attempt(s)")]
    Unavailable {
        /// How many attempts were made.
        attempts: u32,
    },
    /// Stripe declined the card: a business answer, not a failure, and never retried.
    #[error("the card was declined")]
    Declined,
    /// The stripe-outage fix's breaker is open: Stripe failed a whole charge just now, so it is not
    /// called again until the breaker cools down.
    #[error("stripe's circuit is open after a failed charge: failing fast for {} ms more", left.as_millis())]
    CircuitOpen {
        /// How long it stays open.
        left: Duration,
    },
}

/// The stripe-outage fix: a circuit breaker. A charge that fails every attempt opens it; while
/// it is open, charges fail at once; after the cool-down the next charge tries Stripe again, and a
/// success closes it.
#[derive(Debug, Clone, Default)]
struct Breaker(Arc<Mutex<Option<Instant>>>);

impl Breaker {
    fn open_for(&self) -> Option<Duration> {
        let until = (*self.0.lock().unwrap_or_else(PoisonError::into_inner))?;
        until.checked_duration_since(Instant::now())
    }
    fn open(&self, cooldown: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + cooldown);
    }
    fn close(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// How the simulated Stripe behaves.
#[derive(Debug, Clone, Copy)]
pub struct StripeSettings {
    /// Normal response time.
    pub latency: Latency,
    /// Response time in the `slow-stripe` scenario (longer than `timeout`).
    pub slow_latency: Latency,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Most attempts per charge.
    pub max_attempts: u32,
    /// The first retry's backoff; each next one doubles.
    pub backoff: Duration,
    /// Service-wide: the share of attempts, in percent, that Stripe answers 503 (a flaky Stripe
    /// for every request, where the `stripe-outage` scenario fails one request's every attempt).
    pub failure_percent: u8,
    /// Service-wide: the share of charges, in percent, that Stripe declines.
    pub decline_percent: u8,
    /// The scenario fixes switched on (`slow-stripe`, `stripe-outage` concern Stripe).
    pub fixes: Fixes,
    /// The slow-stripe fix's per-attempt timeout.
    pub fixed_timeout: Duration,
    /// The stripe-outage fix's breaker cool-down.
    pub breaker_cooldown: Duration,
}

/// Which attempt this is, whether it is the last, and how long it may take.
#[derive(Debug, Clone, Copy)]
struct Try {
    attempt: u32,
    last: bool,
    timeout: Duration,
}

/// What one attempt ended with.
enum Answer {
    /// The charge, and whether Stripe replayed one made before under the same key.
    Charged(Charge, bool),
    Status(u16),
    TimedOut,
}

/// True with a probability of `percent` %.
fn chance(percent: u8) -> bool {
    percent > 0 && fastrand::u8(0..100) < percent
}

/// The Stripe API client (simulated).
#[derive(Debug, Clone)]
pub struct SimulatedStripe {
    system: RemoteSystem,
    settings: StripeSettings,
    /// Stripe's side: a charge per idempotency key, so a repeated request charges once.
    ledger: Ledger,
    breaker: Breaker,
}

impl SimulatedStripe {
    /// A Stripe behaving as `settings` say, remembering its charges in `ledger`.
    pub fn new(system: RemoteSystem, settings: StripeSettings, ledger: Ledger) -> Self {
        Self { system, settings, ledger, breaker: Breaker::default() }
    }

    /// Charges `amount_cents` to the card behind `token`, retrying timeouts and 5xx.
    ///
    /// Every attempt sends the same `idempotency_key`, as Stripe's API expects: if an attempt that
    /// timed out did reach Stripe, the retry gets that charge back instead of a second one.
    /// A real client would send `token.expose()` in the form body; note that nothing here puts
    /// it on a span, which records only what is safe to see.
    pub async fn charge(
        &self,
        idempotency_key: &str,
        amount_cents: Cents,
        currency: &str,
        _token: &CardToken,
        scenario: Option<Scenario>,
    ) -> Result<(Charge, bool), StripeError> {
        let fixes = self.settings.fixes;
        // The stripe-outage fix: while the breaker is open, Stripe is not called at all.
        if fixes.has(Scenario::StripeOutage)
            && let Some(left) = self.breaker.open_for()
        {
            tracing::warn!(
                open_ms = left.as_millis() as u64,
                "Stripe's circuit is open: failing fast, Stripe not called"
            );
            return Err(StripeError::CircuitOpen { left });
        }
        // The slow-stripe fix: an attempt waits as long as Stripe really takes (its p99), not 1.5 s.
        let timeout = if fixes.has(Scenario::SlowStripe) {
            self.settings.fixed_timeout.min(self.settings.timeout)
        } else {
            self.settings.timeout
        };
        let attempts = self.settings.max_attempts.max(1);
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            let this = Try { attempt, last, timeout };
            match self.attempt(this, idempotency_key, amount_cents, currency, scenario).await {
                Answer::Charged(charge, replayed) => {
                    self.breaker.close();
                    return Ok((charge, replayed));
                }
                Answer::Status(402) => return Err(StripeError::Declined),
                failure if last => {
                    if fixes.has(Scenario::StripeOutage) {
                        let cooldown = self.settings.breaker_cooldown;
                        tracing::warn!(
                            cooldown_ms = cooldown.as_millis() as u64,
                            "Stripe failed {attempts} attempt(s): opening its circuit, calls fail fast until it cools down"
                        );
                        self.breaker.open(cooldown);
                    }
                    return Err(match failure {
                        Answer::TimedOut => StripeError::Timeout { timeout, attempts },
                        _ => StripeError::Unavailable { attempts },
                    });
                }
                _ => {
                    let wait = backoff(self.settings.backoff, attempt);
                    tracing::warn!(
                        attempt,
                        backoff_ms = wait.as_millis() as u64,
                        "Stripe call failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
        unreachable!("the last attempt always returns")
    }

    async fn attempt(
        &self,
        Try { attempt, last, timeout }: Try,
        idempotency_key: &str,
        amount_cents: Cents,
        currency: &str,
        scenario: Option<Scenario>,
    ) -> Answer {
        let mut attributes = vec![
            KeyValue::new(attribute::HTTP_REQUEST_METHOD, "POST"),
            KeyValue::new(attribute::URL_FULL, "https://api.stripe.com/v1/charges"),
            KeyValue::new(attribute::SERVER_ADDRESS, "api.stripe.com"),
            KeyValue::new(attribute::SERVER_PORT, 443),
            KeyValue::new("stripe.amount", amount_cents.as_attribute()),
            KeyValue::new("stripe.currency", currency.to_owned()),
            // A request header worth seeing (semantic conventions: `http.request.header.<name>`).
            KeyValue::new("http.request.header.idempotency-key", idempotency_key.to_owned()),
        ];
        if attempt > 1 {
            // Semantic conventions: the ordinal of a resent request, 1 for the first retry.
            attributes.push(KeyValue::new(attribute::HTTP_REQUEST_RESEND_COUNT, i64::from(attempt - 1)));
        }
        let call = self.system.start_call("POST /v1/charges", attributes);

        // What this attempt will do: the scenario decides; the last slow attempt gets through.
        let (latency, status) = match scenario {
            Some(Scenario::SlowStripe) if !last => (self.settings.slow_latency, 200),
            Some(Scenario::StripeOutage) => (self.settings.latency, 503),
            Some(Scenario::CardDeclined) => (self.settings.latency, 402),
            _ if chance(self.settings.failure_percent) => (self.settings.latency, 503),
            _ if chance(self.settings.decline_percent) => (self.settings.latency, 402),
            _ => (self.settings.latency, 200),
        };
        let answer_after = latency.sample();
        if answer_after > timeout {
            tokio::time::sleep(timeout).await;
            call.fail("timeout", format!("no answer within {} ms", timeout.as_millis()));
            return Answer::TimedOut;
        }
        tokio::time::sleep(answer_after).await;
        call.set_attribute(KeyValue::new(attribute::HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        match status {
            200 => match self.ledger.charge_once(idempotency_key, amount_cents).await {
                Ok((charge, replayed)) => {
                    call.set_attribute(KeyValue::new("stripe.charge_id", charge.id.clone()));
                    if replayed {
                        call.set_attribute(KeyValue::new("stripe.idempotent_replayed", true));
                    }
                    call.end();
                    Answer::Charged(charge, replayed)
                }
                // Stripe's own storage failing is a Stripe 500: retried like any 5xx.
                Err(error) => {
                    call.fail("500", error.to_string());
                    Answer::Status(500)
                }
            },
            402 => {
                // A CLIENT span marks any 4xx as an error (HTTP semantic conventions); the
                // *services* treat it as the business answer it is.
                call.fail("402", "card_declined".to_owned());
                Answer::Status(402)
            }
            other if Mistake::ErrorNotRecorded.is_current() => {
                // The `error-not-recorded` mistake: the failure is answered (and retried) but the
                // span is left as it is, its status unset, as for a success. The right code is the
                // arm below: `fail` sets the status to error, with `error.type`.
                making(Mistake::ErrorNotRecorded);
                Answer::Status(other)
            }
            other => {
                call.fail("503", format!("stripe answered {other}"));
                Answer::Status(other)
            }
        }
    }
}
