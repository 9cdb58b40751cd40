//! Exercise 3: a spawned task keeps the span it was spawned in.

use tracectl::model::Span;
use tracing::Instrument as _;

use super::{Exercise, Variant, find, runtime};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "03_spawned_task.rs",
    title: "keep a spawned task in its trace",
    expected: "order-service  POST /orders\n  order-service  check_stock\n    order-service  check_one  \
               (three of them, each under check_stock)",
    hint: "`use tracing::Instrument as _;` then `async move { ... }.in_current_span()`: the future \
           enters the span that was current where it was made, each time it is polled",
    run,
    judge,
};

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("order-service");
    let skus = || vec!["sku-1".to_owned(), "sku-2".to_owned(), "sku-3".to_owned()];
    runtime().block_on(async {
        let request = tracing::info_span!("POST /orders");
        match variant {
            Variant::Yours => yours::spawned_task::check_stock(skus()).instrument(request).await,
            Variant::Solution => solutions::spawned_task::check_stock(skus()).instrument(request).await,
        }
    });
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let stock = find(spans, "order-service", "check_stock").ok_or("no `check_stock` span was exported")?;
    let checks: Vec<&Span> = spans.iter().filter(|s| s.name == "check_one").collect();
    let apart: Vec<&&Span> =
        checks.iter().filter(|s| s.parent_span_id.as_deref() != Some(&stock.span_id)).collect();
    match (checks.len(), apart.len()) {
        (3, 0) => Ok(()),
        (n, 0) => Err(format!("{n} `check_one` spans where three skus were checked")),
        (n, k) => Err(format!(
            "{k} of {n} `check_one` spans are not under `check_stock`: each is the root of a trace of \
             its own ({}), and the checkout's trace has a hole: the spawned task did not carry the span",
            apart.iter().map(|s| s.trace_id.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}
