//! # Exercise 9: link a retry to the attempt it replaces (a solution)
//!
//! The link holds the replaced attempt's context, and says why.

use opentelemetry::{
    KeyValue,
    trace::{Link, SpanContext},
};

/// The links of an attempt's span: to the attempt it replaces, if there was one.
pub fn links(replaced: Option<&SpanContext>) -> Vec<Link> {
    let why = || vec![KeyValue::new("retry.reason", "the previous attempt failed")];
    replaced.map(|context| Link::new(context.clone(), why(), 0)).into_iter().collect()
}
