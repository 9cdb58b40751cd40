//! The three services in this process, each served on a loopback port as its `main` serves it, their spans
//! caught in memory (`shared_tracing_testing`) and handed back in tracectl's model, as the OTLP
//! receiver hands back the processes' spans. Trace shapes, scenarios and error mapping are tested
//! here without starting a process; what only processes show stays in the other modules.
//!
//! Run each test on a current-thread runtime (`#[tokio::test]`): the spans are caught by a
//! subscriber of the test's thread, and the three routers' tasks run on that thread too.

use std::{collections::HashMap, net::SocketAddr, time::UNIX_EPOCH};

use checkout_domain::scenario::ScenarioStamp;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use service_kit::{
    server::Server,
    settings::{FromSettings, Settings},
};
use shared_tracing_testing::TestTelemetry;
use tracectl::model::{Event, Kind, Span, StatusCode, Value};

use crate::support::{Gateway, SPANS_TIMEOUT, base_env, summary, with_extra};

/// The three services, wired to each other, with Stripe's spans under `service.name=stripe`.
pub struct InProcess {
    telemetry: TestTelemetry,
    gateway: SocketAddr,
}

impl InProcess {
    /// Starts payment-service, order-service and the gateway, each read from the settings the
    /// process tests give (`base_env`) plus `extra` (which wins), with `demo.scenario` stamped
    /// as in production.
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let mut telemetry = TestTelemetry::start_with(|| ScenarioStamp);
        // The services' propagators: the strict W3C layer their hardening switches on.
        let w3c = shared_tracing_hardening::w3c::propagator(&shared_tracing::config::Propagators::w3c());
        shared_tracing::propagation::install(w3c);
        let mut env: HashMap<String, String> = with_extra(base_env("unused"), extra).into_iter().collect();
        let (tracer, stripe) = (telemetry.service("payment-service"), telemetry.remote_system("stripe"));
        let payment = run(payment_service::build(config(&env), tracer, stripe).await.unwrap());
        // A test may point order-service elsewhere (at a closed port, say).
        env.entry("PAYMENT_SERVICE_URL".into()).or_insert(format!("http://127.0.0.1:{payment}"));
        let order =
            run(order_service::build(config(&env), telemetry.service("order-service")).await.unwrap());
        env.insert("ORDER_SERVICE_URL".into(), format!("http://127.0.0.1:{order}"));
        let gateway = run(gateway::build(config(&env), telemetry.service("gateway")).await.unwrap());
        Self { telemetry, gateway: SocketAddr::from(([127, 0, 0, 1], gateway)) }
    }

    /// The gateway's address, for raw-socket tests.
    pub fn addr(&self) -> SocketAddr {
        self.gateway
    }

    /// Every span finished so far, in tracectl's model, each with its service's name.
    pub fn spans(&self) -> Vec<Span> {
        self.telemetry.spans_by_service().into_iter().map(|(service, span)| model(service, span)).collect()
    }

    /// Waits until `trace_id` has at least `count` spans; returns them.
    pub async fn spans_of(&self, trace_id: &str, count: usize) -> Vec<Span> {
        let spans = self.spans_when(|s| s.iter().filter(|s| s.trace_id == trace_id).count() >= count).await;
        spans.into_iter().filter(|s| s.trace_id == trace_id).collect()
    }

    /// Waits, yielding to the routers' tasks, until `done` holds for the spans finished so far
    /// (a server's span ends once its answer is sent, which can be after the client read it).
    pub async fn spans_when(&self, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let wait = async {
            loop {
                let spans = self.spans();
                if done(&spans) {
                    return spans;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(SPANS_TIMEOUT, wait).await.unwrap_or_else(|_| {
            panic!("spans never arrived: {:#?}", summary(&self.spans().iter().collect::<Vec<_>>()))
        })
    }
}

impl Gateway for InProcess {
    fn url(&self) -> String {
        format!("http://{}", self.gateway)
    }
}

/// A service's configuration, read from `env` as its `main` reads it from the process's.
pub fn config<C: FromSettings>(env: &HashMap<String, String>) -> C {
    C::from_settings(&Settings::new(|name| env.get(name).cloned())).unwrap()
}

/// Runs a service's server (the hardened serve loop its `main` runs) on this thread, for as long
/// as the test runs; returns its port.
pub fn run(server: Server) -> u16 {
    let port = server.port();
    tokio::spawn(server.run_until_stopped(std::future::pending()));
    port
}

/// A finished SDK span as tracectl reads one from OTLP.
fn model(service: &str, span: SpanData) -> Span {
    let nanos = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let attributes = |kvs: &[opentelemetry::KeyValue]| {
        kvs.iter().map(|kv| (kv.key.to_string(), value(&kv.value))).collect()
    };
    let (status, status_message) = match span.status {
        Status::Unset => (StatusCode::Unset, String::new()),
        Status::Ok => (StatusCode::Ok, String::new()),
        Status::Error { description } => (StatusCode::Error, description.into_owned()),
    };
    Span {
        trace_id: span.span_context.trace_id().to_string(),
        span_id: span.span_context.span_id().to_string(),
        parent_span_id: (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string()),
        parent_is_remote: span.parent_span_is_remote,
        name: span.name.into_owned(),
        kind: match span.span_kind {
            SpanKind::Internal => Kind::Internal,
            SpanKind::Server => Kind::Server,
            SpanKind::Client => Kind::Client,
            SpanKind::Producer => Kind::Producer,
            SpanKind::Consumer => Kind::Consumer,
        },
        service_name: service.to_owned(),
        start_unix_nano: nanos(span.start_time),
        end_unix_nano: nanos(span.end_time),
        attributes: attributes(&span.attributes),
        resource: [("service.name".to_owned(), Value::Str(service.to_owned()))].into(),
        events: span
            .events
            .events
            .iter()
            .map(|e| Event {
                name: e.name.to_string(),
                time_unix_nano: nanos(e.timestamp),
                attributes: attributes(&e.attributes),
            })
            .collect(),
        links: span
            .links
            .links
            .iter()
            .map(|l| tracectl::model::Link {
                trace_id: l.span_context.trace_id().to_string(),
                span_id: l.span_context.span_id().to_string(),
                attributes: attributes(&l.attributes),
            })
            .collect(),
        status,
        status_message,
    }
}

fn value(value: &opentelemetry::Value) -> Value {
    use opentelemetry::{Array, Value as V};
    fn array<T: Clone>(items: &[T], one: impl Fn(T) -> Value) -> Value {
        Value::Array(items.iter().cloned().map(one).collect())
    }
    match value {
        V::Bool(b) => Value::Bool(*b),
        V::I64(i) => Value::Int(*i),
        V::F64(f) => Value::Double(*f),
        V::String(s) => Value::Str(s.to_string()),
        V::Array(Array::Bool(items)) => array(items, Value::Bool),
        V::Array(Array::I64(items)) => array(items, Value::Int),
        V::Array(Array::F64(items)) => array(items, Value::Double),
        V::Array(Array::String(items)) => array(items, |s| Value::Str(s.to_string())),
        other => Value::Str(other.to_string()),
    }
}
