//! # Exercise 4: a database call as a CLIENT span the conventions describe (a solution)
//!
//! The span covers the statement only; the values stay out of it (they are bound parameters).

use rusqlite::Connection;

/// The statement that stores an order.
pub const INSERT: &str = "INSERT INTO orders (id, total_cents) VALUES (?1, ?2)";

/// Stores the order `id`, worth `total_cents`.
pub fn insert_order(db: &Connection, id: &str, total_cents: i64) -> rusqlite::Result<()> {
    let span = tracing::info_span!(
        "INSERT orders",
        otel.kind = "client",
        db.system.name = "sqlite",
        db.operation.name = "INSERT",
        db.collection.name = "orders",
        db.query.text = INSERT,
    );
    let _entered = span.enter();
    db.execute(INSERT, rusqlite::params![id, total_cents])?;
    Ok(())
}
