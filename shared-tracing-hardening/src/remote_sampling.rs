//! Hardening (a first reading can skip it): the remote sampler's backend down, said once.
//!
//! The SDK's Jaeger remote sampler polls its endpoint; when a poll fails it keeps the last strategy
//! it fetched (else its initial rate) and warns, at every poll, for as long as the endpoint is
//! down. [`QuietWhenDown`] is its HTTP client: it says so once when the endpoint stops answering
//! and once when it answers again, and in between hands the sampler the last answer it had (or a
//! strategy at the initial rate), so the sampler decides exactly as it would, without the
//! warning every poll.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct QuietWhenDown {
    client: reqwest::Client,
    endpoint: String,
    /// Jaeger's answer for a probabilistic strategy at the initial rate
    /// (`SamplingStrategyResponseToJSON`'s shape), standing in until a real answer comes.
    initial: Bytes,
    last: Mutex<Option<Bytes>>,
    down: AtomicBool,
}

impl QuietWhenDown {
    pub(crate) fn new(client: reqwest::Client, endpoint: &str, initial_rate: f64) -> Self {
        let initial = serde_json::json!({
            "strategyType": "PROBABILISTIC",
            "probabilisticSampling": { "samplingRate": initial_rate },
        });
        Self {
            client,
            endpoint: endpoint.to_owned(),
            initial: Bytes::from(initial.to_string()),
            last: Mutex::new(None),
            down: AtomicBool::new(false),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for QuietWhenDown {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let answer = self.client.send_bytes(request).await;
        let last = || self.last.lock().unwrap_or_else(|e| e.into_inner());
        let reason = match answer {
            Ok(response) if response.status().is_success() => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(endpoint = %self.endpoint, "Sampling strategies answer again: following them");
                }
                *last() = Some(response.body().clone());
                return Ok(response);
            }
            Ok(response) => format!("HTTP {}", response.status()),
            Err(error) => error.to_string(),
        };
        let kept = last().clone();
        // The first poll can run before the service's logging is installed; a warning then would
        // be lost, so the outage is marked (and said) from the first poll that can say it. (Not
        // `dispatcher::has_been_set()`: a scoped subscriber on another thread sets it too, before
        // the service's own is installed.)
        let can_say = tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
        if can_say && !self.down.swap(true, Ordering::Relaxed) {
            let keeping =
                if kept.is_some() { "the last strategy it sent" } else { "the initial sampling rate" };
            tracing::warn!(
                endpoint = %self.endpoint,
                "Sampling strategies unavailable ({reason}): keeping {keeping} until the endpoint answers"
            );
        }
        Ok(Response::new(kept.unwrap_or_else(|| self.initial.clone())))
    }
}
