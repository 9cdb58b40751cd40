//! The edge's trust boundary (hardening: a first reading can skip it): the service that takes
//! requests from outside keeps only the baggage it vouches for, before its SERVER span starts.

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    middleware::{self, Next},
    response::Response,
};
use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt as _},
};

use crate::{edge::EdgeTracer, inbound::serve_in_span, propagation};

/// What a service at the edge of the system accepts from the outside world.
///
/// Baggage travels with a request to every service behind the edge, and services act on it
/// (the teaching scenarios are chosen by a `scenario` entry). So the edge keeps only the keys it
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

    /// The baggage keys kept.
    pub fn allowed_baggage(&self) -> &[String] {
        &self.baggage_allowlist
    }

    /// `cx` with allow-listed query parameters added as baggage: `?scenario=slow-stripe` becomes
    /// the baggage entry `scenario=slow-stripe`, so a browser link can choose what a `baggage`
    /// header would. The query wins over a header carrying the same key.
    fn promote_query(&self, cx: Context, query: Option<&str>) -> Context {
        let Some(query) = query else { return cx };
        let promoted: Vec<opentelemetry::KeyValue> = form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| self.baggage_allowlist.iter().any(|allowed| allowed == key.as_ref()))
            .map(|(key, value)| opentelemetry::KeyValue::new(key.into_owned(), value.into_owned()))
            .collect();
        if promoted.is_empty() { cx } else { cx.with_baggage(promoted) }
    }

    /// `cx` with only the allowed baggage entries.
    fn filter(&self, cx: Context) -> Context {
        let kept: Baggage = cx
            .baggage()
            .iter()
            .filter(|(key, _)| self.baggage_allowlist.iter().any(|allowed| allowed == key.as_str()))
            .map(|(key, (value, metadata))| (key.clone(), (value.clone(), metadata.clone())))
            .collect();
        cx.with_cleared_baggage().with_baggage(kept)
    }
}

/// Like [`crate::inbound::traced`], for the service at the edge: incoming context is filtered by `policy`.
pub fn traced_edge<S>(router: Router<S>, policy: EdgePolicy, tracer: EdgeTracer) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn_with_state((tracer, policy), trace_edge_request))
}

async fn trace_edge_request(
    State((tracer, policy)): State<(EdgeTracer, EdgePolicy)>,
    request: Request,
    next: Next,
) -> Response {
    let parent = policy.filter(propagation::extract(request.headers()));
    let parent = policy.promote_query(parent, request.uri().query());
    serve_in_span(&tracer, request, next, parent).await
}
