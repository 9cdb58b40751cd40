//! # Exercise 6: name a span by its route, and put the id where an id belongs (a solution)

use opentelemetry::{KeyValue, trace::SpanBuilder};

/// The SERVER span of a request for one order: `method` and `path` are the request's
/// (`GET`, `/orders/ord-7`), `route` the template axum matched (`/orders/{id}`), `order_id` the
/// order asked for (`ord-7`).
pub fn server_span(method: &str, path: &str, route: &str, order_id: &str) -> SpanBuilder {
    SpanBuilder::from_name(format!("{method} {route}")).with_attributes([
        KeyValue::new("http.route", route.to_owned()),
        KeyValue::new("url.path", path.to_owned()),
        KeyValue::new("order.id", order_id.to_owned()),
    ])
}
