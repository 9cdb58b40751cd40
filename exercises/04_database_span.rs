//! # Exercise 4: a database call as a CLIENT span the conventions describe
//!
//! Practises: `lessons/slow-db.md` (the `INSERT orders` span that takes most of the checkout) and
//! `lessons/concepts.md`, "Attributes and events".
//!
//! order-service stores each order in SQLite. Without a span around the statement, a slow insert
//! shows only as a `POST /orders` span that is long for no visible reason. The database semantic
//! conventions say how that span looks, so every backend can tell a database call from the rest:
//! kind CLIENT, named `{db.operation.name} {db.collection.name}`, with `db.system.name`,
//! `db.operation.name`, `db.collection.name` and `db.query.text`: the statement with its
//! placeholders, never the values (an order id or a card token would leak into every trace).
//!
//! Check it: `scripts/exercise.sh 4`. Start again: `scripts/exercise.sh --reset 4`.

use rusqlite::Connection;

/// The statement that stores an order.
pub const INSERT: &str = "INSERT INTO orders (id, total_cents) VALUES (?1, ?2)";

/// Stores the order `id`, worth `total_cents`.
pub fn insert_order(db: &Connection, id: &str, total_cents: i64) -> rusqlite::Result<()> {
    // YOUR PART: run the statement inside a span as described above. A `tracing` span turns into
    // an OpenTelemetry span; its `otel.kind` field sets the kind, and a field name may have dots.
    db.execute(INSERT, rusqlite::params![id, total_cents])?;
    Ok(())
}
