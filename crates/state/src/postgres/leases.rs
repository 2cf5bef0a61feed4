//! Fetch leases in `modvault_fetch_leases`: one row per key being fetched,
//! naming its holder and when the lease lapses. The holder renews it every
//! [`RENEW_EVERY`] while it fetches and deletes it when done; if the holder
//! dies, the row lapses after [`LEASE_TTL`] and the next waiter takes it
//! over. Times are the database's (`now()`), so replicas' clocks do not
//! matter.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;

use super::timed;
use crate::{FetchLeases, Lease, StateResult};

/// How long a lease lasts without renewal: the wait before another replica
/// takes over the fetch of one that died.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How often a waiter looks whether the lease is free.
const POLL_EVERY: Duration = Duration::from_millis(100);

pub struct PgLeases {
    pool: PgPool,
    /// This process, unique across replicas and restarts.
    me: String,
}

impl PgLeases {
    pub fn new(pool: PgPool) -> PgLeases {
        let mut random = [0u8; 8];
        // A clash only matters between two live processes; the pid and the
        // time make it all but impossible even without randomness.
        let _ = getrandom::fill(&mut random);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        PgLeases {
            pool,
            me: format!(
                "{}-{}-{nanos}-{}",
                hostname(),
                std::process::id(),
                u64::from_le_bytes(random)
            ),
        }
    }

    /// Takes the lease if nobody holds it or its holder's lapsed.
    async fn try_take(&self, key: &str) -> StateResult<bool> {
        let taken: Option<String> = timed(
            "take fetch lease",
            sqlx::query_scalar(
                "INSERT INTO modvault_fetch_leases (key, holder, expires_at) \
                 VALUES ($1, $2, now() + make_interval(secs => $3)) \
                 ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE modvault_fetch_leases.expires_at < now() \
                 RETURNING holder",
            )
            .bind(key)
            .bind(&self.me)
            .bind(LEASE_TTL.as_secs_f64())
            .fetch_optional(&self.pool),
        )
        .await?;
        Ok(taken.is_some())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Renews the lease until dropped, then gives it up.
struct Held {
    renewal: tokio::task::JoinHandle<()>,
    pool: PgPool,
    key: String,
    me: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewal.abort();
        let (pool, key, me) = (self.pool.clone(), self.key.clone(), self.me.clone());
        // Released in the background: a waiter on another replica polls,
        // and if this fails the lease simply lapses.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released = timed(
                    "release fetch lease",
                    sqlx::query("DELETE FROM modvault_fetch_leases WHERE key = $1 AND holder = $2")
                        .bind(&key)
                        .bind(&me)
                        .execute(&pool),
                )
                .await;
                if let Err(e) = released {
                    tracing::warn!(%key, error = %modvault_error::chain(&e), "cannot release a fetch lease; it lapses");
                }
            });
        }
    }
}

#[async_trait]
impl FetchLeases for PgLeases {
    async fn acquire(&self, key: &str) -> StateResult<Lease> {
        // Waiting is not an error however long the holder takes: it
        // renews while it works, and lapses only if it died. A database
        // that fails while we wait is.
        while !self.try_take(key).await? {
            tokio::time::sleep(POLL_EVERY).await;
        }
        let (pool, owned_key, me) = (self.pool.clone(), key.to_owned(), self.me.clone());
        let renewal = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let renewed = timed(
                    "renew fetch lease",
                    sqlx::query(
                        "UPDATE modvault_fetch_leases SET expires_at = now() + make_interval(secs => $3) \
                         WHERE key = $1 AND holder = $2",
                    )
                    .bind(&owned_key)
                    .bind(&me)
                    .bind(LEASE_TTL.as_secs_f64())
                    .execute(&pool),
                )
                .await;
                match renewed {
                    Ok(done) if done.rows_affected() == 0 => {
                        tracing::warn!(key = %owned_key, "fetch lease lost (it lapsed and another replica took it)");
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(key = %owned_key, error = %modvault_error::chain(&e), "cannot renew a fetch lease");
                    }
                }
            }
        });
        Ok(Lease::new(Held {
            renewal,
            pool: self.pool.clone(),
            key: key.to_owned(),
            me: self.me.clone(),
        }))
    }
}
