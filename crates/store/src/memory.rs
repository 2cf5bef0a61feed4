//! An in-memory backend, for tests of the layers above the store: the same
//! contract as the real backends, nothing on disk, gone when dropped.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{
    validate_key, validate_prefix, Object, ObjectMeta, PutBody, PutMode, PutOutcome, Store,
    StoreError, StoreResult,
};

#[derive(Default)]
pub struct MemStore {
    objects: Mutex<BTreeMap<String, (ObjectMeta, Bytes)>>,
    /// Every put gets a new entity tag, even with the same bytes, as a
    /// rewritten file does on disk.
    generation: AtomicU64,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (ObjectMeta, Bytes)>> {
        // A panic elsewhere cannot leave the map half-updated: every change
        // is a single insert or remove.
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemStore {
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>> {
        validate_key(key)?;
        let Some((meta, bytes)) = self.objects().get(key).cloned() else {
            return Ok(None);
        };
        crate::object_from_bytes(meta, &bytes, range).map(Some)
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>> {
        validate_key(key)?;
        Ok(self.objects().get(key).map(|(meta, _)| meta.clone()))
    }

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        validate_key(key)?;
        // Read before taking the lock: a failed read must change nothing.
        let bytes = match body {
            PutBody::Bytes(bytes) => bytes,
            PutBody::File(path) => Bytes::from(
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| StoreError::io(key, e))?,
            ),
        };
        let mut objects = self.objects();
        if mode == PutMode::CreateOnly && objects.contains_key(key) {
            return Ok(PutOutcome::AlreadyExists);
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let meta = ObjectMeta {
            size: bytes.len() as u64,
            modified: SystemTime::now(),
            etag: format!("\"{:x}-{generation:x}\"", bytes.len()),
        };
        objects.insert(key.to_owned(), (meta, bytes));
        Ok(PutOutcome::Created)
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        validate_prefix(prefix)?;
        let private = prefix.starts_with(".modvault/");
        Ok(self
            .objects()
            .range(prefix.to_owned()..)
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .filter(|key| private || !key.starts_with(".modvault/"))
            .cloned()
            .collect())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        validate_key(key)?;
        self.objects().remove(key);
        Ok(())
    }
}
