//! The embedded catalog: one SQLite table in the data directory.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use crate::sql::{daily_series, from_millis, like_escape, millis, ServedBatch, ServedWrites};
use crate::{
    Catalog, CatalogEntry, CatalogQuery, DailyDownloads, Match, Origin, ServedFrom, StateError,
    StateResult,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS versions (
    module TEXT NOT NULL,
    version TEXT NOT NULL,
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    last_served_ms INTEGER,
    PRIMARY KEY (module, version)
) WITHOUT ROWID;
-- The index feed reads by time stored; eviction by time last used.
CREATE INDEX IF NOT EXISTS versions_stored ON versions (stored_at_ms, module, version);
CREATE INDEX IF NOT EXISTS versions_last_used ON versions
    (max(coalesce(last_served_ms, 0), stored_at_ms), module, version)
    WHERE origin IN ('upstream', 'git');
CREATE TABLE IF NOT EXISTS downloads_daily (
    day INTEGER PRIMARY KEY,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
);
";

pub struct SqliteCatalog {
    db: Arc<Mutex<Connection>>,
    pending: Arc<Mutex<ServedBatch>>,
}

fn db_error(e: rusqlite::Error) -> StateError {
    StateError::storage("catalog database", e)
}

impl SqliteCatalog {
    pub fn open(file: &Path) -> StateResult<SqliteCatalog> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StateError::storage(format!("cannot create {}", dir.display()), e))?;
        }
        let db = Connection::open(file).map_err(db_error)?;
        // WAL: readers never wait for the writer; NORMAL: a crash may lose
        // the last moments of catalog updates, which the store (the
        // authority on what is stored) can always rebuild.
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error)?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_error)?;
        db.busy_timeout(Duration::from_secs(5)).map_err(db_error)?;
        db.execute_batch(SCHEMA).map_err(db_error)?;
        add_downloads_column(&db).map_err(db_error)?;
        Ok(SqliteCatalog {
            db: Arc::new(Mutex::new(db)),
            pending: Arc::new(Mutex::new(ServedBatch::new())),
        })
    }

    async fn with_db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StateResult<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut db).map_err(db_error)
        })
        .await
        .map_err(|e| StateError::storage("catalog task failed", e))?
    }

    fn take_served(&self) -> ServedWrites {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Writes the batched serve times and download counts.
    async fn flush_served(&self) -> StateResult<()> {
        let batch = self.take_served();
        if batch.is_empty() {
            return Ok(());
        }
        self.with_db(move |db| write_served(db, &batch)).await
    }
}

/// Catalogs made before download counts get the column (SQLite has no
/// `ADD COLUMN IF NOT EXISTS`).
fn add_downloads_column(db: &Connection) -> rusqlite::Result<()> {
    let has: bool = db.query_row(
        "SELECT count(*) FROM pragma_table_info('versions') WHERE name = 'downloads'",
        [],
        |row| row.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has {
        db.execute_batch("ALTER TABLE versions ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

fn write_served(db: &mut Connection, batch: &ServedWrites) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut update = tx.prepare_cached(
            "UPDATE versions SET last_served_ms = max(coalesce(last_served_ms, 0), ?3), \
             downloads = downloads + ?4 WHERE module = ?1 AND version = ?2",
        )?;
        for ((module, version), served) in &batch.versions {
            update.execute(params![
                module,
                version,
                millis(served.last),
                served.downloads as i64
            ])?;
        }
        let mut daily = tx.prepare_cached(
            "INSERT INTO downloads_daily (day, hits, misses) VALUES (?1, ?2, ?3) \
             ON CONFLICT (day) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses",
        )?;
        for (day, hits, misses) in &batch.days {
            daily.execute(params![day, *hits as i64, *misses as i64])?;
        }
    }
    tx.commit()
}

impl Drop for SqliteCatalog {
    /// A clean shutdown keeps the serve times not yet written.
    fn drop(&mut self) {
        let batch = self.take_served();
        if !batch.is_empty() {
            let mut db = self
                .db
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(e) = write_served(&mut db, &batch) {
                tracing::warn!(error = %e, "could not write the last serve times to the catalog");
            }
        }
    }
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn record(&self, entry: CatalogEntry) -> StateResult<()> {
        self.with_db(move |db| {
            db.execute(
                "INSERT INTO versions (module, version, origin, size, stored_at_ms, last_served_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (module, version) DO UPDATE SET origin = excluded.origin, size = excluded.size, \
                 stored_at_ms = excluded.stored_at_ms",
                params![
                    entry.module,
                    entry.version,
                    entry.origin.as_str(),
                    entry.size as i64,
                    millis(entry.stored_at),
                    entry.last_served.map(millis),
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn remove(&self, module: &str, version: &str) -> StateResult<()> {
        let (module, version) = (module.to_owned(), version.to_owned());
        self.with_db(move |db| {
            db.execute(
                "DELETE FROM versions WHERE module = ?1 AND version = ?2",
                params![module, version],
            )
            .map(drop)
        })
        .await
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
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .note(module, version, at, from);
        if due {
            self.flush_served().await?;
        }
        Ok(())
    }

    async fn search(&self, query: &CatalogQuery) -> StateResult<Vec<CatalogEntry>> {
        self.flush_served().await?;
        let query = query.clone();
        self.with_db(move |db| {
            let (condition, pattern) = match query.matching {
                Match::Module => ("module = ?1", query.text.clone()),
                Match::Prefix => (
                    "module LIKE ?1 ESCAPE '\\'",
                    format!("{}%", like_escape(&query.text)),
                ),
                Match::Substring => (
                    "module LIKE ?1 ESCAPE '\\'",
                    format!("%{}%", like_escape(&query.text)),
                ),
            };
            let sql = format!(
                "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM versions \
                 WHERE {condition} ORDER BY module, stored_at_ms, version LIMIT ?2 OFFSET ?3"
            );
            let mut statement = db.prepare_cached(&sql)?;
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
            let rows = statement.query_map(params![pattern, limit, offset], entry_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn count(&self) -> StateResult<u64> {
        self.with_db(|db| {
            db.query_row("SELECT count(*) FROM versions", [], |row| {
                row.get::<_, i64>(0)
            })
            .optional()
            .map(|n| n.unwrap_or(0).max(0) as u64)
        })
        .await
    }

    async fn stored_since(
        &self,
        since: SystemTime,
        limit: usize,
    ) -> StateResult<Vec<CatalogEntry>> {
        let (since, limit) = (millis(since), i64::try_from(limit).unwrap_or(i64::MAX));
        self.with_db(move |db| {
            let mut statement = db.prepare_cached(
                "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM versions \
                 WHERE stored_at_ms >= ?1 ORDER BY stored_at_ms, module, version LIMIT ?2",
            )?;
            let rows = statement.query_map(params![since, limit], entry_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn eviction_candidates(
        &self,
        idle_before: SystemTime,
        after: Option<&CatalogEntry>,
        limit: usize,
    ) -> StateResult<Vec<CatalogEntry>> {
        self.flush_served().await?;
        let before = millis(idle_before);
        // Keyset paging: (used, module, version) strictly after the last
        // entry seen, so each page is one index range scan.
        let (used, module, version) = match after {
            Some(entry) => (
                millis(crate::last_used(entry)),
                entry.module.clone(),
                entry.version.clone(),
            ),
            None => (i64::MIN, String::new(), String::new()),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_db(move |db| {
            let mut statement = db.prepare_cached(
                "SELECT module, version, origin, size, stored_at_ms, last_served_ms FROM versions \
                 WHERE origin IN ('upstream', 'git') \
                 AND max(coalesce(last_served_ms, 0), stored_at_ms) < ?1 \
                 AND (max(coalesce(last_served_ms, 0), stored_at_ms), module, version) > (?2, ?3, ?4) \
                 ORDER BY max(coalesce(last_served_ms, 0), stored_at_ms), module, version LIMIT ?5",
            )?;
            let rows =
                statement.query_map(params![before, used, module, version, limit], entry_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn remove_many(&self, versions: &[(String, String)]) -> StateResult<()> {
        if versions.is_empty() {
            return Ok(());
        }
        let versions = versions.to_vec();
        self.with_db(move |db| {
            let tx = db.transaction()?;
            {
                let mut delete =
                    tx.prepare_cached("DELETE FROM versions WHERE module = ?1 AND version = ?2")?;
                for (module, version) in &versions {
                    delete.execute(params![module, version])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn total_size(&self) -> StateResult<u64> {
        self.with_db(|db| {
            db.query_row("SELECT coalesce(sum(size), 0) FROM versions", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
        })
        .await
    }

    async fn downloads(&self, module: &str) -> StateResult<Vec<(String, u64)>> {
        self.flush_served().await?;
        let module = module.to_owned();
        self.with_db(move |db| {
            let mut select = db.prepare_cached(
                "SELECT version, downloads FROM versions WHERE module = ?1 AND downloads > 0",
            )?;
            let rows = select.query_map(params![module], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?.max(0) as u64,
                ))
            })?;
            rows.collect()
        })
        .await
    }

    async fn daily_downloads(&self, days: u32) -> StateResult<Vec<DailyDownloads>> {
        self.flush_served().await?;
        let now = SystemTime::now();
        let first = crate::sql::day_of(now) - i64::from(days);
        let rows = self
            .with_db(move |db| {
                let mut select = db.prepare_cached(
                    "SELECT day, hits, misses FROM downloads_daily WHERE day > ?1",
                )?;
                let rows = select.query_map(params![first], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
                rows.collect::<rusqlite::Result<Vec<(i64, i64, i64)>>>()
            })
            .await?;
        Ok(daily_series(&rows, days, now))
    }
}

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CatalogEntry> {
    Ok(CatalogEntry {
        module: row.get(0)?,
        version: row.get(1)?,
        origin: Origin::parse(&row.get::<_, String>(2)?),
        size: row.get::<_, i64>(3)?.max(0) as u64,
        stored_at: from_millis(row.get(4)?),
        last_served: row.get::<_, Option<i64>>(5)?.map(from_millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry(module: &str, version: &str, origin: Origin, second: u64) -> CatalogEntry {
        CatalogEntry {
            module: module.into(),
            version: version.into(),
            origin,
            size: 100 + second,
            stored_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000 + second),
            last_served: None,
        }
    }

    fn query(text: &str, matching: Match) -> CatalogQuery {
        CatalogQuery {
            text: text.into(),
            matching,
            limit: 100,
            offset: 0,
        }
    }

    #[tokio::test]
    async fn records_searches_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog.sqlite");
        let catalog = SqliteCatalog::open(&file).unwrap();
        catalog
            .record(entry("github.com/a/b", "v1.1.0", Origin::Upstream, 2))
            .await
            .unwrap();
        catalog
            .record(entry("github.com/a/b", "v1.0.0", Origin::Upstream, 1))
            .await
            .unwrap();
        catalog
            .record(entry("corp.example/x_y", "v0.1.0", Origin::Published, 3))
            .await
            .unwrap();
        catalog
            .record(entry("corp.example/xzy", "v0.1.0", Origin::Git, 4))
            .await
            .unwrap();
        assert_eq!(catalog.count().await.unwrap(), 4);

        let versions = catalog
            .search(&CatalogQuery::module("github.com/a/b"))
            .await
            .unwrap();
        let names: Vec<&str> = versions.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(names, ["v1.0.0", "v1.1.0"], "ordered by when stored");
        assert_eq!(
            versions[0],
            entry("github.com/a/b", "v1.0.0", Origin::Upstream, 1)
        );

        let prefix = catalog
            .search(&query("corp.", Match::Prefix))
            .await
            .unwrap();
        assert_eq!(prefix.len(), 2);
        // `_` is a literal underscore, not a wildcard.
        let literal = catalog
            .search(&query("x_y", Match::Substring))
            .await
            .unwrap();
        assert_eq!(literal.len(), 1);
        assert_eq!(literal[0].origin, Origin::Published);
        assert!(catalog
            .search(&query("a/b", Match::Prefix))
            .await
            .unwrap()
            .is_empty());
        let paged = CatalogQuery {
            limit: 1,
            offset: 1,
            ..query("", Match::Substring)
        };
        assert_eq!(
            catalog.search(&paged).await.unwrap()[0].module,
            "corp.example/xzy"
        );

        let served_at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        catalog
            .served("github.com/a/b", "v1.0.0", served_at, ServedFrom::Store)
            .await
            .unwrap();
        catalog.remove("corp.example/xzy", "v0.1.0").await.unwrap();
        drop(catalog);

        let catalog = SqliteCatalog::open(&file).unwrap();
        assert_eq!(catalog.count().await.unwrap(), 3);
        let versions = catalog
            .search(&CatalogQuery::module("github.com/a/b"))
            .await
            .unwrap();
        assert_eq!(
            versions[0].last_served,
            Some(served_at),
            "searches see batched serve times"
        );
    }
}
