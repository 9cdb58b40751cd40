//! # Exercise 6: name a span by its route, and put the id where an id belongs
//!
//! Practises: `lessons/id-in-span-name.md`.
//!
//! Jaeger lists operations by span name, and a backend groups, counts and alerts by it. A name
//! that holds an order id makes every request an operation of its own: the list grows without
//! bound, and no two requests can be compared. The HTTP semantic conventions name a SERVER span
//! `{method} {http.route}` (the route *template*, `/orders/{id}`), keep the template in
//! `http.route`, and the request's own values in attributes.
//!
//! Check it: `scripts/exercise.sh 6`. Start again: `scripts/exercise.sh --reset 6`.

use opentelemetry::trace::SpanBuilder;

/// The SERVER span of a request for one order: `method` and `path` are the request's
/// (`GET`, `/orders/ord-7`), `route` the template axum matched (`/orders/{id}`), `order_id` the
/// order asked for (`ord-7`).
pub fn server_span(method: &str, path: &str, route: &str, order_id: &str) -> SpanBuilder {
    // YOUR PART: the name, `http.route`, and the order's id as the attribute `order.id`.
    let _ = (route, order_id);
    SpanBuilder::from_name(format!("{method} {path}"))
}
