//! Single-flight: concurrent requests for the same key share one fetch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};
use tracing::Instrument;

pub struct Flights<T: Clone> {
    in_flight: Arc<Mutex<HashMap<String, Shared<BoxFuture<'static, T>>>>>,
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub fn new() -> Self {
        Flights {
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Runs `work` unless a flight for `key` is already under way, in which
    /// case its result is shared. The work runs as its own task, so a client
    /// that disconnects does not cancel a fetch others are waiting for.
    pub async fn run<F>(&self, key: String, work: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
    {
        let flight = {
            let mut in_flight = self.in_flight.lock().expect("flight map poisoned");
            match in_flight.get(&key) {
                Some(existing) => existing.clone(),
                None => {
                    let registry = self.in_flight.clone();
                    let done_key = key.clone();
                    // Traced under the request that started it.
                    let task = tokio::spawn(
                        async move {
                            let result = work.await;
                            registry
                                .lock()
                                .expect("flight map poisoned")
                                .remove(&done_key);
                            result
                        }
                        .in_current_span(),
                    );
                    let flight = async move {
                        match task.await {
                            Ok(result) => result,
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            Err(e) => panic!("fetch task cancelled: {e}"),
                        }
                    }
                    .boxed()
                    .shared();
                    in_flight.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(Flights::<usize>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..20 {
            let flights = flights.clone();
            let runs = runs.clone();
            handles.push(tokio::spawn(async move {
                flights
                    .run("k".into(), async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 41
                    })
                    .await
            }));
        }
        for handle in handles {
            assert_eq!(handle.await.unwrap(), 41);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Once finished, the next call runs again.
        assert_eq!(flights.run("k".into(), async { 7 }).await, 7);
    }
}
