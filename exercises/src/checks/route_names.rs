//! Exercise 6: SERVER spans named by their route template, the id in an attribute.

use axum::{
    Router,
    extract::{MatchedPath, Path},
    routing::get,
};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, TracerProvider as _};
use tracectl::model::Span;

use super::{Exercise, Variant, runtime, serve, span_end};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "06_route_names.rs",
    title: "name a SERVER span by its route template, and put the id in an attribute",
    expected: "order-service  GET /orders/{id}   (order.id=ord-1)\norder-service  GET /orders/{id}   \
               (order.id=ord-2)\norder-service  GET /orders/{id}   (order.id=ord-3)",
    hint: "the name is `format!(\"{method} {route}\")`; `SpanBuilder::with_attributes` takes \
           `KeyValue::new(\"http.route\", ...)` and `KeyValue::new(\"order.id\", ...)`",
    run,
    judge,
};

/// The orders the lab asks for.
const ORDERS: [&str; 3] = ["ord-1", "ord-2", "ord-3"];

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("order-service");
    let tracer = lab.provider().tracer("order-service");
    let server_span = match variant {
        Variant::Yours => yours::route_names::server_span,
        Variant::Solution => solutions::route_names::server_span,
    };
    let app = Router::new().route(
        "/orders/{id}",
        get(move |route: MatchedPath, Path(id): Path<String>| async move {
            let path = format!("/orders/{id}");
            let builder = server_span("GET", &path, route.as_str(), &id).with_kind(SpanKind::Server);
            span_end(opentelemetry::Context::new().with_span(builder.start(&tracer)));
            id
        }),
    );
    runtime().block_on(async {
        let url = serve(app).await;
        for order in ORDERS {
            reqwest::get(format!("{url}/orders/{order}")).await.expect("the lab's order-service answers");
        }
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    if names.len() != ORDERS.len() {
        return Err(format!("{} spans for {} requests", names.len(), ORDERS.len()));
    }
    if let Some(span) = spans.iter().find(|s| ORDERS.iter().any(|o| s.name.contains(o))) {
        return Err(format!(
            "the SERVER span `{}` holds the order's id in its name: three requests made three \
             operations ({}), and Jaeger's operation list grows with every order",
            span.name,
            names.join(", ")
        ));
    }
    if let Some(span) = spans.iter().find(|s| s.name != "GET /orders/{id}") {
        return Err(format!(
            "a SERVER span is named `{}`, not `GET /orders/{{id}}` ({{method}} {{http.route}})",
            span.name
        ));
    }
    if let Some(span) = spans.iter().find(|s| s.str_attribute("http.route") != Some("/orders/{id}")) {
        return Err(format!(
            "`{}` has http.route={:?}, not the template /orders/{{id}}",
            span.name,
            span.str_attribute("http.route")
        ));
    }
    let ids: Vec<Option<&str>> = spans.iter().map(|s| s.str_attribute("order.id")).collect();
    if ORDERS.iter().any(|order| !ids.contains(&Some(order))) {
        return Err(format!(
            "the spans' order.id attributes are {ids:?}: each request's own id belongs there"
        ));
    }
    Ok(())
}
