//! Exercise 4: a database call as a CLIENT span with the semantic conventions' attributes.

use tracectl::model::{Kind, Span};

use super::{Exercise, Variant, find};
use crate::{lab::Lab, solutions, yours};

pub(super) const EXERCISE: Exercise = Exercise {
    file: "04_database_span.rs",
    title: "a database call as a CLIENT span the semantic conventions describe",
    expected: "order-service  POST /orders\n  order-service  INSERT orders (CLIENT; db.system.name=sqlite, \
               db.operation.name=INSERT, db.collection.name=orders, db.query.text with placeholders)",
    hint: "`let span = tracing::info_span!(\"INSERT orders\", otel.kind = \"client\", db.system.name = \
           \"sqlite\", ...); let _entered = span.enter();` before the statement",
    run,
    judge,
};

/// The order the exercise stores: its id must not be in the span.
const ORDER: &str = "ord-7";

fn run(variant: Variant) -> Lab {
    let lab = Lab::new("order-service");
    let db = rusqlite::Connection::open_in_memory().expect("an in-memory SQLite");
    db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, total_cents INTEGER NOT NULL)", [])
        .expect("the table");
    let insert = match variant {
        Variant::Yours => yours::database_span::insert_order,
        Variant::Solution => solutions::database_span::insert_order,
    };
    tracing::info_span!("POST /orders", otel.kind = "server")
        .in_scope(|| insert(&db, ORDER, 4_200))
        .expect("the insert");
    lab
}

fn judge(spans: &[Span]) -> Result<(), String> {
    let Some(span) = spans.iter().find(|s| s.name != "POST /orders") else {
        return Err("no span describes the INSERT: the trace shows a `POST /orders` span and nothing of \
                    where its time went"
            .to_owned());
    };
    let name = &span.name;
    if find(spans, "order-service", "INSERT orders").is_none() {
        return Err(format!(
            "the database span is named `{name}`, not `INSERT orders` ({{db.operation.name}} {{db.collection.name}})"
        ));
    }
    if span.kind != Kind::Client {
        return Err(format!("`{name}` is a span of kind {:?}: a call to a database is CLIENT", span.kind));
    }
    for (key, value) in
        [("db.system.name", "sqlite"), ("db.operation.name", "INSERT"), ("db.collection.name", "orders")]
    {
        if span.str_attribute(key) != Some(value) {
            return Err(format!(
                "`{name}` has {key}={:?}, where the conventions ask for {value:?}",
                span.str_attribute(key)
            ));
        }
    }
    match span.str_attribute("db.query.text") {
        Some(text) if text.contains(ORDER) => Err(format!(
            "`{name}`'s db.query.text holds the order's id ({text:?}): the statement goes with its placeholders"
        )),
        Some(text) if text.contains("INSERT INTO orders") => Ok(()),
        other => Err(format!("`{name}` has db.query.text={other:?}, not the statement that ran")),
    }
}
