//! Bounds on upstream fetches: two pools, so that slow zips cannot take
//! the permits small metadata fetches need, and a bounded wait for a
//! permit, so that a request is refused (a retryable failure) rather than
//! left waiting behind a stuck upstream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ProxyError, ProxyResult};

#[derive(Clone)]
pub(crate) struct FetchPool {
    permits: Arc<Semaphore>,
    wait: Duration,
    what: &'static str,
}

impl FetchPool {
    pub(crate) fn new(size: usize, wait: Duration, what: &'static str) -> FetchPool {
        FetchPool {
            permits: Arc::new(Semaphore::new(size.max(1))),
            wait,
            what,
        }
    }

    /// A permit, or a failure once `wait` has passed without one.
    pub(crate) async fn enter(&self) -> ProxyResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ProxyError::Busy(format!(
                "every {} slot has been busy for {:?}; try again",
                self.what, self.wait
            ))),
        }
    }
}

/// How many requests wait on one fetch; a guard counts one.
#[derive(Clone, Default)]
pub(crate) struct Waiters(Arc<AtomicUsize>);

impl Waiters {
    pub(crate) fn join(&self) -> WaiterGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        WaiterGuard(self.0.clone())
    }

    pub(crate) fn none(&self) -> bool {
        self.0.load(Ordering::SeqCst) == 0
    }
}

pub(crate) struct WaiterGuard(Arc<AtomicUsize>);

impl Drop for WaiterGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_after_the_wait() {
        let pool = FetchPool::new(1, Duration::from_millis(50), "test fetch");
        let held = pool.enter().await.unwrap();
        let err = pool.enter().await.unwrap_err();
        assert!(err.to_string().contains("busy"), "{err}");
        drop(held);
        let _again = pool.enter().await.unwrap();
    }
}
