//! Each exercise's check: it runs the exercise's code (yours, or the solution) in a [`Lab`],
//! then reads the trace it made and says what is wrong with it, in the trace's own terms.

use std::net::SocketAddr;

use axum::{Router, routing::post};
use http::{HeaderMap, StatusCode};
use opentelemetry::{
    Context,
    trace::{SpanKind, TraceContextExt as _, Tracer as _},
};
use opentelemetry_sdk::trace::SdkTracer;
use tracectl::{model::Span, trace::Trace};

use crate::lab::Lab;

mod baggage;
mod call_context;
mod caller_context;
mod database_span;
mod errors;
mod flush_before_exit;
mod log_correlation;
mod message_parent;
mod retry_links;
mod route_names;
mod sampler;
mod spawned_task;

/// Which code an exercise runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `exercises/NN_*.rs`, as you left it.
    Yours,
    /// `exercises/solutions/NN_*.rs`.
    Solution,
}

/// One exercise.
#[derive(Debug)]
pub struct Exercise {
    /// Its file, in `exercises/` (yours) and `exercises/solutions/`.
    pub file: &'static str,
    /// What it teaches, in a line.
    pub title: &'static str,
    /// The trace it must make, drawn as `tracectl show` draws one.
    pub expected: &'static str,
    /// What to look at when stuck.
    pub hint: &'static str,
    run: fn(Variant) -> Lab,
    judge: fn(&[Span]) -> Result<(), String>,
}

/// What a check found.
#[derive(Debug)]
pub struct Outcome {
    /// The traces the exercise made.
    pub traces: Vec<Trace>,
    /// What is wrong with them; `None` when the exercise is done.
    pub problem: Option<String>,
}

/// Every exercise, in the order a learner meets the ideas.
pub const ALL: [Exercise; 12] = [
    caller_context::EXERCISE,
    call_context::EXERCISE,
    spawned_task::EXERCISE,
    database_span::EXERCISE,
    errors::EXERCISE,
    route_names::EXERCISE,
    baggage::EXERCISE,
    sampler::EXERCISE,
    retry_links::EXERCISE,
    log_correlation::EXERCISE,
    flush_before_exit::EXERCISE,
    message_parent::EXERCISE,
];

impl Exercise {
    /// Runs `variant` and judges the trace it made.
    pub fn check(&self, variant: Variant) -> Outcome {
        let lab = (self.run)(variant);
        let spans = lab.spans();
        let problem = (self.judge)(&spans).err();
        Outcome { traces: Trace::group(spans), problem }
    }
}

/// A runtime for one exercise's async code.
pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// Serves `app` on a free loopback port: its base URL.
pub(super) async fn serve(app: Router) -> String {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("a port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// The span of `service` named `name`, if it was exported.
pub(super) fn find<'a>(spans: &'a [Span], service: &str, name: &str) -> Option<&'a Span> {
    spans.iter().find(|s| s.service_name == service && s.name == name)
}

/// payment-service: a SERVER span made with `tracer` for `POST /payments`, in the context
/// `extract` reads from the request.
pub(super) fn payments(tracer: SdkTracer, extract: fn(&HeaderMap) -> Context) -> Router {
    Router::new().route(
        "/payments",
        post(move |headers: HeaderMap| async move {
            let parent = extract(&headers);
            let span = tracer
                .span_builder("POST /payments")
                .with_kind(SpanKind::Server)
                .start_with_context(&tracer, &parent);
            span_end(parent.with_span(span));
            StatusCode::CREATED
        }),
    )
}

/// POSTs to `url` as a traced client does: `call`'s context put into the headers by `inject`.
pub(super) async fn post_in(url: &str, call: &Context, inject: fn(&Context, &mut HeaderMap)) {
    let mut headers = HeaderMap::new();
    inject(call, &mut headers);
    let sent = reqwest::Client::new().post(url).headers(headers).send().await;
    sent.expect("the lab's service answers");
}

/// Ends the span `cx` holds.
pub(super) fn span_end(cx: Context) {
    cx.span().end();
}
