//! Negative answers in `modvault_failures`, each with its expiry in
//! database time. Expired rows are swept now and then by a writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;

use modvault_error::ErrorKind;

use super::timed;
use crate::{FailureMemory, Remembered, StateResult};

/// Every this many writes, expired rows are deleted.
const SWEEP_EVERY: u64 = 1000;

pub struct PgFailures {
    pool: PgPool,
    writes: AtomicU64,
}

impl PgFailures {
    pub fn new(pool: PgPool) -> PgFailures {
        PgFailures {
            pool,
            writes: AtomicU64::new(0),
        }
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not_found",
        _ => "unavailable",
    }
}

#[async_trait]
impl FailureMemory for PgFailures {
    async fn remember(&self, key: &str, answer: &Remembered, ttl: Duration) -> StateResult<()> {
        timed(
            "remember a failure",
            sqlx::query(
                "INSERT INTO modvault_failures (key, kind, reason, expires_at) \
                 VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
                 ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, \
                 expires_at = excluded.expires_at",
            )
            .bind(key)
            .bind(kind_name(answer.kind))
            .bind(&answer.reason)
            .bind(ttl.as_secs_f64())
            .execute(&self.pool),
        )
        .await?;
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            timed(
                "sweep failures",
                sqlx::query("DELETE FROM modvault_failures WHERE expires_at < now()")
                    .execute(&self.pool),
            )
            .await?;
        }
        Ok(())
    }

    async fn recall(&self, key: &str) -> StateResult<Option<Remembered>> {
        let row: Option<(String, String)> = timed(
            "recall a failure",
            sqlx::query_as(
                "SELECT kind, reason FROM modvault_failures WHERE key = $1 AND expires_at > now()",
            )
            .bind(key)
            .fetch_optional(&self.pool),
        )
        .await?;
        Ok(row.map(|(kind, reason)| Remembered {
            kind: if kind == "not_found" {
                ErrorKind::NotFound
            } else {
                ErrorKind::Unavailable
            },
            reason,
        }))
    }
}
