//! The own checksum log in `modvault_log_records` and `modvault_log_hashes`,
//! with its committed size in `modvault_logs`.
//!
//! An append is one transaction that first locks the log's row
//! (`SELECT … FOR UPDATE`): one writer at a time across every replica.
//! Under the lock it looks the version up (never two records for one
//! version), computes the new stored hashes from the committed ones, and
//! writes record, hashes and size together. A replica killed at any point
//! leaves either the old tree or the new one; once `append` returns the
//! commit is durable in PostgreSQL.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sqlx::{PgPool, Postgres};

use modvault_error::ErrorKind;
use modvault_sumdb::tlog::{self, stored_hashes, Hash, HashReader};

use super::timed;
use crate::{ChecksumLog, StateError, StateResult};

pub struct PgLog {
    pool: PgPool,
    name: String,
}

impl PgLog {
    /// The log called `name` (the checksum database's name), created empty
    /// if the database has none.
    pub async fn open(pool: PgPool, name: &str) -> StateResult<PgLog> {
        timed(
            "create checksum log",
            sqlx::query("INSERT INTO modvault_logs (name, size) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .execute(&pool),
        )
        .await?;
        Ok(PgLog {
            pool,
            name: name.to_owned(),
        })
    }
}

async fn read_hashes_in<'e, E>(executor: E, log: &str, indexes: &[i64]) -> StateResult<Vec<Hash>>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let rows: Vec<(i64, Vec<u8>)> = timed(
        "read checksum log hashes",
        sqlx::query_as(
            "SELECT idx, hash FROM modvault_log_hashes WHERE log = $1 AND idx = ANY($2)",
        )
        .bind(log)
        .bind(indexes)
        .fetch_all(executor),
    )
    .await?;
    let found: HashMap<i64, Vec<u8>> = rows.into_iter().collect();
    indexes
        .iter()
        .map(|i| {
            let bytes = found.get(i).ok_or_else(|| {
                StateError::new(
                    ErrorKind::Storage,
                    format!("checksum log {log}: hash {i} is not stored"),
                )
            })?;
            let hash: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                StateError::new(
                    ErrorKind::Storage,
                    format!("checksum log {log}: hash {i} is malformed"),
                )
            })?;
            Ok(Hash(hash))
        })
        .collect()
}

/// Which stored hashes `stored_hashes(n, …)` reads: they depend only on
/// `n`, never on hash values (the same two-pass idea as the checksum
/// crate's tile reads).
fn hashes_needed(n: i64) -> Vec<i64> {
    struct Recording(Mutex<Vec<i64>>);
    impl HashReader for Recording {
        fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, tlog::Error> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(indexes);
            Ok(vec![Hash([0; 32]); indexes.len()])
        }
    }
    let recording = Recording(Mutex::new(Vec::new()));
    let _ = stored_hashes(n, b"", &recording);
    let mut indexes = recording.0.into_inner().unwrap_or_else(|p| p.into_inner());
    indexes.sort_unstable();
    indexes.dedup();
    indexes
}

#[async_trait]
impl ChecksumLog for PgLog {
    async fn append(&self, path: &str, version: &str, text: &str) -> StateResult<i64> {
        if let Some(id) = self.find(path, version).await? {
            return Ok(id);
        }
        let mut tx = timed("begin", self.pool.begin()).await?;
        // The writers' lock: held until commit or rollback (a killed
        // replica's connection closes, which rolls back and releases it).
        let size: i64 = timed(
            "lock checksum log",
            sqlx::query_scalar("SELECT size FROM modvault_logs WHERE name = $1 FOR UPDATE")
                .bind(&self.name)
                .fetch_one(&mut *tx),
        )
        .await?;
        let existing: Option<i64> = timed(
            "find record",
            sqlx::query_scalar(
                "SELECT id FROM modvault_log_records WHERE log = $1 AND path = $2 AND version = $3",
            )
            .bind(&self.name)
            .bind(path)
            .bind(version)
            .fetch_optional(&mut *tx),
        )
        .await?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let needed = hashes_needed(size);
        let known = read_hashes_in(&mut *tx, &self.name, &needed).await?;
        let known: HashMap<i64, Hash> = needed.into_iter().zip(known).collect();
        let new_hashes = stored_hashes(size, text.as_bytes(), &known).map_err(|e| {
            StateError::new(
                ErrorKind::Storage,
                format!("checksum log {}: {e}", self.name),
            )
        })?;
        let first = tlog::stored_hash_count(size);
        let indexes: Vec<i64> = (first..first + new_hashes.len() as i64).collect();
        let hashes: Vec<Vec<u8>> = new_hashes.iter().map(|h| h.0.to_vec()).collect();
        timed(
            "append record",
            sqlx::query(
                "INSERT INTO modvault_log_records (log, id, path, version, text) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&self.name)
            .bind(size)
            .bind(path)
            .bind(version)
            .bind(text.as_bytes())
            .execute(&mut *tx),
        )
        .await?;
        timed(
            "append hashes",
            sqlx::query(
                "INSERT INTO modvault_log_hashes (log, idx, hash) SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[])",
            )
            .bind(&self.name)
            .bind(&indexes)
            .bind(&hashes)
            .execute(&mut *tx),
        )
        .await?;
        timed(
            "commit size",
            sqlx::query("UPDATE modvault_logs SET size = $2 WHERE name = $1")
                .bind(&self.name)
                .bind(size + 1)
                .execute(&mut *tx),
        )
        .await?;
        timed("commit", tx.commit()).await?;
        Ok(size)
    }

    async fn find(&self, path: &str, version: &str) -> StateResult<Option<i64>> {
        timed(
            "find record",
            sqlx::query_scalar(
                "SELECT id FROM modvault_log_records WHERE log = $1 AND path = $2 AND version = $3",
            )
            .bind(&self.name)
            .bind(path)
            .bind(version)
            .fetch_optional(&self.pool),
        )
        .await
    }

    async fn size(&self) -> StateResult<i64> {
        timed(
            "checksum log size",
            sqlx::query_scalar("SELECT size FROM modvault_logs WHERE name = $1")
                .bind(&self.name)
                .fetch_one(&self.pool),
        )
        .await
    }

    async fn read_hashes(&self, indexes: &[i64]) -> StateResult<Vec<Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        read_hashes_in(&self.pool, &self.name, indexes).await
    }

    async fn read_records(&self, start: i64, count: i64) -> StateResult<Vec<Vec<u8>>> {
        if start < 0 || count < 0 {
            return Err(StateError::new(
                ErrorKind::Invalid,
                format!("no records {start}+{count}"),
            ));
        }
        let rows: Vec<(i64, Vec<u8>)> = timed(
            "read records",
            sqlx::query_as(
                "SELECT id, text FROM modvault_log_records WHERE log = $1 AND id >= $2 AND id < $3 ORDER BY id",
            )
            .bind(&self.name)
            .bind(start)
            .bind(start + count)
            .fetch_all(&self.pool),
        )
        .await?;
        if rows.len() as i64 != count {
            return Err(StateError::new(
                ErrorKind::Storage,
                format!(
                    "checksum log {}: records {start}+{count} are not all stored",
                    self.name
                ),
            ));
        }
        Ok(rows.into_iter().map(|(_, text)| text).collect())
    }
}
