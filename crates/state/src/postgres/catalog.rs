//! The catalog in `modvault_catalog`, the same table as the embedded
//! SQLite one. "Last served" times are batched as there, and written with
//! `GREATEST` so replicas never move one back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use sqlx::PgPool;

use super::timed;
use crate::sql::{from_millis, like_escape, millis};
use crate::{Catalog, CatalogEntry, CatalogQuery, Match, Origin, StateResult};

const SERVED_BATCH: usize = 512;
const SERVED_FLUSH_AFTER: Duration = Duration::from_secs(2);

pub struct PgCatalog {
    pool: PgPool,
    pending: Mutex<Pending>,
}

struct Pending {
    served: HashMap<(String, String), SystemTime>,
    since: Instant,
}

type Row = (String, String, String, i64, i64, Option<i64>);

impl PgCatalog {
    pub fn new(pool: PgPool) -> PgCatalog {
        PgCatalog {
            pool,
            pending: Mutex::new(Pending {
                served: HashMap::new(),
                since: Instant::now(),
            }),
        }
    }

    fn take_served(&self) -> Vec<((String, String), SystemTime)> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.since = Instant::now();
        pending.served.drain().collect()
    }

    async fn flush_served(&self) -> StateResult<()> {
        write_served(&self.pool, self.take_served()).await
    }
}

async fn write_served(
    pool: &PgPool,
    batch: Vec<((String, String), SystemTime)>,
) -> StateResult<()> {
    {
        if batch.is_empty() {
            return Ok(());
        }
        let mut modules = Vec::with_capacity(batch.len());
        let mut versions = Vec::with_capacity(batch.len());
        let mut times = Vec::with_capacity(batch.len());
        for ((module, version), at) in batch {
            modules.push(module);
            versions.push(version);
            times.push(millis(at));
        }
        timed(
            "catalog serve times",
            sqlx::query(
                "UPDATE modvault_catalog AS c SET last_served_ms = GREATEST(coalesce(c.last_served_ms, 0), b.at) \
                 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS b(module, version, at) \
                 WHERE c.module = b.module AND c.version = b.version",
            )
            .bind(&modules)
            .bind(&versions)
            .bind(&times)
            .execute(pool),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Catalog for PgCatalog {
    async fn record(&self, entry: CatalogEntry) -> StateResult<()> {
        timed(
            "catalog record",
            sqlx::query(
                "INSERT INTO modvault_catalog (module, version, origin, size, stored_at_ms, last_served_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (module, version) DO UPDATE SET origin = excluded.origin, size = excluded.size, \
                 stored_at_ms = excluded.stored_at_ms",
            )
            .bind(&entry.module)
            .bind(&entry.version)
            .bind(entry.origin.as_str())
            .bind(entry.size as i64)
            .bind(millis(entry.stored_at))
            .bind(entry.last_served.map(millis))
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn remove(&self, module: &str, version: &str) -> StateResult<()> {
        timed(
            "catalog remove",
            sqlx::query("DELETE FROM modvault_catalog WHERE module = $1 AND version = $2")
                .bind(module)
                .bind(version)
                .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn served(&self, module: &str, version: &str, at: SystemTime) -> StateResult<()> {
        let due = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let slot = pending
                .served
                .entry((module.to_owned(), version.to_owned()))
                .or_insert(at);
            *slot = (*slot).max(at);
            pending.served.len() >= SERVED_BATCH || pending.since.elapsed() >= SERVED_FLUSH_AFTER
        };
        if due {
            // In the background: a download never waits for the database
            // (which may be down; the times are then lost, not the answer).
            let (pool, batch) = (self.pool.clone(), self.take_served());
            tokio::spawn(async move {
                if let Err(e) = write_served(&pool, batch).await {
                    tracing::warn!(error = %modvault_error::chain(&e), "could not write the last serve times to the catalog");
                }
            });
        }
        Ok(())
    }

    async fn search(&self, query: &CatalogQuery) -> StateResult<Vec<CatalogEntry>> {
        self.flush_served().await?;
        let (condition, pattern) = match query.matching {
            Match::Module => ("module = $1", query.text.clone()),
            Match::Prefix => (
                "module LIKE $1 ESCAPE '\\'",
                format!("{}%", like_escape(&query.text)),
            ),
            Match::Substring => (
                "module LIKE $1 ESCAPE '\\'",
                format!("%{}%", like_escape(&query.text)),
            ),
        };
        let sql = format!(
            "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM modvault_catalog \
             WHERE {condition} ORDER BY module, stored_at_ms, version LIMIT $2 OFFSET $3"
        );
        let rows: Vec<Row> = timed(
            "catalog search",
            sqlx::query_as(&sql)
                .bind(pattern)
                .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
                .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool),
        )
        .await?;
        Ok(entries(rows))
    }

    async fn count(&self) -> StateResult<u64> {
        let n: i64 = timed(
            "catalog count",
            sqlx::query_scalar("SELECT count(*) FROM modvault_catalog").fetch_one(&self.pool),
        )
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn stored_since(
        &self,
        since: SystemTime,
        limit: usize,
    ) -> StateResult<Vec<CatalogEntry>> {
        let rows: Vec<Row> = timed(
            "catalog stored since",
            sqlx::query_as(
                "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM modvault_catalog \
                 WHERE stored_at_ms >= $1 ORDER BY stored_at_ms, module, version LIMIT $2",
            )
            .bind(millis(since))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool),
        )
        .await?;
        Ok(entries(rows))
    }

    async fn eviction_candidates(
        &self,
        idle_before: SystemTime,
        after: Option<&CatalogEntry>,
        limit: usize,
    ) -> StateResult<Vec<CatalogEntry>> {
        self.flush_served().await?;
        let (used, module, version) = match after {
            Some(entry) => (
                millis(crate::last_used(entry)),
                entry.module.clone(),
                entry.version.clone(),
            ),
            None => (i64::MIN, String::new(), String::new()),
        };
        // Keyset paging over the partial index on the same expression.
        let rows: Vec<Row> = timed(
            "catalog eviction candidates",
            sqlx::query_as(
                "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM modvault_catalog \
                 WHERE origin IN ('upstream', 'git') \
                 AND GREATEST(coalesce(last_served_ms, 0), stored_at_ms) < $1 \
                 AND (GREATEST(coalesce(last_served_ms, 0), stored_at_ms), module, version) > ($2, $3, $4) \
                 ORDER BY GREATEST(coalesce(last_served_ms, 0), stored_at_ms), module, version LIMIT $5",
            )
            .bind(millis(idle_before))
            .bind(used)
            .bind(module)
            .bind(version)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool),
        )
        .await?;
        Ok(entries(rows))
    }

    async fn remove_many(&self, versions: &[(String, String)]) -> StateResult<()> {
        if versions.is_empty() {
            return Ok(());
        }
        let (modules, names): (Vec<&str>, Vec<&str>) = versions
            .iter()
            .map(|(m, v)| (m.as_str(), v.as_str()))
            .unzip();
        timed(
            "catalog remove many",
            sqlx::query(
                "DELETE FROM modvault_catalog AS c USING UNNEST($1::text[], $2::text[]) AS b(module, version) \
                 WHERE c.module = b.module AND c.version = b.version",
            )
            .bind(&modules)
            .bind(&names)
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn total_size(&self) -> StateResult<u64> {
        let n: i64 = timed(
            "catalog total size",
            sqlx::query_scalar("SELECT coalesce(sum(size), 0)::bigint FROM modvault_catalog")
                .fetch_one(&self.pool),
        )
        .await?;
        Ok(n.max(0) as u64)
    }
}

fn entries(rows: Vec<Row>) -> Vec<CatalogEntry> {
    rows.into_iter()
        .map(
            |(module, version, origin, size, stored, served)| CatalogEntry {
                module,
                version,
                origin: Origin::parse(&origin),
                size: size.max(0) as u64,
                stored_at: from_millis(stored),
                last_served: served.map(from_millis),
            },
        )
        .collect()
}
