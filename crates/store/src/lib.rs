//! Storage for module files behind one object-store-shaped trait.
//!
//! The trait is deliberately the intersection of what a local disk and an
//! S3-compatible store both do well, so that the proxy logic above it never
//! needs to know which one it talks to.

#[cfg(any(test, feature = "contract"))]
pub mod contract;
mod fs;
mod hot;
mod memory;
mod traced;

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub use fs::FsStore;
pub use hot::HotCache;
pub use memory::MemStore;
pub use traced::{key_kind, Traced};

/// A stream of object bytes. Errors are I/O errors because that is what a
/// streaming HTTP body can carry.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// What a store knows about an object without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub modified: SystemTime,
    /// A strong validator for the object's current contents, already quoted
    /// as an HTTP entity tag.
    pub etag: String,
}

/// An object opened for reading: its metadata and (part of) its bytes.
pub struct Object {
    pub meta: ObjectMeta,
    /// The byte range the body holds; the whole object when no range was asked.
    pub range: Range<u64>,
    pub body: ByteStream,
}

/// Where the bytes of a put come from.
pub enum PutBody {
    Bytes(Bytes),
    /// A finished local file. Backends may move or link it instead of copying,
    /// so the caller must not modify it afterwards; the caller still owns the
    /// name and removes it when done.
    File(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// Fail with [`PutOutcome::AlreadyExists`] rather than replace anything:
    /// module `.mod` and `.zip` files never change once stored.
    CreateOnly,
    /// Replace atomically: readers see the old or the new object, never a mix.
    Overwrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    AlreadyExists,
}

/// The cause of a backend's failure, kept whole so it can be logged with
/// its chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store key {0:?}")]
    InvalidKey(String),
    #[error("requested range is not satisfiable for an object of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("storage I/O error on {key:?}: {source}")]
    Io {
        key: String,
        #[source]
        source: io::Error,
    },
    /// The backend could not be reached or did not answer in time, after
    /// its bounded retries: the same request may succeed later.
    #[error("storage unavailable for {key:?}: {source}")]
    Unavailable {
        key: String,
        #[source]
        source: BoxError,
    },
    /// The backend answered, but refused or failed the request (for
    /// example access denied): retrying will not help until it is fixed.
    #[error("storage error on {key:?}: {source}")]
    Backend {
        key: String,
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    pub fn io(key: &str, source: io::Error) -> Self {
        StoreError::Io {
            key: key.to_owned(),
            source,
        }
    }
}

impl modvault_error::HasKind for StoreError {
    fn kind(&self) -> modvault_error::ErrorKind {
        use modvault_error::ErrorKind;
        match self {
            // A key the store cannot name (too long an element, say) holds
            // nothing and never will: for a client that is "not here".
            StoreError::InvalidKey(_) => ErrorKind::NotFound,
            StoreError::Io { source, .. } if source.kind() == io::ErrorKind::InvalidFilename => {
                ErrorKind::NotFound
            }
            StoreError::RangeNotSatisfiable { .. } => ErrorKind::Invalid,
            // 503 both: retryable, and not a reason to fall through to
            // another proxy silently.
            StoreError::Io { .. } | StoreError::Unavailable { .. } | StoreError::Backend { .. } => {
                ErrorKind::Storage
            }
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The storage interface. Keys are `/`-separated relative paths without `.`
/// or `..` elements.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads an object, or the part of it in `range` (end exclusive, clamped
    /// to the object's size). `Ok(None)` when the object does not exist.
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>>;

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>>;

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome>;

    /// Keys that start with `prefix` (a plain string prefix, not only a
    /// directory), in no particular order. Keys under `.modvault/` are only
    /// listed when `prefix` itself starts with `.modvault/`.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>>;

    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// Checks the shape every backend requires of a key, so that no key can
/// escape the store's root or alias another key.
pub fn validate_key(key: &str) -> StoreResult<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.ends_with('/')
        || key.contains('\0')
        || key.contains('\\')
        || key
            .split('/')
            .any(|elem| elem.is_empty() || elem == "." || elem == "..");
    if bad {
        Err(StoreError::InvalidKey(key.to_owned()))
    } else {
        Ok(())
    }
}

/// Checks a listing prefix: its directory part must be a valid key, so a
/// listing cannot walk outside the store either.
pub fn validate_prefix(prefix: &str) -> StoreResult<()> {
    let (dir, leaf) = match prefix.rfind('/') {
        Some(i) => (&prefix[..i], &prefix[i + 1..]),
        None => ("", prefix),
    };
    let bad_leaf = leaf == "." || leaf == ".." || leaf.contains(['\0', '\\']);
    if bad_leaf || (!dir.is_empty() && validate_key(dir).is_err()) || prefix.starts_with('/') {
        Err(StoreError::InvalidKey(prefix.to_owned()))
    } else {
        Ok(())
    }
}

/// The part of an object of `size` bytes that `range` asks for (end
/// exclusive, clamped to the size); the whole object when no range is asked.
pub(crate) fn clamp_range(range: Option<Range<u64>>, size: u64) -> StoreResult<Range<u64>> {
    match range {
        None => Ok(0..size),
        Some(r) if r.start >= size || r.start >= r.end => {
            if size == 0 && r.start == 0 {
                Ok(0..0)
            } else {
                Err(StoreError::RangeNotSatisfiable { size })
            }
        }
        Some(r) => Ok(r.start..r.end.min(size)),
    }
}

/// An object whose bytes are all in memory, or the part `range` asks for.
pub(crate) fn object_from_bytes(
    meta: ObjectMeta,
    bytes: &Bytes,
    range: Option<Range<u64>>,
) -> StoreResult<Object> {
    let range = clamp_range(range, meta.size)?;
    let part = bytes.slice(range.start as usize..range.end as usize);
    Ok(Object {
        meta,
        range,
        body: Box::pin(futures::stream::once(async move { Ok(part) })),
    })
}

/// Reads a whole (small) object into memory. Only for objects with a known
/// small bound, such as `.info`, `.mod` and `list` files.
pub async fn read_to_bytes(
    store: &dyn Store,
    key: &str,
) -> StoreResult<Option<(ObjectMeta, Bytes)>> {
    use futures::TryStreamExt;
    let Some(object) = store.get(key, None).await? else {
        return Ok(None);
    };
    let chunks: Vec<Bytes> = object
        .body
        .try_collect()
        .await
        .map_err(|e| StoreError::io(key, e))?;
    Ok(Some((object.meta, Bytes::from(chunks.concat()))))
}

pub mod layout;

#[cfg(test)]
mod fs_contract {
    async fn store() -> (tempfile::TempDir, std::sync::Arc<dyn crate::Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::FsStore::open(dir.path()).unwrap();
        (dir, std::sync::Arc::new(store))
    }
    crate::store_contract_tests!(store);
}

#[cfg(test)]
mod memory_contract {
    async fn store() -> ((), std::sync::Arc<dyn crate::Store>) {
        ((), std::sync::Arc::new(crate::MemStore::new()))
    }
    crate::store_contract_tests!(store);
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "", "/a", "a/", "a//b", "a/../b", "..", "./a", "a\\b", "a\0b",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "example.com/m/@v/list",
            "example.com/!azure/@v/v1.0.0+incompatible.zip",
            ".modvault/x",
        ] {
            assert!(validate_key(good).is_ok(), "{good:?} rejected");
        }
    }
}
