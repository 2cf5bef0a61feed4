//! Store calls as `store.read` and `store.write` spans, named by the kind of
//! key (`zip`, `mod`, `info`, `list`, …), never the key itself: keys name
//! modules, and private modules' names are not for a trace collector.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;

use crate::{layout, Object, ObjectMeta, PutBody, PutMode, PutOutcome, Store, StoreResult};

/// A [`Store`] that traces every call of the store it wraps.
pub struct Traced {
    inner: Arc<dyn Store>,
}

impl Traced {
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(Traced { inner })
    }
}

/// What a key holds, as a bounded label.
pub fn key_kind(key: &str) -> &'static str {
    if key.starts_with(layout::PRIVATE) {
        "private"
    } else if key.starts_with("sumdb/") {
        "sumdb"
    } else if key.ends_with("/@v/list") {
        "list"
    } else if key.ends_with("/@latest") {
        "latest"
    } else if key.ends_with(".info") {
        "info"
    } else if key.ends_with(".mod") {
        "mod"
    } else if key.ends_with(".zip") {
        "zip"
    } else if key.ends_with(".ziphash") {
        "ziphash"
    } else {
        "other"
    }
}

fn read(op: &'static str, key: &str) -> tracing::Span {
    tracing::info_span!("store.read", op, key_kind = key_kind(key))
}

fn write(op: &'static str, key: &str) -> tracing::Span {
    tracing::info_span!("store.write", op, key_kind = key_kind(key))
}

#[async_trait]
impl Store for Traced {
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>> {
        // The span covers opening the object; its bytes stream afterwards.
        self.inner
            .get(key, range)
            .instrument(read("get", key))
            .await
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>> {
        self.inner.head(key).instrument(read("head", key)).await
    }

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        self.inner
            .put(key, body, mode)
            .instrument(write("put", key))
            .await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.inner
            .list(prefix)
            .instrument(tracing::info_span!("store.read", op = "list"))
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner
            .delete(key)
            .instrument(write("delete", key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::key_kind;

    #[test]
    fn key_kinds_are_bounded_labels() {
        for (key, kind) in [
            ("example.com/m/@v/list", "list"),
            ("example.com/m/@latest", "latest"),
            ("example.com/m/@v/v1.0.0.info", "info"),
            ("example.com/m/@v/v1.0.0.mod", "mod"),
            ("example.com/m/@v/v1.0.0.zip", "zip"),
            ("example.com/m/@v/v1.0.0.ziphash", "ziphash"),
            ("sumdb/sum.golang.org/latest", "sumdb"),
            (".modvault/readyz", "private"),
            ("example.com/m/@v/master.info", "info"),
        ] {
            assert_eq!(key_kind(key), kind, "{key}");
        }
    }
}
