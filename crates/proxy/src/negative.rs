//! Failed answers remembered briefly: not-found for `not_found_ttl`, so a
//! client probing many paths that are not modules (the go command queries
//! every path prefix) does not send each probe upstream again; a failing
//! upstream (5xx, refused connection) for `upstream_failure_ttl`, so the
//! retries of many clients do not each make their own round of upstream
//! attempts.
//!
//! With replicas, the answers are also shared (`FailureMemory`, in
//! PostgreSQL): every replica gives the same answer and the source is asked
//! once per TTL, whichever replica a client reaches. The local map stays
//! the first place to look, so a replica asks the database only about keys
//! it does not remember itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modvault_error::{ErrorKind, HasKind};
use modvault_state::{FailureMemory, Remembered};
use modvault_upstream::FetchError;

use crate::ProxyError;

/// The longest a request waits for the shared memory: it only saves
/// upstream requests, so an unreachable database must not slow answers.
const SHARED_WAIT: Duration = Duration::from_secs(1);

fn slow() -> modvault_state::StateError {
    modvault_state::StateError::new(
        ErrorKind::Storage,
        format!("no answer within {}s", SHARED_WAIT.as_secs()),
    )
}

/// Entries beyond this trigger a sweep of expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

pub struct NegativeCache {
    not_found_ttl: Duration,
    failure_ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, ProxyError)>>,
    shared: Option<Arc<dyn FailureMemory>>,
}

impl NegativeCache {
    pub fn new(not_found_ttl: Duration, failure_ttl: Duration) -> Self {
        NegativeCache {
            not_found_ttl,
            failure_ttl,
            entries: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Also remembers in, and recalls from, `shared`.
    pub fn with_shared(mut self, shared: Option<Arc<dyn FailureMemory>>) -> Self {
        self.shared = shared;
        self
    }

    fn local(&self, key: &str) -> Option<ProxyError> {
        let entries = self.entries.lock().expect("negative cache poisoned");
        entries
            .get(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, error)| error.clone())
    }

    pub async fn get(&self, key: &str) -> Option<ProxyError> {
        if let Some(error) = self.local(key) {
            return Some(error);
        }
        let shared = self.shared.as_ref()?;
        let recalled = tokio::time::timeout(SHARED_WAIT, shared.recall(key)).await;
        match recalled.unwrap_or_else(|_| Err(slow())) {
            Ok(answer) => answer.map(|answer| match answer.kind {
                ErrorKind::NotFound => ProxyError::Fetch(FetchError::NotFound(answer.reason)),
                _ => ProxyError::Fetch(FetchError::Upstream(answer.reason)),
            }),
            Err(e) => {
                // Without the database a replica still has its own memory;
                // the request goes on and meets the outage where it matters.
                tracing::debug!(%key, error = %modvault_error::chain(&e), "cannot recall a remembered failure");
                None
            }
        }
    }

    /// Remembers `error` for `key` if it is a not-found or a failed source;
    /// anything else (our own storage, a security error) is not an answer
    /// about the module and is not remembered. Shared before it returns
    /// (so a client's next request, on any replica, gets the same answer),
    /// waiting at most [`SHARED_WAIT`] for the database.
    pub async fn insert(&self, key: &str, error: &ProxyError) {
        if matches!(error, ProxyError::Busy(_) | ProxyError::Abandoned) {
            // About us, not the source: the next request may well succeed.
            return;
        }
        let ttl = match error.kind() {
            ErrorKind::NotFound => self.not_found_ttl,
            ErrorKind::Unavailable => self.failure_ttl,
            _ => return,
        };
        if ttl.is_zero() {
            return;
        }
        {
            let now = Instant::now();
            let mut entries = self.entries.lock().expect("negative cache poisoned");
            if entries.len() >= SWEEP_THRESHOLD {
                entries.retain(|_, (expires, _)| *expires > now);
            }
            entries.insert(key.to_owned(), (now + ttl, error.clone()));
        }
        if let Some(shared) = &self.shared {
            let answer = Remembered {
                kind: error.kind(),
                reason: error.to_string(),
            };
            let shared =
                tokio::time::timeout(SHARED_WAIT, shared.remember(key, &answer, ttl)).await;
            if let Err(e) = shared.unwrap_or_else(|_| Err(slow())) {
                tracing::debug!(%key, error = %modvault_error::chain(&e), "cannot share a remembered failure");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_expire_each_after_its_kind_of_ttl() {
        let cache = NegativeCache::new(Duration::from_millis(30), Duration::from_millis(80));
        cache
            .insert("a", &ProxyError::NotFound("gone".into()))
            .await;
        cache
            .insert("b", &ProxyError::Fetch(FetchError::Upstream("502".into())))
            .await;
        cache.insert("c", &ProxyError::Corrupt("ours".into())).await;
        assert!(matches!(
            cache.get("a").await,
            Some(ProxyError::NotFound(_))
        ));
        assert!(cache.get("b").await.is_some());
        assert!(
            cache.get("c").await.is_none(),
            "our own failures are not remembered"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("a").await.is_none());
        assert!(cache.get("b").await.is_some());
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get("b").await.is_none());
        let disabled = NegativeCache::new(Duration::ZERO, Duration::ZERO);
        disabled
            .insert("a", &ProxyError::NotFound("gone".into()))
            .await;
        assert!(disabled.get("a").await.is_none());
    }
}
