//! # Exercise 3: keep a spawned task in its trace
//!
//! Practises: `lessons/detached-spawn.md`.
//!
//! order-service checks each sku's stock at once, one task per sku. A spawned task runs on its
//! own: it does not inherit the span that is current where it was spawned, so the spans it opens
//! start traces of their own, and the checkout's trace has a hole where the stock checks were.
//! It is the most reported tracing problem in async Rust.
//!
//! Check it: `scripts/exercise.sh 3`. Start again: `scripts/exercise.sh --reset 3`.

use std::time::Duration;

use tokio::task::JoinSet;

/// Checks the stock of every sku at once, inside a span of its own.
#[tracing::instrument]
pub async fn check_stock(skus: Vec<String>) {
    let mut tasks = JoinSet::new();
    for sku in skus {
        // YOUR PART: this task runs outside the `check_stock` span. Make it carry the span that
        // is current here (`tracing::Instrument` has a method for exactly this).
        tasks.spawn(async move { check_one(sku).await });
    }
    tasks.join_all().await;
}

/// Looks one sku up.
#[tracing::instrument]
async fn check_one(sku: String) -> bool {
    tokio::time::sleep(Duration::from_millis(2)).await;
    !sku.is_empty()
}
