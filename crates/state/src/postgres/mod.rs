//! The shared implementations for several replicas: every trait in
//! PostgreSQL (sqlx, queries checked at run time, rustls).
//!
//! The schema is versioned by the SQL files in `crates/state/migrations`,
//! applied at start-up under an advisory lock (two replicas starting at
//! once never race), each in its own transaction. A database whose schema
//! is newer than this binary knows stops start-up.
//!
//! Every query runs under [`QUERY_TIMEOUT`]; a failure is a
//! [`ErrorKind::Storage`] error (503 at the HTTP edge), never a connection
//! string: sqlx's errors name hosts and users at most, and messages here
//! name the setting, `database_url`.

mod catalog;
mod failures;
mod leases;
mod log;
mod tokens;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use modvault_error::ErrorKind;

use crate::{ChecksumLog, SharedState, StateError, StateResult};

pub use catalog::PgCatalog;
pub use failures::PgFailures;
pub use leases::{PgLeases, LEASE_TTL};
pub use log::PgLog;
pub use tokens::PgTokens;

/// The longest any one statement (and the wait for a connection) may take:
/// a database that stops answering fails requests instead of hanging them.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long start-up waits for the first connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per replica: queries are short; leases, the log writer and
/// token refreshes each take one briefly.
const MAX_CONNECTIONS: u32 = 16;

/// The schema, in order; the number is the version recorded.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "shared_state",
        include_str!("../../migrations/0001_shared_state.sql"),
    ),
    (
        2,
        "failures",
        include_str!("../../migrations/0002_failures.sql"),
    ),
    (
        3,
        "catalog_indexes",
        include_str!("../../migrations/0003_catalog_indexes.sql"),
    ),
    (
        4,
        "downloads",
        include_str!("../../migrations/0004_downloads.sql"),
    ),
];

/// Session-level advisory lock key held while migrating ("modvault" in
/// ASCII, so it does not collide with an application's small keys).
const MIGRATION_LOCK: i64 = 0x6d6f_6476_6175_6c74;

/// Where the state lives, as configured (`database_url`), without ever
/// showing the password.
pub struct PgSettings<'a> {
    pub url: &'a str,
    /// The own checksum log's name, when modvault runs one.
    pub log_name: Option<&'a str>,
}

fn db_error(what: &str) -> impl Fn(sqlx::Error) -> StateError + '_ {
    move |e| StateError::storage(format!("database (database_url): {what}"), e)
}

/// Runs `work` under [`QUERY_TIMEOUT`].
async fn timed<T>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> StateResult<T> {
    match tokio::time::timeout(QUERY_TIMEOUT, work).await {
        Ok(result) => result.map_err(db_error(what)),
        Err(_) => Err(StateError::new(
            ErrorKind::Storage,
            format!(
                "database (database_url): {what}: no answer within {}s",
                QUERY_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Connects, migrates and returns a pool.
pub async fn connect(url: &str) -> StateResult<PgPool> {
    // Parse errors may quote the URL, password included: not shown.
    let options = PgConnectOptions::from_str(url).map_err(|_| {
        StateError::new(
            ErrorKind::Invalid,
            "database_url: not a valid postgres://user:password@host:port/database URL",
        )
    })?;
    let options = options.application_name("modvault");
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(CONNECT_TIMEOUT)
        // Connections left from before a database restart are tested
        // before use, so the first request after recovery succeeds.
        .test_before_acquire(true)
        .connect_with(options)
        .await
        .map_err(|e| StateError::storage("cannot connect to the database (database_url)", e))?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Applies the migrations this binary has and the database lacks, all in
/// one transaction that first takes an advisory lock: a second replica
/// starting at once waits for it, then finds the schema current.
pub async fn migrate(pool: &PgPool) -> StateResult<()> {
    let version: i32 = timed(
        "server version",
        sqlx::query_scalar("SELECT current_setting('server_version_num')::int").fetch_one(pool),
    )
    .await?;
    if version < 120000 {
        return Err(StateError::new(
            ErrorKind::Invalid,
            format!("database_url: PostgreSQL 12 or later is needed (the server is {version})"),
        ));
    }
    let mut tx = timed("begin", pool.begin()).await?;
    // Waiting for another replica's migration may take longer than one
    // statement: no timeout on the lock itself. Released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_error("migration lock"))?;
    timed(
        "migrations table",
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS modvault_migrations (\
             version INT PRIMARY KEY, name TEXT NOT NULL, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx),
    )
    .await?;
    let applied: Option<i32> = timed(
        "schema version",
        sqlx::query_scalar("SELECT max(version) FROM modvault_migrations").fetch_one(&mut *tx),
    )
    .await?;
    let applied = applied.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > known {
        return Err(StateError::new(
            ErrorKind::Invalid,
            format!(
                "database_url: the database's schema is version {applied}, newer than this modvault knows ({known}); run a newer modvault"
            ),
        ));
    }
    // Collected first: an iterator adapter held across an await makes the
    // future's Send-ness unprovable (rust-lang/rust#102211).
    let pending: Vec<(i32, &'static str, &'static str)> = MIGRATIONS
        .iter()
        .copied()
        .filter(|m| m.0 > applied)
        .collect();
    for (version, name, sql) in pending {
        // One statement at a time: sqlx's multi-statement `raw_sql` makes
        // this future's Send-ness unprovable. The files keep `;` for
        // statement ends only (no functions or quoted semicolons).
        for statement in statements(sql) {
            sqlx::query(&statement)
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(db_error("migration"))?;
        }
        sqlx::query("INSERT INTO modvault_migrations (version, name) VALUES ($1, $2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_error("migration"))?;
        tracing::info!(version, name, "database schema migrated");
    }
    timed("commit", tx.commit()).await?;
    Ok(())
}

/// The statements of a migration file, comments dropped.
fn statements(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .flat_map(|line| [line, "\n"])
        .collect();
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl SharedState {
    /// Connects to PostgreSQL, migrates the schema and opens every trait
    /// on it.
    pub async fn postgres(settings: &PgSettings<'_>) -> StateResult<SharedState> {
        let pool = connect(settings.url).await?;
        let log = match settings.log_name {
            Some(name) => {
                Some(Arc::new(PgLog::open(pool.clone(), name).await?) as Arc<dyn ChecksumLog>)
            }
            None => None,
        };
        Ok(SharedState {
            tokens: Arc::new(PgTokens::new(pool.clone())),
            log,
            leases: Arc::new(PgLeases::new(pool.clone())),
            catalog: Arc::new(PgCatalog::new(pool.clone())),
            failures: Some(Arc::new(PgFailures::new(pool))),
        })
    }
}

/// The futures the callers spawn or box must be `Send`; sqlx futures held
/// in some shapes are not provably so, which would only show up far away.
#[allow(dead_code)]
fn send_check(pool: PgPool) {
    fn is_send<T: Send>(_: T) {}
    is_send(connect("x"));
    is_send(migrate(&pool));
    is_send(PgLog::open(pool.clone(), "x"));
}
