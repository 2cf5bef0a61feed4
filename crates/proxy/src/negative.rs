//! Failed answers remembered briefly: not-found for `not_found_ttl`, so a
//! client probing many paths that are not modules (the go command queries
//! every path prefix) does not send each probe upstream again; a failing
//! upstream (5xx, refused connection) for `upstream_failure_ttl`, so the
//! retries of many clients do not each make their own round of upstream
//! attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use modvault_error::{ErrorKind, HasKind};

use crate::ProxyError;

/// Entries beyond this trigger a sweep of expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

pub struct NegativeCache {
    not_found_ttl: Duration,
    failure_ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, ProxyError)>>,
}

impl NegativeCache {
    pub fn new(not_found_ttl: Duration, failure_ttl: Duration) -> Self {
        NegativeCache {
            not_found_ttl,
            failure_ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<ProxyError> {
        let entries = self.entries.lock().expect("negative cache poisoned");
        entries
            .get(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, error)| error.clone())
    }

    /// Remembers `error` for `key` if it is a not-found or a failed source;
    /// anything else (our own storage, a security error) is not an answer
    /// about the module and is not remembered.
    pub fn insert(&self, key: &str, error: &ProxyError) {
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
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("negative cache poisoned");
        if entries.len() >= SWEEP_THRESHOLD {
            entries.retain(|_, (expires, _)| *expires > now);
        }
        entries.insert(key.to_owned(), (now + ttl, error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modvault_upstream::FetchError;

    #[test]
    fn entries_expire_each_after_its_kind_of_ttl() {
        let cache = NegativeCache::new(Duration::from_millis(30), Duration::from_millis(80));
        cache.insert("a", &ProxyError::NotFound("gone".into()));
        cache.insert("b", &ProxyError::Fetch(FetchError::Upstream("502".into())));
        cache.insert("c", &ProxyError::Corrupt("ours".into()));
        assert!(matches!(cache.get("a"), Some(ProxyError::NotFound(_))));
        assert!(cache.get("b").is_some());
        assert!(
            cache.get("c").is_none(),
            "our own failures are not remembered"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some());
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get("b").is_none());
        let disabled = NegativeCache::new(Duration::ZERO, Duration::ZERO);
        disabled.insert("a", &ProxyError::NotFound("gone".into()));
        assert!(disabled.get("a").is_none());
    }
}
