//! Small immutable objects kept in memory in front of any store.
//!
//! A warm proxy answers the same few `.info`, `.mod` and small `.zip` files
//! over and over. Reading each from disk costs two trips to the blocking
//! pool (stat, then open and read) and from S3 a network round trip; from
//! memory it costs a map lookup. Only files that never change once stored
//! are kept (a version's `.info`, `.mod` and `.zip`), so a cached copy can
//! never be stale in a way that matters, even when another replica writes
//! the shared store; `list`, `@latest`, checksum-database files and private
//! state always go to the store. Large zips are never kept: they stream.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use hashlink::LruCache;

use crate::{
    layout, object_from_bytes, Object, ObjectMeta, PutBody, PutMode, PutOutcome, Store, StoreError,
    StoreResult,
};

/// The largest object kept, however large the cache: bigger zips stream
/// from the store in bounded chunks instead of sitting in memory.
pub const MAX_HOT_OBJECT: u64 = 1 << 20;

/// Per-entry bookkeeping (key, map node, metadata), counted against the
/// budget so that many tiny `.info` files cannot exceed it unseen.
const ENTRY_OVERHEAD: u64 = 128;

/// A [`Store`] that keeps recently read small immutable objects in memory,
/// least recently used out first, within a byte budget.
pub struct HotCache {
    inner: Arc<dyn Store>,
    cache: Mutex<Entries>,
    max_object: u64,
    /// Bumped by every write and delete: a read that started before one
    /// does not put what it read into the cache, since it may be stale.
    generation: AtomicU64,
}

struct Entries {
    lru: LruCache<String, (ObjectMeta, Bytes)>,
    bytes: u64,
    max_bytes: u64,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some((_, bytes)) = self.lru.remove(key) {
            self.bytes -= cost(key, &bytes);
        }
    }
}

fn cost(key: &str, bytes: &Bytes) -> u64 {
    key.len() as u64 + bytes.len() as u64 + ENTRY_OVERHEAD
}

/// Files that never change once stored: a version's `.info`, `.mod` and
/// `.zip` (module paths never start with `.modvault` or `sumdb`).
fn is_immutable(key: &str) -> bool {
    !key.starts_with(layout::PRIVATE)
        && !key.starts_with("sumdb/")
        && key.contains("/@v/")
        && (key.ends_with(".info") || key.ends_with(".mod") || key.ends_with(".zip"))
}

impl HotCache {
    /// Wraps `inner` with a cache of at most `max_bytes`; 0 turns it off
    /// (the store itself is returned).
    pub fn wrap(inner: Arc<dyn Store>, max_bytes: u64) -> Arc<dyn Store> {
        if max_bytes == 0 {
            return inner;
        }
        Arc::new(HotCache {
            inner,
            cache: Mutex::new(Entries {
                lru: LruCache::new_unbounded(),
                bytes: 0,
                max_bytes,
            }),
            // A few entries must fit, or the cache only churns.
            max_object: MAX_HOT_OBJECT.min(max_bytes / 8),
            generation: AtomicU64::new(0),
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map holds no invariant a panicking reader could break.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, key: &str) -> Option<(ObjectMeta, Bytes)> {
        self.entries().lru.get(key).cloned()
    }

    fn insert(&self, key: &str, meta: ObjectMeta, bytes: Bytes, generation: u64) {
        let mut entries = self.entries();
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        entries.remove(key);
        entries.bytes += cost(key, &bytes);
        entries.lru.insert(key.to_owned(), (meta, bytes));
        while entries.bytes > entries.max_bytes {
            let Some((old_key, (_, old))) = entries.lru.remove_lru() else {
                break;
            };
            entries.bytes -= cost(&old_key, &old);
        }
    }

    fn forget(&self, key: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries().remove(key);
    }
}

#[async_trait]
impl Store for HotCache {
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>> {
        if let Some((meta, bytes)) = self.cached(key) {
            return object_from_bytes(meta, &bytes, range).map(Some);
        }
        if range.is_some() || !is_immutable(key) {
            return self.inner.get(key, range).await;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(object) = self.inner.get(key, None).await? else {
            return Ok(None);
        };
        if object.meta.size > self.max_object {
            return Ok(Some(object));
        }
        // Small enough to read whole before answering; a read error is the
        // error the stream would have ended with.
        let mut body = object.body;
        let mut buf = BytesMut::with_capacity(object.meta.size as usize);
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk.map_err(|e| StoreError::io(key, e))?);
        }
        let bytes = buf.freeze();
        if bytes.len() as u64 != object.meta.size {
            // Replaced while we read (only possible for a store that does
            // not write atomically): serve what was read, keep nothing.
            return object_from_bytes(
                ObjectMeta {
                    size: bytes.len() as u64,
                    ..object.meta
                },
                &bytes,
                None,
            )
            .map(Some);
        }
        self.insert(key, object.meta.clone(), bytes.clone(), generation);
        object_from_bytes(object.meta, &bytes, None).map(Some)
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>> {
        if let Some((meta, _)) = self.cached(key) {
            return Ok(Some(meta));
        }
        self.inner.head(key).await
    }

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        self.forget(key);
        let outcome = self.inner.put(key, body, mode).await;
        self.forget(key);
        outcome
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.inner.list(prefix).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.forget(key);
        let deleted = self.inner.delete(key).await;
        self.forget(key);
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_to_bytes, MemStore};

    fn put_bytes(key: &str, data: &'static [u8]) -> (String, PutBody) {
        (key.to_owned(), PutBody::Bytes(Bytes::from_static(data)))
    }

    #[tokio::test]
    async fn immutable_files_are_served_from_memory_after_the_first_read() {
        let inner: Arc<dyn Store> = Arc::new(MemStore::new());
        let cache = HotCache::wrap(inner.clone(), 1 << 20);
        let key = "example.com/m/@v/v1.0.0.info";
        let (k, body) = put_bytes(key, br#"{"Version":"v1.0.0"}"#);
        cache.put(&k, body, PutMode::CreateOnly).await.unwrap();
        let (meta, first) = read_to_bytes(cache.as_ref(), key).await.unwrap().unwrap();
        // Gone from the store underneath (as another replica's eviction
        // would do): the cached copy still answers, with the same validators.
        inner.delete(key).await.unwrap();
        let (meta_again, again) = read_to_bytes(cache.as_ref(), key).await.unwrap().unwrap();
        assert_eq!((meta, first), (meta_again, again));
        assert!(cache.head(key).await.unwrap().is_some());
        // A range is cut from memory too.
        let part = cache.get(key, Some(2..9)).await.unwrap().unwrap();
        assert_eq!(part.range, 2..9);
    }

    #[tokio::test]
    async fn mutable_and_large_files_always_come_from_the_store() {
        let inner: Arc<dyn Store> = Arc::new(MemStore::new());
        let cache = HotCache::wrap(inner.clone(), 64 << 20);
        let list = "example.com/m/@v/list";
        inner
            .put(
                list,
                PutBody::Bytes(Bytes::from_static(b"v1.0.0\n")),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        read_to_bytes(cache.as_ref(), list).await.unwrap().unwrap();
        inner
            .put(
                list,
                PutBody::Bytes(Bytes::from_static(b"v1.0.0\nv1.1.0\n")),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        let (_, now) = read_to_bytes(cache.as_ref(), list).await.unwrap().unwrap();
        assert_eq!(&now[..], b"v1.0.0\nv1.1.0\n");

        let zip = "example.com/m/@v/v1.0.0.zip";
        let big = Bytes::from(vec![7u8; (MAX_HOT_OBJECT + 1) as usize]);
        inner
            .put(zip, PutBody::Bytes(big), PutMode::CreateOnly)
            .await
            .unwrap();
        read_to_bytes(cache.as_ref(), zip).await.unwrap().unwrap();
        inner.delete(zip).await.unwrap();
        assert!(
            cache.get(zip, None).await.unwrap().is_none(),
            "a large zip was kept"
        );
    }

    #[tokio::test]
    async fn writes_through_the_cache_replace_what_it_holds() {
        let inner: Arc<dyn Store> = Arc::new(MemStore::new());
        let cache = HotCache::wrap(inner.clone(), 1 << 20);
        let key = "example.com/m/@v/v1.0.0.mod";
        let (k, body) = put_bytes(key, b"module old\n");
        cache.put(&k, body, PutMode::Overwrite).await.unwrap();
        read_to_bytes(cache.as_ref(), key).await.unwrap().unwrap();
        let (k, body) = put_bytes(key, b"module new\n");
        cache.put(&k, body, PutMode::Overwrite).await.unwrap();
        let (_, now) = read_to_bytes(cache.as_ref(), key).await.unwrap().unwrap();
        assert_eq!(&now[..], b"module new\n");
        cache.delete(key).await.unwrap();
        assert!(cache.get(key, None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_budget_holds_least_recently_used_out_first() {
        let inner: Arc<dyn Store> = Arc::new(MemStore::new());
        let budget = 8 * 1024;
        let cache = HotCache::wrap(inner.clone(), budget);
        let keys: Vec<String> = (0..40)
            .map(|i| format!("example.com/m/@v/v1.0.{i}.mod"))
            .collect();
        for key in &keys {
            let body = PutBody::Bytes(Bytes::from(vec![b'x'; 900]));
            inner.put(key, body, PutMode::CreateOnly).await.unwrap();
            read_to_bytes(cache.as_ref(), key).await.unwrap().unwrap();
            // The first key stays hot.
            read_to_bytes(cache.as_ref(), &keys[0])
                .await
                .unwrap()
                .unwrap();
        }
        for key in &keys {
            inner.delete(key).await.unwrap();
        }
        let mut kept = Vec::new();
        for key in &keys {
            if cache.head(key).await.unwrap().is_some() {
                kept.push(key.clone());
            }
        }
        let held: u64 = kept
            .iter()
            .map(|k| k.len() as u64 + 900 + ENTRY_OVERHEAD)
            .sum();
        assert!(
            held <= budget,
            "{held} bytes held over a {budget}-byte budget"
        );
        assert!(kept.contains(&keys[0]), "the hot key was evicted");
        assert!(kept.contains(&keys[39]), "the newest key was evicted");
        assert!(!kept.contains(&keys[1]), "an old cold key was kept");
    }
}

#[cfg(test)]
mod hot_contract {
    async fn store() -> ((), std::sync::Arc<dyn crate::Store>) {
        let inner: std::sync::Arc<dyn crate::Store> = std::sync::Arc::new(crate::MemStore::new());
        ((), super::HotCache::wrap(inner, 1 << 20))
    }
    crate::store_contract_tests!(store);
}
