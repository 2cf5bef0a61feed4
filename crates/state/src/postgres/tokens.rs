//! Tokens in `modvault_tokens`. Every replica keeps the set in memory and
//! looks at a generation counter at most every [`REFRESH`], re-reading the
//! set only when it changed: a new or revoked token is seen everywhere
//! within a second, and a warm request costs no query.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::PgPool;

use modvault_access::{authenticate_among, Principal, Scope, SecretToken, TokenInfo, TokenRecord};
use modvault_error::ErrorKind;

use super::timed;
use crate::{StateError, StateResult, Tokens};

/// Well under the one second the contract promises, leaving room for the
/// query itself.
const REFRESH: Duration = Duration::from_millis(400);
/// The longest one authenticating request spends refreshing: an
/// unreachable database must not hold up requests.
const REFRESH_WAIT: Duration = Duration::from_secs(1);

pub struct PgTokens {
    pool: PgPool,
    cache: Mutex<Cache>,
    /// One refresh at a time; others wait for it and use its result.
    refreshing: tokio::sync::Mutex<()>,
}

struct Cache {
    records: Arc<[TokenRecord]>,
    generation: Option<i64>,
    checked_at: Option<Instant>,
}

type Row = (String, String, Vec<String>, String, String, Vec<u8>);

fn record(row: Row) -> StateResult<TokenRecord> {
    let (name, scope, matches, created, prefix, sha256) = row;
    let scope: Scope = scope.parse().map_err(|_| {
        StateError::new(
            ErrorKind::Storage,
            format!("database (database_url): token {name} has an unknown scope"),
        )
    })?;
    let sha256: [u8; 32] = sha256.try_into().map_err(|_| {
        StateError::new(
            ErrorKind::Storage,
            format!("database (database_url): token {name} has a malformed digest"),
        )
    })?;
    Ok(TokenRecord {
        info: TokenInfo {
            name,
            scope,
            matches,
            created,
            prefix,
        },
        sha256,
    })
}

impl PgTokens {
    pub fn new(pool: PgPool) -> PgTokens {
        PgTokens {
            pool,
            cache: Mutex::new(Cache {
                records: Arc::new([]),
                generation: None,
                checked_at: None,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    async fn read_all(&self) -> StateResult<Vec<TokenRecord>> {
        let rows: Vec<Row> = timed(
            "read tokens",
            sqlx::query_as(
                "SELECT name, scope, matches, created, prefix, sha256 FROM modvault_tokens ORDER BY created, name",
            )
            .fetch_all(&self.pool),
        )
        .await?;
        rows.into_iter().map(record).collect()
    }

    fn due(&self) -> bool {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.checked_at.is_none_or(|at| at.elapsed() >= REFRESH)
    }

    /// The accepted tokens, refreshed if it is time to look.
    async fn current(&self) -> Arc<[TokenRecord]> {
        // One refresh at a time, and nobody waits for it: the others use
        // the set they have (at most a refresh interval old).
        if self.due() {
            if let Ok(_one) = self.refreshing.try_lock() {
                let refreshed = tokio::time::timeout(REFRESH_WAIT, self.refresh())
                    .await
                    .unwrap_or_else(|_| {
                        Err(StateError::new(
                            ErrorKind::Storage,
                            "database (database_url): no answer to the token refresh",
                        ))
                    });
                if let Err(e) = refreshed {
                    // Nothing can be created or revoked while the database
                    // is unreachable from here, so the last set read stays
                    // right; look again after the interval.
                    tracing::warn!(error = %modvault_error::chain(&e), "cannot refresh tokens; using the last set read");
                    let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                    cache.checked_at = Some(Instant::now());
                }
            }
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.records.clone()
    }

    async fn refresh(&self) -> StateResult<()> {
        let generation: i64 = timed(
            "token generation",
            sqlx::query_scalar("SELECT generation FROM modvault_tokens_generation")
                .fetch_one(&self.pool),
        )
        .await?;
        let known = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .generation;
        let records = if known == Some(generation) {
            None
        } else {
            Some(self.read_all().await?)
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(records) = records {
            cache.records = records.into();
            cache.generation = Some(generation);
        }
        cache.checked_at = Some(Instant::now());
        Ok(())
    }

    /// Runs a change and bumps the generation in one transaction.
    async fn change(
        &self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> StateResult<u64> {
        let mut tx = timed("begin", self.pool.begin()).await?;
        let changed = timed("change tokens", query.execute(&mut *tx))
            .await?
            .rows_affected();
        if changed > 0 {
            timed(
                "token generation",
                sqlx::query("UPDATE modvault_tokens_generation SET generation = generation + 1")
                    .execute(&mut *tx),
            )
            .await?;
        }
        timed("commit", tx.commit()).await?;
        // This process sees its own change at once.
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .checked_at = None;
        Ok(changed)
    }
}

#[async_trait]
impl Tokens for PgTokens {
    async fn create(
        &self,
        name: &str,
        scope: Scope,
        matches: Vec<String>,
    ) -> StateResult<SecretToken> {
        let (token, record) = TokenRecord::issue(name, scope, matches)?;
        let info = &record.info;
        let query = sqlx::query(
            "INSERT INTO modvault_tokens (name, scope, matches, created, prefix, sha256) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&info.name)
        .bind(info.scope.as_str())
        .bind(&info.matches)
        .bind(&info.created)
        .bind(&info.prefix)
        .bind(record.sha256.to_vec());
        if self.change(query).await? == 0 {
            return Err(modvault_access::AccessError::DuplicateName(name.to_owned()).into());
        }
        Ok(token)
    }

    async fn list(&self) -> StateResult<Vec<TokenInfo>> {
        Ok(self.read_all().await?.into_iter().map(|r| r.info).collect())
    }

    async fn revoke(&self, name: &str) -> StateResult<bool> {
        let query =
            sqlx::query("DELETE FROM modvault_tokens WHERE name = $1").bind(name.to_owned());
        Ok(self.change(query).await? > 0)
    }

    async fn authenticate(&self, token: &str) -> StateResult<Option<Principal>> {
        let records = self.current().await;
        Ok(authenticate_among(&records, token))
    }
}
