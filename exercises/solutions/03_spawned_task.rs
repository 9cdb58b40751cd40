//! # Exercise 3: keep a spawned task in its trace (a solution)
//!
//! `.in_current_span()` wraps the task's future in the span current where it was made: each
//! poll enters it, so `check_one`'s span is its child, wherever the task runs.

use std::time::Duration;

use tokio::task::JoinSet;
use tracing::Instrument as _;

/// Checks the stock of every sku at once, inside a span of its own.
#[tracing::instrument]
pub async fn check_stock(skus: Vec<String>) {
    let mut tasks = JoinSet::new();
    for sku in skus {
        tasks.spawn(async move { check_one(sku).await }.in_current_span());
    }
    tasks.join_all().await;
}

/// Looks one sku up.
#[tracing::instrument]
async fn check_one(sku: String) -> bool {
    tokio::time::sleep(Duration::from_millis(2)).await;
    !sku.is_empty()
}
