//! Fetch leases for one process: a lock per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OwnedMutexGuard;

use crate::{FetchLeases, Lease, StateResult};

type Locks = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// Leases within one process. The proxy already joins concurrent requests
/// for one version to a single fetch, so these are rarely contended; they
/// keep the contract the shared implementation must meet (one holder per
/// key, waiters resume when it is released).
#[derive(Default)]
pub struct LocalLeases {
    locks: Locks,
}

struct Held {
    key: String,
    locks: Locks,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget the key once nobody holds or waits for it (the map's own
        // reference is the only one left).
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[async_trait]
impl FetchLeases for LocalLeases {
    async fn acquire(&self, key: &str) -> StateResult<Lease> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(key.to_owned()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        Ok(Lease::new(Held {
            key: key.to_owned(),
            locks: self.locks.clone(),
            guard: Some(guard),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_key_and_the_map_empties() {
        let leases = Arc::new(LocalLeases::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (leases, inside, most) = (leases.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _lease = leases.acquire("k").await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // Another key is never held up by "k".
        let other = tokio::time::timeout(Duration::from_secs(5), leases.acquire("other")).await;
        assert!(other.is_ok());
        drop(other);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(leases.locks.lock().unwrap().is_empty());
    }
}
