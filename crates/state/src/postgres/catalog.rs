//! The catalog in `modvault_catalog`, the same table as the embedded
//! SQLite one. "Last served" times and download counts are batched as
//! there; times are written with `GREATEST` so replicas never move one
//! back, counts are added.

use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::PgPool;

use super::timed;
use crate::sql::{
    daily_series, day_of, from_millis, like_escape, millis, ServedBatch, ServedWrites,
};
use crate::{
    Catalog, CatalogEntry, CatalogQuery, DailyDownloads, Match, Origin, ServedFrom, StateResult,
};

pub struct PgCatalog {
    pool: PgPool,
    pending: Mutex<ServedBatch>,
}

type Row = (String, String, String, i64, i64, Option<i64>);

impl PgCatalog {
    pub fn new(pool: PgPool) -> PgCatalog {
        PgCatalog {
            pool,
            pending: Mutex::new(ServedBatch::new()),
        }
    }

    fn take_served(&self) -> ServedWrites {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    async fn flush_served(&self) -> StateResult<()> {
        write_served(&self.pool, self.take_served()).await
    }
}

async fn write_served(pool: &PgPool, batch: ServedWrites) -> StateResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let n = batch.versions.len();
    let (mut modules, mut versions, mut times, mut counts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for ((module, version), served) in batch.versions {
        modules.push(module);
        versions.push(version);
        times.push(millis(served.last));
        counts.push(served.downloads as i64);
    }
    timed(
        "catalog serve times",
        sqlx::query(
            "UPDATE modvault_catalog AS c SET last_served_ms = GREATEST(coalesce(c.last_served_ms, 0), b.at), \
             downloads = c.downloads + b.n \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS b(module, version, at, n) \
             WHERE c.module = b.module AND c.version = b.version",
        )
        .bind(&modules)
        .bind(&versions)
        .bind(&times)
        .bind(&counts)
        .execute(pool),
    )
    .await?;
    let (mut days, mut hits, mut misses) = (vec![], vec![], vec![]);
    for (day, h, m) in batch.days {
        days.push(day);
        hits.push(h as i64);
        misses.push(m as i64);
    }
    timed(
        "catalog daily downloads",
        sqlx::query(
            "INSERT INTO modvault_downloads_daily (day, hits, misses) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (day) DO UPDATE SET hits = modvault_downloads_daily.hits + excluded.hits, \
             misses = modvault_downloads_daily.misses + excluded.misses",
        )
        .bind(&days)
        .bind(&hits)
        .bind(&misses)
        .execute(pool),
    )
    .await?;
    Ok(())
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

    async fn served(
        &self,
        module: &str,
        version: &str,
        at: SystemTime,
        from: ServedFrom,
    ) -> StateResult<()> {
        let due = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .note(module, version, at, from);
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

    async fn downloads(&self, module: &str) -> StateResult<Vec<(String, u64)>> {
        self.flush_served().await?;
        let rows: Vec<(String, i64)> = timed(
            "catalog downloads",
            sqlx::query_as(
                "SELECT version, downloads FROM modvault_catalog WHERE module = $1 AND downloads > 0",
            )
            .bind(module)
            .fetch_all(&self.pool),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(v, n)| (v, n.max(0) as u64))
            .collect())
    }

    async fn daily_downloads(&self, days: u32) -> StateResult<Vec<DailyDownloads>> {
        self.flush_served().await?;
        let now = SystemTime::now();
        let rows: Vec<(i64, i64, i64)> = timed(
            "catalog daily downloads",
            sqlx::query_as("SELECT day, hits, misses FROM modvault_downloads_daily WHERE day > $1")
                .bind(day_of(now) - i64::from(days))
                .fetch_all(&self.pool),
        )
        .await?;
        Ok(daily_series(&rows, days, now))
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
