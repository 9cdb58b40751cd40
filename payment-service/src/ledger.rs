//! Stripe's side of idempotency: one charge per idempotency key, kept in a SQLite file.
//!
//! Stripe is another company's system, so its memory of a charge outlives a crash of ours: if
//! payment-service dies after Stripe charged and before it answered, the retry (same key,
//! `order-<id>`) is answered from here with the charge already made, as the real Stripe would,
//! and the card is charged once. `:memory:` keeps the ledger in memory (for tests that never
//! restart a process).

use std::{
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};

use checkout_domain::values::Cents;
use rusqlite::{Connection, OptionalExtension as _, params};

/// How many idempotency keys the simulated Stripe remembers (the real one: 24 hours' worth).
const REMEMBERED_KEYS: i64 = 10_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS charges (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    charge_id       TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL
);";

/// The charge Stripe created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Stripe's id for the charge (`ch_…`).
    pub id: String,
}

/// The ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the Stripe ledger: {0}")]
pub struct LedgerError(String);

/// Charges made, by idempotency key.
#[derive(Debug, Clone)]
pub struct Ledger {
    conn: Arc<Mutex<Connection>>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let failed = |e: &dyn std::fmt::Display| LedgerError(format!("{}: {e}", path.display()));
        let conn = if path == Path::new(":memory:") {
            Connection::open_in_memory()
        } else {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
            }
            Connection::open(path)
        }
        .map_err(|e| failed(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| failed(&e))?;
        // As the order database: a commit survives a crash of the process (not of the machine).
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| failed(&e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| failed(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| failed(&e))?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// The charge for `key`: the one made before (`true`: replayed), or a new one, recorded
    /// before it is answered. Two requests with one key at once get the same charge.
    pub async fn charge_once(&self, key: &str, amount: Cents) -> Result<(Charge, bool), LedgerError> {
        let (conn, key) = (self.conn.clone(), key.to_owned());
        let new_id = format!("ch_{}", uuid::Uuid::new_v4().simple());
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO charges (idempotency_key, charge_id, amount_cents, created_at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![key, new_id, amount.as_attribute(), now_ms],
            )?;
            conn.execute(
                "DELETE FROM charges WHERE seq <= (SELECT MAX(seq) FROM charges) - ?1",
                params![REMEMBERED_KEYS],
            )?;
            let id: Option<String> = conn
                .query_row("SELECT charge_id FROM charges WHERE idempotency_key = ?1", params![key], |row| {
                    row.get(0)
                })
                .optional()?;
            Ok::<_, rusqlite::Error>((Charge { id: id.unwrap_or(new_id) }, inserted == 0))
        })
        .await
        .map_err(|e| LedgerError(e.to_string()))?
        .map_err(|e| LedgerError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_charged_once_and_the_charge_outlives_the_process() {
        let path =
            std::env::temp_dir().join(format!("ledger-test-{}.sqlite3", uuid::Uuid::new_v4().simple()));
        let ledger = Ledger::open(&path).unwrap();
        let (first, replayed) = ledger.charge_once("order-1", Cents::new(100)).await.unwrap();
        assert!(!replayed);
        assert_eq!(ledger.charge_once("order-1", Cents::new(100)).await.unwrap(), (first.clone(), true));
        drop(ledger);
        // A new process on the same file: Stripe remembers.
        let reopened = Ledger::open(&path).unwrap();
        assert_eq!(reopened.charge_once("order-1", Cents::new(100)).await.unwrap(), (first, true));
        let (other, replayed) = reopened.charge_once("order-2", Cents::new(100)).await.unwrap();
        assert!(!replayed && other.id.starts_with("ch_"));
        let _ = std::fs::remove_file(path);
    }
}
