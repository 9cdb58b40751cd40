//! What the gateway, the edge of the system, does with the context a client sends, before its
//! SERVER span starts: it keeps only the baggage it vouches for (shared-tracing-hardening's
//! `EdgePolicy`), and it turns `?scenario=slow-stripe` in the URL into the baggage entry
//! `scenario=slow-stripe`, so that a link a browser follows chooses what a `baggage` header would.
//!
//! Both happen in the *parent* context, through shared-tracing's `inbound::traced_with`, not in
//! the handler: the SERVER span starts under it, so the span processor that stamps
//! `demo.scenario` sees the scenario when the span starts, and every span of the request, and
//! every service after this one, carries it. The gateway never writes a header for it: baggage
//! is context, and the outbound client injects whatever the context holds.

use axum::extract::Request;
use opentelemetry::{Context, KeyValue, baggage::BaggageExt as _};
use shared_tracing_hardening::edge_policy::EdgePolicy;

/// The parent of the gateway's SERVER span for `request`: the caller's context `cx` with only
/// allow-listed baggage, and allow-listed query parameters added as baggage (the query wins over
/// a header carrying the same key).
pub fn parent(policy: &EdgePolicy, request: &Request, cx: Context) -> Context {
    let cx = policy.filter(cx);
    let Some(query) = request.uri().query() else { return cx };
    let promoted: Vec<KeyValue> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| policy.allows(key))
        .map(|(key, value)| KeyValue::new(key.into_owned(), value.into_owned()))
        .collect();
    if promoted.is_empty() { cx } else { cx.with_baggage(promoted) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baggage(cx: &Context, key: &str) -> Option<String> {
        cx.baggage().get(key).map(|v| v.as_str().to_owned())
    }

    #[test]
    fn an_allow_listed_query_parameter_becomes_baggage_and_wins_over_the_header() {
        let policy = EdgePolicy::allow_baggage(["scenario"]);
        let request =
            Request::get("/api/checkout?scenario=slow-db&tenant=b").body(Default::default()).unwrap();
        let sent =
            Context::new().with_baggage([KeyValue::new("scenario", "happy"), KeyValue::new("user", "x")]);
        let cx = parent(&policy, &request, sent);
        assert_eq!(baggage(&cx, "scenario").as_deref(), Some("slow-db"));
        assert_eq!((baggage(&cx, "tenant"), baggage(&cx, "user")), (None, None), "not allow-listed");
    }
}
