//! The order database: an embedded SQLite file behind a small connection pool, with one CLIENT
//! span per query, as the database semantic conventions describe it.
//!
//! The query spans are `tracing` spans, as a database crate's own instrumentation would make them
//! (sqlx and diesel's tracing both do): `otel.kind = "client"` makes the bridge give them the
//! CLIENT kind, and `otel.name` their low-cardinality name, `INSERT orders`. They need nothing an
//! edge span has (no context crosses to SQLite), so the OpenTelemetry API would buy nothing here.
//!
//! Each query span carries `db.system.name=sqlite`, `db.operation.name`, `db.collection.name` and
//! `db.query.text` with `?` placeholders: the statement, never the values bound to it (a customer
//! id or an idempotency key is data, and data stays out of spans).
//!
//! The pool is where the `pool-contention` lesson lives. Taking a connection is free while one is
//! idle; when none is, the request waits in a `waiting for a connection` span whose attributes name
//! the requests ahead of it (their `customer.id`, read from *their* baggage, and their trace ids),
//! so a trace of a slow checkout points at the ones it queued behind.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use checkout_domain::simulate::Latency;
use checkout_domain::values::Cents;
use opentelemetry::{KeyValue, trace::SpanContext, trace::TraceContextExt as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::{Instrument as _, field};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::catalog::OrderItem;

/// How long SQLite waits for another connection's write lock before giving up, beyond the
/// longest the `slow-db` lesson's report holds it ([`Database::open`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    order_id        TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL,
    items           TEXT NOT NULL,
    total_cents     INTEGER NOT NULL,
    status          TEXT NOT NULL,
    payment_id      TEXT,
    idempotency_key TEXT UNIQUE,
    request_hash    TEXT,
    created_at_ms   INTEGER NOT NULL,
    owner           TEXT,
    trace_id        TEXT,
    span_id         TEXT
);";

/// Columns added since the first schema, added to a database created before them.
const ADDED_COLUMNS: [&str; 3] = ["owner", "trace_id", "span_id"];

const INSERT: Query = Query {
    operation: "INSERT",
    summary: "INSERT orders",
    text: "INSERT INTO orders (order_id, customer_id, items, total_cents, status, idempotency_key, \
           request_hash, created_at_ms, owner, trace_id, span_id) \
           VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10)",
};
const TAKE_OVER: Query = Query {
    operation: "UPDATE",
    summary: "UPDATE orders",
    text: "UPDATE orders SET status = 'pending', owner = ?2 WHERE order_id = ?1",
};
const CONFIRM: Query = Query {
    operation: "UPDATE",
    summary: "UPDATE orders",
    text: "UPDATE orders SET status = 'confirmed', payment_id = ?2 WHERE order_id = ?1",
};
const SET_STATUS: Query = Query {
    operation: "UPDATE",
    summary: "UPDATE orders",
    text: "UPDATE orders SET status = ?2 WHERE order_id = ?1",
};
const BY_ID: Query = Query {
    operation: "SELECT",
    summary: "SELECT orders",
    text: "SELECT order_id, customer_id, items, total_cents, status, payment_id, idempotency_key, \
           request_hash, trace_id, span_id FROM orders WHERE order_id = ?1",
};
const BY_KEY: Query = Query {
    operation: "SELECT",
    summary: "SELECT orders",
    text: "SELECT order_id, customer_id, items, total_cents, status, payment_id, idempotency_key, \
           request_hash, trace_id, span_id FROM orders WHERE idempotency_key = ?1",
};

/// The `slow-db` lesson's report: the day's confirmed sales.
const SALES_REPORT: Query = Query {
    operation: "SELECT",
    summary: "sales_report",
    text: "SELECT COUNT(*), COALESCE(SUM(total_cents), 0) FROM orders WHERE status = 'confirmed' \
           AND created_at_ms >= ?1",
};

/// A statement, its operation name and its summary (the span's name, as the database semantic
/// conventions build it: the operation, then the collection), as they appear on the span.
#[derive(Debug, Clone, Copy)]
struct Query {
    operation: &'static str,
    summary: &'static str,
    text: &'static str,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Recorded, payment not done yet.
    Pending,
    /// Paid.
    Confirmed,
    /// Payment failed; the same Idempotency-Key may try again.
    Failed,
}

impl OrderStatus {
    /// The stored (and answered) name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "confirmed" => OrderStatus::Confirmed,
            "failed" => OrderStatus::Failed,
            _ => OrderStatus::Pending,
        }
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    /// Our id for it.
    pub order_id: String,
    /// Who bought.
    pub customer_id: String,
    /// What they bought.
    pub items: Vec<OrderItem>,
    /// The total, in cents.
    pub total_cents: Cents,
    /// Where it is in its life.
    pub status: OrderStatus,
    /// payment-service's id, once paid.
    pub payment_id: Option<String>,
    /// The client's `Idempotency-Key`, if it sent one.
    pub idempotency_key: Option<String>,
    /// A digest of the request the key was first used with.
    pub request_hash: Option<String>,
    /// The trace id and span id (hex) of the order-service SERVER span of the attempt that
    /// created the order: where a resumed attempt's span link points.
    pub created_by: Option<(String, String)>,
}

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite said no.
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// An order with this idempotency key is already stored (a concurrent duplicate).
    #[error("an order with this idempotency key already exists")]
    DuplicateKey,
    /// The blocking task running the query died.
    #[error("the database task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            // The only constraint a write can break is the unique idempotency key.
            rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                DbError::DuplicateKey
            }
            other => DbError::Sqlite(other),
        }
    }
}

impl DbError {
    /// SQLite's extended result code, when SQLite gave one.
    fn sqlite_code(&self) -> Option<i32> {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => Some(e.extended_code),
            _ => None,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            DbError::Sqlite(_) => "sqlite_error",
            DbError::DuplicateKey => "duplicate_key",
            DbError::Task(_) => "task_failed",
        }
    }
}

/// The order database: a file, and the pools that reach it.
#[derive(Debug, Clone)]
pub struct Database {
    /// The shared pool every request uses.
    main: Arc<Pool>,
    /// A one-connection pool: the `pool-contention` scenario routes its queries here, so that
    /// those requests queue behind each other without slowing anyone else.
    contended: Arc<Pool>,
    /// How long a query takes (the simulated part of it: disk, locks, a busy server).
    query_latency: Latency,
    /// The `pool-contention` fix: its requests use the shared pool, sized for the concurrency
    /// served, instead of the single connection.
    contention_fixed: bool,
}

impl Database {
    /// Opens (creating if needed) the database at `path`, with a pool of `pool_size` connections
    /// that wait up to `busy_timeout` for another connection's write lock.
    pub fn open(
        path: &Path,
        pool_size: usize,
        query_latency: Latency,
        busy_timeout: Duration,
    ) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Task(format!("{}: {e}", dir.display())))?;
        }
        let first = open_connection(path, busy_timeout)?;
        first.execute_batch(SCHEMA)?;
        for column in ADDED_COLUMNS {
            let present: bool = first.query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('orders') WHERE name = ?1",
                params![column],
                |row| row.get(0),
            )?;
            if !present {
                first.execute_batch(&format!("ALTER TABLE orders ADD COLUMN {column} TEXT"))?;
            }
        }
        let main = Arc::new(Pool::new("orders", path, pool_size.max(1), busy_timeout));
        main.idle_connections().push(first);
        let contended = Arc::new(Pool::new("orders-single", path, 1, busy_timeout));
        Ok(Self { main, contended, query_latency, contention_fixed: false })
    }

    /// The `pool-contention` fix: no request is routed to the single-connection pool.
    pub fn sized_for_concurrency(self) -> Self {
        Self { contention_fixed: true, ..self }
    }

    /// Starts the back office's sales report, the `slow-db` lesson's other transaction, on a
    /// connection of its own; returns once it holds its transaction. The report takes `takes`
    /// and is a trace of its own (a back-office job is no one's checkout).
    ///
    /// Without its fix it reads inside a *write* transaction (`BEGIN IMMEDIATE`, as code that
    /// "may update a summary later" often does): SQLite has one write lock per database, so for
    /// the whole report every INSERT waits (the busy timeout), and the answer is the report's
    /// span context, for the waiting INSERT's span to link to. With the fix (`snapshot`) it reads
    /// in a read transaction: in WAL mode a reader works on a snapshot and never blocks the
    /// writer, so the answer is `None` and the INSERT goes straight through, while the report
    /// takes as long as before. `None` too when the report could not begin (it logs why).
    pub async fn start_sales_report(&self, takes: Latency, snapshot: bool) -> Option<SpanContext> {
        let (path, busy_timeout, hold) = (self.main.path.clone(), self.main.busy_timeout, takes.sample());
        let since_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64) - 86_400_000;
        let begin = if snapshot { "BEGIN DEFERRED" } else { "BEGIN IMMEDIATE" };
        let (holding, held) = oneshot::channel();
        // Made on the blocking thread, where no request's context is current: a root span. A new
        // thread has no `tracing` subscriber of its own unless one is global: take ours along.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        tokio::task::spawn_blocking(move || {
            let _subscriber = tracing::dispatcher::set_default(&dispatch);
            let span = tracing::info_span!(
                parent: None,
                "sales_report",
                db.system.name = "sqlite",
                db.namespace = "main",
                db.operation.name = SALES_REPORT.operation,
                db.collection.name = "orders",
                db.query.text = SALES_REPORT.text,
                demo.transaction = begin,
                otel.status_description = field::Empty,
            );
            let context = span.context().span().span_context().clone();
            let _entered = span.enter();
            let report = || -> rusqlite::Result<()> {
                let conn = open_connection(&path, busy_timeout)?;
                conn.execute_batch(begin)?;
                // A deferred transaction takes its snapshot at its first read.
                conn.query_row(SALES_REPORT.text, params![since_ms], |_| Ok(()))?;
                let _ = holding.send((!snapshot).then_some(context));
                // The aggregation the real report would do, with the transaction open.
                std::thread::sleep(hold);
                conn.execute_batch("COMMIT")
            };
            // A report that fails is the back office's problem, not the checkout's.
            if let Err(error) = report() {
                span.record("otel.status_description", error.to_string());
                tracing::warn!(%error, "The sales report failed");
            }
        });
        held.await.ok().flatten()
    }

    /// Stores a new order as `pending`, worked on by `owner` (this process). `behind` is the
    /// transaction holding the write lock when the insert starts, if one is known to: the
    /// INSERT's span links to it.
    pub async fn insert(
        &self,
        caller: &Caller,
        order: &StoredOrder,
        owner: &str,
        behind: Option<SpanContext>,
    ) -> Result<(), DbError> {
        let (order, owner) = (order.clone(), owner.to_owned());
        let (trace_id, span_id) = order.created_by.clone().unzip();
        let items = serde_json::to_string(&order.items).map_err(|e| DbError::Task(e.to_string()))?;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        self.run(caller, INSERT, behind, move |conn| {
            conn.execute(
                INSERT.text,
                params![
                    order.order_id,
                    order.customer_id,
                    items,
                    order.total_cents.as_attribute(),
                    order.idempotency_key,
                    order.request_hash,
                    now_ms,
                    owner,
                    trace_id,
                    span_id
                ],
            )
        })
        .await
        .map(drop)
    }

    /// Marks an order paid.
    pub async fn confirm(&self, caller: &Caller, order_id: &str, payment_id: &str) -> Result<(), DbError> {
        let (order_id, payment_id) = (order_id.to_owned(), payment_id.to_owned());
        self.run(caller, CONFIRM, None, move |conn| conn.execute(CONFIRM.text, params![order_id, payment_id]))
            .await
            .map(drop)
    }

    /// Makes `owner` (this process) the one working on an order again, `pending`: an order whose
    /// attempt died, or whose payment failed, retried under its own id.
    pub async fn take_over(&self, caller: &Caller, order_id: &str, owner: &str) -> Result<(), DbError> {
        let (order_id, owner) = (order_id.to_owned(), owner.to_owned());
        self.run(caller, TAKE_OVER, None, move |conn| conn.execute(TAKE_OVER.text, params![order_id, owner]))
            .await
            .map(drop)
    }

    /// Sets an order's status.
    pub async fn set_status(
        &self,
        caller: &Caller,
        order_id: &str,
        status: OrderStatus,
    ) -> Result<(), DbError> {
        let order_id = order_id.to_owned();
        self.run(caller, SET_STATUS, None, move |conn| {
            conn.execute(SET_STATUS.text, params![order_id, status.as_str()])
        })
        .await
        .map(drop)
    }

    /// The order with this id.
    pub async fn get(&self, caller: &Caller, order_id: &str) -> Result<Option<StoredOrder>, DbError> {
        self.select_one(caller, BY_ID, order_id.to_owned()).await
    }

    /// The order first stored with this idempotency key.
    pub async fn by_idempotency_key(
        &self,
        caller: &Caller,
        key: &str,
    ) -> Result<Option<StoredOrder>, DbError> {
        self.select_one(caller, BY_KEY, key.to_owned()).await
    }

    async fn select_one(
        &self,
        caller: &Caller,
        query: Query,
        value: String,
    ) -> Result<Option<StoredOrder>, DbError> {
        self.run(caller, query, None, move |conn| {
            conn.query_row(query.text, params![value], row_to_order).optional()
        })
        .await
    }

    /// Runs `work` on a pooled connection inside the query's CLIENT span, on a blocking thread;
    /// the span links to `behind`, the transaction whose lock it will wait for, if any.
    async fn run<T: Send + 'static>(
        &self,
        caller: &Caller,
        query: Query,
        behind: Option<SpanContext>,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let contended = caller.contended && !self.contention_fixed;
        let pool = if contended { &self.contended } else { &self.main };
        let mut lease = pool.acquire(caller).await?;
        // A CLIENT span: the database is another process in a real shop (the semantic conventions
        // name it `{operation} {collection}`).
        // `db.namespace` is `main`, SQLite's name for the database a connection opens (as in
        // `main.orders`): the file's path would say where the data lives, not which database it is.
        let span = tracing::info_span!(
            "query",
            otel.name = query.summary,
            otel.kind = "client",
            db.system.name = "sqlite",
            db.namespace = "main",
            db.operation.name = query.operation,
            db.collection.name = "orders",
            db.query.summary = query.summary,
            db.query.text = query.text,
            db.client.connection.pool.name = pool.name,
            db.response.status_code = field::Empty,
            error.type = field::Empty,
            otel.status_description = field::Empty,
        );
        if let Some(holder) = behind {
            span.add_link_with_attributes(holder, vec![KeyValue::new("demo.waited_for", "the write lock")]);
        }
        let latency = self.query_latency;
        let outcome = async move {
            // The connection is held while the query "runs": that is what makes a pool run dry.
            latency.wait().await;
            let conn =
                lease.conn.take().ok_or_else(|| DbError::Task("leased without a connection".into()))?;
            let (conn, result) = tokio::task::spawn_blocking(move || {
                let result = work(&conn);
                (conn, result)
            })
            .await
            .map_err(|e| DbError::Task(e.to_string()))?;
            lease.give_back(conn);
            Ok(result?)
        };
        let outcome = outcome.instrument(span.clone()).await;
        // A duplicate key is the caller's answer (a repeated request), not a database failure.
        if let Err(error) = &outcome
            && !matches!(error, DbError::DuplicateKey)
        {
            // Recording a status description marks the span's status ERROR.
            span.record("error.type", error.error_type());
            if let Some(code) = error.sqlite_code() {
                // SQLite's extended result code (2067 is SQLITE_CONSTRAINT_UNIQUE), as a string.
                span.record("db.response.status_code", code.to_string());
            }
            span.record("otel.status_description", error.to_string());
        }
        outcome
    }
}

fn row_to_order(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredOrder> {
    let items: String = row.get(2)?;
    let total: i64 = row.get(3)?;
    let status: String = row.get(4)?;
    Ok(StoredOrder {
        order_id: row.get(0)?,
        customer_id: row.get(1)?,
        items: serde_json::from_str(&items).unwrap_or_default(),
        total_cents: Cents::new(total.max(0) as u64),
        status: OrderStatus::parse(&status),
        payment_id: row.get(5)?,
        idempotency_key: row.get(6)?,
        request_hash: row.get(7)?,
        created_by: row.get::<_, Option<String>>(8)?.zip(row.get::<_, Option<String>>(9)?),
    })
}

fn open_connection(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL lets readers run beside the writer; the busy timeout makes writers queue, not fail.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// Who a query runs for: the request's customer and trace, which a request waiting behind it
/// for a pooled connection names (`demo.waited_behind.*`), and whether the `pool-contention`
/// scenario makes it share the small pool. The handler reads them from its request and passes
/// them down: storage reads no ambient request state.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The `customer` baggage entry of the request.
    pub customer: String,
    /// The request's trace id.
    pub trace_id: String,
    /// Whether the request is in the `pool-contention` scenario.
    pub contended: bool,
}

/// A request holding or waiting for a connection: what a waiter's span names.
#[derive(Debug, Clone)]
struct Holder {
    ticket: u64,
    customer: String,
    trace_id: String,
}

/// A fixed number of connections, opened on first use. A semaphore counts them. Every request
/// that asks for one joins a queue first and leaves it only after giving its connection back, so a
/// request that finds none free can name everyone ahead of it.
#[derive(Debug)]
struct Pool {
    name: &'static str,
    path: PathBuf,
    size: usize,
    busy_timeout: Duration,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    queue: Mutex<Vec<Holder>>,
    next_ticket: AtomicU64,
}

impl Pool {
    fn new(name: &'static str, path: &Path, size: usize, busy_timeout: Duration) -> Self {
        Self {
            name,
            path: path.to_owned(),
            size,
            busy_timeout,
            permits: Arc::new(Semaphore::new(size)),
            idle: Mutex::new(Vec::with_capacity(size)),
            queue: Mutex::new(Vec::new()),
            next_ticket: AtomicU64::new(1),
        }
    }

    fn idle_connections(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding this lock cannot leave the Vec half-changed: recover it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Holder>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn acquire(self: &Arc<Self>, caller: &Caller) -> Result<Lease, DbError> {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let me = Holder { ticket, customer: caller.customer.clone(), trace_id: caller.trace_id.clone() };
        // Joining the queue and trying for a permit happen under one lock, and a permit is freed
        // before its holder leaves the queue: so when none is free, the queue names who has them.
        let (tried, ahead) = {
            let mut queue = self.queue();
            let tried = self.permits.clone().try_acquire_owned();
            let ahead = if tried.is_ok() { Vec::new() } else { queue.clone() };
            queue.push(me);
            (tried, ahead)
        };
        // Leaves the queue however this ends: connection returned, query cancelled, error.
        let place = Place { pool: Arc::clone(self), ticket };
        let permit = match tried {
            Ok(permit) => permit,
            Err(_) => self.wait_for_connection(&ahead).await?,
        };
        let idle = self.idle_connections().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let (path, busy_timeout) = (self.path.clone(), self.busy_timeout);
                tokio::task::spawn_blocking(move || open_connection(&path, busy_timeout))
                    .await
                    .map_err(|e| DbError::Task(e.to_string()))??
            }
        };
        Ok(Lease { pool: Arc::clone(self), conn: Some(conn), _permit: permit, _place: place })
    }

    /// Waits for a free connection, in a span that names the requests ahead in the queue (by the
    /// customer their baggage carried, and by trace id) and says how many there are.
    async fn wait_for_connection(&self, ahead: &[Holder]) -> Result<OwnedSemaphorePermit, DbError> {
        let join = |f: fn(&Holder) -> &str| ahead.iter().map(f).collect::<Vec<_>>().join(",");
        let span = tracing::info_span!(
            "waiting for a connection",
            db.client.connection.pool.name = self.name,
            db.client.connection.pool.max = self.size as i64,
            demo.queue.ahead = ahead.len() as i64,
            demo.waited_behind.customer = join(|h| &h.customer),
            demo.waited_behind.trace_id = join(|h| &h.trace_id),
        );
        async {
            tracing::info!(ahead = ahead.len() as i64, "No free connection in pool {}: waiting", self.name);
            self.permits.clone().acquire_owned().await
        }
        .instrument(span)
        .await
        .map_err(|_| DbError::Task("the connection pool was closed".into()))
    }
}

/// A request's place in the pool's queue; dropping it leaves the queue.
struct Place {
    pool: Arc<Pool>,
    ticket: u64,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.pool.queue().retain(|h| h.ticket != self.ticket);
    }
}

/// A connection on loan. Dropping it returns the connection (unless a cancelled query took it
/// down with it; the pool then opens a fresh one on next use), then frees the permit, then leaves
/// the queue: fields drop in declaration order, so a request that finds no free connection
/// always finds its holder still in the queue.
struct Lease {
    pool: Arc<Pool>,
    conn: Option<Connection>,
    _permit: OwnedSemaphorePermit,
    _place: Place,
}

impl Lease {
    fn give_back(&mut self, conn: Connection) {
        self.conn = Some(conn);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle_connections().push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use checkout_domain::values::{Quantity, Sku};

    #[test]
    fn a_sqlite_failure_gives_its_extended_result_code_for_the_span_and_other_errors_none() {
        let busy =
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert_eq!(DbError::from(busy).sqlite_code(), Some(rusqlite::ffi::SQLITE_BUSY));
        assert_eq!(DbError::DuplicateKey.sqlite_code(), None);
        assert_eq!(DbError::Task("gone".into()).sqlite_code(), None);
    }

    fn order(id: &str, key: Option<&str>) -> StoredOrder {
        StoredOrder {
            order_id: id.into(),
            customer_id: "cust-1".into(),
            items: vec![OrderItem {
                sku: Sku::parse("sku", "sku-mug".into()).unwrap(),
                quantity: Quantity::parse("quantity", 2).unwrap(),
            }],
            total_cents: Cents::new(2_500),
            status: OrderStatus::Pending,
            payment_id: None,
            idempotency_key: key.map(Into::into),
            request_hash: key.map(|_| "h".into()),
            created_by: Some(("4bf92f3577b34da6a3ce929d0e0e4736".into(), "00f067aa0ba902b7".into())),
        }
    }

    fn temp_db(name: &str) -> (PathBuf, Database) {
        let dir = std::env::temp_dir().join(format!("order-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("orders.sqlite3");
        let db = Database::open(&path, 2, Latency::default(), BUSY_TIMEOUT).unwrap();
        (path, db)
    }

    #[tokio::test]
    async fn orders_round_trip_and_survive_reopening_the_file() {
        let (path, db) = temp_db("roundtrip");
        db.insert(&Caller::default(), &order("ord_1", Some("key-1")), "test", None).await.unwrap();
        db.confirm(&Caller::default(), "ord_1", "pay_1").await.unwrap();
        drop(db);

        let db = Database::open(&path, 1, Latency::default(), BUSY_TIMEOUT).unwrap();
        let stored = db.get(&Caller::default(), "ord_1").await.unwrap().unwrap();
        assert_eq!(stored.status, OrderStatus::Confirmed);
        assert_eq!(stored.payment_id.as_deref(), Some("pay_1"));
        assert_eq!(stored.items, order("ord_1", None).items);
        assert_eq!(
            db.by_idempotency_key(&Caller::default(), "key-1").await.unwrap().unwrap().order_id,
            "ord_1"
        );
        assert_eq!(db.get(&Caller::default(), "ord_nope").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_database_from_before_the_owner_and_trace_columns_gets_them_and_keeps_its_orders() {
        let dir = std::env::temp_dir().join(format!("order-db-test-{}-old", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("orders.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, items TEXT NOT NULL, \
             total_cents INTEGER NOT NULL, status TEXT NOT NULL, payment_id TEXT, idempotency_key TEXT UNIQUE, \
             request_hash TEXT, created_at_ms INTEGER NOT NULL);
             INSERT INTO orders VALUES ('ord_old', 'c', '[]', 100, 'confirmed', 'pay_old', NULL, NULL, 0);",
        )
        .unwrap();
        drop(old);
        let db = Database::open(&path, 1, Latency::default(), BUSY_TIMEOUT).unwrap();
        let kept = db.get(&Caller::default(), "ord_old").await.unwrap().unwrap();
        assert_eq!((kept.status, kept.created_by), (OrderStatus::Confirmed, None));
        db.insert(&Caller::default(), &order("ord_new", Some("k")), "test", None).await.unwrap();
        let new = db.get(&Caller::default(), "ord_new").await.unwrap().unwrap();
        assert_eq!(new.created_by, order("ord_new", None).created_by, "the creating attempt's span");
        db.take_over(&Caller::default(), "ord_new", "another").await.unwrap();
        assert_eq!(
            db.get(&Caller::default(), "ord_new").await.unwrap().unwrap().created_by,
            new.created_by,
            "kept on take-over"
        );
    }

    #[tokio::test]
    async fn a_reused_idempotency_key_is_a_duplicate() {
        let (_, db) = temp_db("dupkey");
        db.insert(&Caller::default(), &order("ord_1", Some("k")), "test", None).await.unwrap();
        let second = db.insert(&Caller::default(), &order("ord_2", Some("k")), "test", None).await;
        assert!(matches!(second, Err(DbError::DuplicateKey)), "{second:?}");
        // Orders without a key never collide.
        db.insert(&Caller::default(), &order("ord_3", None), "test", None).await.unwrap();
        db.insert(&Caller::default(), &order("ord_4", None), "test", None).await.unwrap();
    }
}
