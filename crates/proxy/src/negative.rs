//! Remembers not-found answers briefly, so a client probing many paths that
//! are not modules (the go command queries every path prefix) does not send
//! each probe upstream again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries beyond this trigger a sweep of expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

pub struct NegativeCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, String)>>,
}

impl NegativeCache {
    pub fn new(ttl: Duration) -> Self {
        NegativeCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().expect("negative cache poisoned");
        entries
            .get(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, reason)| reason.clone())
    }

    pub fn insert(&self, key: &str, reason: &str) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("negative cache poisoned");
        if entries.len() >= SWEEP_THRESHOLD {
            entries.retain(|_, (expires, _)| *expires > now);
        }
        entries.insert(key.to_owned(), (now + self.ttl, reason.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let cache = NegativeCache::new(Duration::from_millis(30));
        cache.insert("a", "gone");
        assert_eq!(cache.get("a").as_deref(), Some("gone"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get("a"), None);
        let disabled = NegativeCache::new(Duration::ZERO);
        disabled.insert("a", "gone");
        assert_eq!(disabled.get("a"), None);
    }
}
