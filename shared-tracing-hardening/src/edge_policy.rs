//! The edge's trust boundary: the service that takes requests from outside keeps only the baggage
//! it vouches for, before its SERVER span starts (through shared-tracing's
//! `inbound::traced_with`, which hands it the caller's context first).

use std::sync::Arc;

use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt as _},
};

/// What a service at the edge of the system accepts from the outside world.
///
/// Baggage travels with a request to every service behind the edge, and services act on it
/// (a service may choose what to do by a baggage entry). So the edge keeps only the keys it
/// is prepared to vouch for and drops the rest: a client cannot plant `tenant=other-customer` or
/// a megabyte of junk in every internal hop. The trace context itself is kept (continuing a
/// caller's trace is the point of W3C Trace Context), but its validity is checked by the parser.
#[derive(Debug, Clone)]
pub struct EdgePolicy {
    baggage_allowlist: Arc<[String]>,
}

impl EdgePolicy {
    /// Keeps only the baggage entries whose key is in `keys`.
    pub fn allow_baggage(keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { baggage_allowlist: keys.into_iter().map(Into::into).collect() }
    }

    /// Whether the baggage key `key` is kept.
    pub fn allows(&self, key: &str) -> bool {
        self.baggage_allowlist.iter().any(|allowed| allowed == key)
    }

    /// `cx` with only the allowed baggage entries.
    pub fn filter(&self, cx: Context) -> Context {
        let kept: Baggage = cx
            .baggage()
            .iter()
            .filter(|(key, _)| self.allows(key.as_str()))
            .map(|(key, (value, metadata))| (key.clone(), (value.clone(), metadata.clone())))
            .collect();
        cx.with_cleared_baggage().with_baggage(kept)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    #[test]
    fn only_allow_listed_baggage_passes_the_edge() {
        let policy = EdgePolicy::allow_baggage(["scenario"]);
        let sent =
            Context::new().with_baggage([KeyValue::new("scenario", "slow-db"), KeyValue::new("tenant", "b")]);
        let kept = policy.filter(sent);
        assert_eq!(kept.baggage().get("scenario").map(|v| v.as_str().to_owned()).as_deref(), Some("slow-db"));
        assert_eq!(kept.baggage().len(), 1, "tenant was dropped");
        assert!(policy.allows("scenario") && !policy.allows("tenant"));
    }
}
