//! What the pages derive from a stored zip, kept per store key: a zip
//! under a key never changes (a version is immutable; eviction deletes it,
//! and a refetch must hash the same), so a warm server renders a README or
//! hashes a zip once, not per page view.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Values by key, bounded by the sum of their weights: past the bound the
/// memo starts over, which costs one recomputation per key and needs no
/// bookkeeping per read.
pub(crate) struct Memo<V> {
    bound: usize,
    inner: Mutex<(HashMap<String, Arc<V>>, usize)>,
}

impl<V> Memo<V> {
    pub fn new(bound: usize) -> Self {
        Memo {
            bound,
            inner: Mutex::new((HashMap::new(), 0)),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        self.inner.lock().ok()?.0.get(key).cloned()
    }

    /// Keeps `value` under `key`; `weight` is its share of the bound
    /// (bytes, say).
    pub fn put(&self, key: &str, value: V, weight: usize) -> Arc<V> {
        let value = Arc::new(value);
        if let Ok(mut inner) = self.inner.lock() {
            let (map, total) = &mut *inner;
            if *total + weight > self.bound {
                map.clear();
                *total = 0;
            }
            if weight <= self.bound {
                map.insert(key.to_owned(), value.clone());
                *total += weight;
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_keeps_values_until_its_bound_and_then_starts_over() {
        let memo = Memo::new(10);
        memo.put("a", 1, 4);
        memo.put("b", 2, 4);
        assert_eq!(memo.get("a").as_deref(), Some(&1));
        assert_eq!(memo.get("b").as_deref(), Some(&2));
        memo.put("c", 3, 4);
        assert_eq!(memo.get("a"), None);
        assert_eq!(memo.get("c").as_deref(), Some(&3));
        // A value heavier than the whole bound is returned, not kept.
        assert_eq!(*memo.put("d", 4, 11), 4);
        assert_eq!(memo.get("d"), None);
    }
}
