//! The store contract: what every backend must do, as checks that take a
//! fresh, empty store. A backend runs all of them with
//! [`store_contract_tests!`](crate::store_contract_tests), which makes one
//! `#[tokio::test]` per check; the proxy above relies on nothing else.
//!
//! Large objects are bigger than [`LARGE_PART`], so that backends that
//! upload in parts (S3) exercise that path, and ranges cross a part edge.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use crate::{Object, PutBody, PutMode, PutOutcome, Store, StoreError};

/// The part size the large-object checks are built around: no backend
/// should need parts bigger than this.
pub const LARGE_PART: usize = 8 << 20;
/// Bigger than one part, and not a multiple of anything.
pub const LARGE: usize = LARGE_PART + (4 << 20) + 3;

/// Generates one `#[tokio::test]` per contract check. `$factory` is an
/// async fn returning `(guard, Arc<dyn Store>)`: a fresh, empty store, and
/// whatever must live as long as it (a temporary directory, a server).
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:path) => {
        $crate::store_contract_tests!(@each $factory;
            missing_objects_are_none,
            create_only_never_replaces,
            create_only_from_a_large_file,
            overwrite_replaces_whole_objects,
            ranges_are_clamped_and_checked,
            head_agrees_with_get,
            list_is_by_string_prefix,
            list_pages_through_many_keys,
            delete_removes_and_is_idempotent,
            invalid_keys_are_refused,
            concurrent_creates_of_one_key_make_one_winner,
            failed_put_leaves_nothing,
        );
    };
    (@each $factory:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, store) = $factory().await;
                $crate::contract::$check(store).await;
            }
        )*
    };
}

/// Deterministic bytes; `seed` makes different contents of the same size.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(31).wrapping_add(i as u64 >> 11) as u8 ^ seed)
        .collect()
}

/// A file for `PutBody::File`, removed when dropped.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn scratch_file(contents: &[u8]) -> Scratch {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("body");
    std::fs::write(&path, contents).expect("write scratch file");
    Scratch { _dir: dir, path }
}

pub async fn read_all(object: Object) -> Vec<u8> {
    let chunks: Vec<Bytes> = object.body.try_collect().await.expect("read body");
    chunks.concat()
}

async fn contents(store: &dyn Store, key: &str) -> Option<Vec<u8>> {
    match store.get(key, None).await.expect("get") {
        Some(object) => Some(read_all(object).await),
        None => None,
    }
}

async fn put_bytes(store: &dyn Store, key: &str, bytes: &[u8], mode: PutMode) -> PutOutcome {
    store
        .put(key, PutBody::Bytes(Bytes::copy_from_slice(bytes)), mode)
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"))
}

async fn put_file(store: &dyn Store, key: &str, path: &Path, mode: PutMode) -> PutOutcome {
    store
        .put(key, PutBody::File(path.to_owned()), mode)
        .await
        .unwrap_or_else(|e| panic!("put {key} from a file: {e}"))
}

async fn sorted_list(store: &dyn Store, prefix: &str) -> Vec<String> {
    let mut keys = store.list(prefix).await.expect("list");
    keys.sort();
    keys
}

pub async fn missing_objects_are_none(store: Arc<dyn Store>) {
    let key = "missing.example/m/@v/v1.0.0.mod";
    assert!(store.get(key, None).await.unwrap().is_none());
    assert!(store.get(key, Some(0..10)).await.unwrap().is_none());
    assert!(store.head(key).await.unwrap().is_none());
    store.delete(key).await.expect("deleting a missing object");
    assert!(store.list("missing.example/").await.unwrap().is_empty());
}

pub async fn create_only_never_replaces(store: Arc<dyn Store>) {
    let key = "example.com/m/@v/v1.0.0.mod";
    let first = put_bytes(store.as_ref(), key, b"one", PutMode::CreateOnly).await;
    let second = put_bytes(store.as_ref(), key, b"two!", PutMode::CreateOnly).await;
    assert_eq!(
        (first, second),
        (PutOutcome::Created, PutOutcome::AlreadyExists)
    );
    assert_eq!(contents(store.as_ref(), key).await.unwrap(), b"one");
    assert_eq!(store.head(key).await.unwrap().unwrap().size, 3);
}

pub async fn create_only_from_a_large_file(store: Arc<dyn Store>) {
    let key = "large.example/m/@v/v1.0.0.zip";
    let data = pattern(LARGE, 1);
    let file = scratch_file(&data);
    assert_eq!(
        put_file(store.as_ref(), key, &file.path, PutMode::CreateOnly).await,
        PutOutcome::Created
    );
    assert!(file.path.exists(), "the caller owns the source file");
    let meta = store.head(key).await.unwrap().expect("stored");
    assert_eq!(meta.size, LARGE as u64);
    assert!(
        contents(store.as_ref(), key).await.unwrap() == data,
        "large object differs"
    );

    // Across the edge of the first part.
    let edge = (LARGE_PART as u64 - 10)..(LARGE_PART as u64 + 10);
    let object = store.get(key, Some(edge.clone())).await.unwrap().unwrap();
    assert_eq!(object.range, edge);
    assert_eq!(
        read_all(object).await,
        data[edge.start as usize..edge.end as usize]
    );

    let other = scratch_file(&pattern(LARGE, 2));
    assert_eq!(
        put_file(store.as_ref(), key, &other.path, PutMode::CreateOnly).await,
        PutOutcome::AlreadyExists
    );
    assert!(
        contents(store.as_ref(), key).await.unwrap() == data,
        "a create-only put replaced a large object"
    );
}

pub async fn overwrite_replaces_whole_objects(store: Arc<dyn Store>) {
    let key = "example.com/m/@v/list";
    put_bytes(store.as_ref(), key, b"v1.0.0\n", PutMode::Overwrite).await;
    let before = store.head(key).await.unwrap().unwrap();
    put_bytes(store.as_ref(), key, b"v1.0.0\nv1.1.0\n", PutMode::Overwrite).await;
    let after = store.head(key).await.unwrap().unwrap();
    assert_ne!(
        before.etag, after.etag,
        "new contents need a new entity tag"
    );
    assert_eq!(after.size, 14);
    assert_eq!(
        contents(store.as_ref(), key).await.unwrap(),
        b"v1.0.0\nv1.1.0\n"
    );

    let large = pattern(LARGE, 3);
    let file = scratch_file(&large);
    put_file(store.as_ref(), key, &file.path, PutMode::Overwrite).await;
    assert!(contents(store.as_ref(), key).await.unwrap() == large);
    put_bytes(store.as_ref(), key, b"small again\n", PutMode::Overwrite).await;
    assert_eq!(
        contents(store.as_ref(), key).await.unwrap(),
        b"small again\n"
    );
}

pub async fn ranges_are_clamped_and_checked(store: Arc<dyn Store>) {
    let key = "k.example/x";
    put_bytes(store.as_ref(), key, b"0123456789", PutMode::CreateOnly).await;
    let get = |range: Range<u64>| {
        let store = store.clone();
        async move { store.get(key, Some(range)).await }
    };
    let object = get(2..5).await.unwrap().unwrap();
    assert_eq!((object.range.clone(), object.meta.size), (2..5, 10));
    assert_eq!(read_all(object).await, b"234");
    let tail = get(8..100).await.unwrap().unwrap();
    assert_eq!(tail.range, 8..10);
    assert_eq!(read_all(tail).await, b"89");
    let whole = get(0..10).await.unwrap().unwrap();
    assert_eq!(read_all(whole).await, b"0123456789");
    // A range whose end is before its start is unsatisfiable too.
    #[allow(clippy::reversed_empty_ranges)]
    let ranges = [10..12, 11..20, 5..5, 6..3];
    for unsatisfiable in ranges {
        assert!(
            matches!(
                get(unsatisfiable.clone()).await,
                Err(StoreError::RangeNotSatisfiable { size: 10 })
            ),
            "{unsatisfiable:?}"
        );
    }

    let empty = "k.example/empty";
    put_bytes(store.as_ref(), empty, b"", PutMode::CreateOnly).await;
    let object = store.get(empty, None).await.unwrap().unwrap();
    assert_eq!((object.range.clone(), object.meta.size), (0..0, 0));
    assert!(read_all(object).await.is_empty());
    let object = store.get(empty, Some(0..10)).await.unwrap().unwrap();
    assert_eq!(object.range, 0..0);
    assert!(read_all(object).await.is_empty());
}

pub async fn head_agrees_with_get(store: Arc<dyn Store>) {
    let key = "example.com/m/@v/v1.0.0.info";
    let body = br#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#;
    put_bytes(store.as_ref(), key, body, PutMode::CreateOnly).await;
    let head = store.head(key).await.unwrap().unwrap();
    let object = store.get(key, None).await.unwrap().unwrap();
    assert_eq!(object.meta, head);
    assert_eq!(head.size, body.len() as u64);
    assert!(
        head.etag.starts_with('"') && head.etag.ends_with('"') && head.etag.len() > 2,
        "a quoted entity tag, not {:?}",
        head.etag
    );
    let age = std::time::SystemTime::now()
        .duration_since(head.modified)
        .unwrap_or_default();
    assert!(
        age.as_secs() < 3600,
        "modified is when the object was stored"
    );
}

pub async fn list_is_by_string_prefix(store: Arc<dyn Store>) {
    let keys = [
        "h.example/a/@v/v1.0.0.mod",
        "h.example/a/@v/v1.0.0.zip",
        "h.example/a/b/@v/list",
        "h.example/ab/@v/list",
        "h.example/!azure/a~b/@v/v1.0.0+incompatible.info",
        "h.example/!azure/a~b/@v/v2.0.0-rc.1+incompatible.mod",
        ".modvault/contract/state",
    ];
    for key in keys {
        put_bytes(store.as_ref(), key, key.as_bytes(), PutMode::CreateOnly).await;
    }
    assert_eq!(
        sorted_list(store.as_ref(), "h.example/a/@v/").await,
        ["h.example/a/@v/v1.0.0.mod", "h.example/a/@v/v1.0.0.zip"]
    );
    assert_eq!(
        sorted_list(store.as_ref(), "h.example/a").await,
        [
            "h.example/a/@v/v1.0.0.mod",
            "h.example/a/@v/v1.0.0.zip",
            "h.example/a/b/@v/list",
            "h.example/ab/@v/list",
        ]
    );
    assert_eq!(
        sorted_list(store.as_ref(), "h.example/!azure/a~b/@v/v").await,
        [
            "h.example/!azure/a~b/@v/v1.0.0+incompatible.info",
            "h.example/!azure/a~b/@v/v2.0.0-rc.1+incompatible.mod",
        ]
    );
    for key in keys {
        assert_eq!(
            contents(store.as_ref(), key).await.as_deref(),
            Some(key.as_bytes()),
            "{key} round trip"
        );
    }
    let all = sorted_list(store.as_ref(), "").await;
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(
        all.iter().all(|k| !k.starts_with(".modvault/")),
        "private state is not listed: {all:?}"
    );
    assert_eq!(
        sorted_list(store.as_ref(), ".modvault/contract/").await,
        [".modvault/contract/state"]
    );
    assert!(sorted_list(store.as_ref(), "h.example/zz").await.is_empty());
}

/// More keys than an S3 listing page (1,000).
pub async fn list_pages_through_many_keys(store: Arc<dyn Store>) {
    const COUNT: usize = 1001;
    let prefix = "many.example/m/@v/";
    futures::stream::iter(0..COUNT)
        .map(|i| {
            let store = store.clone();
            async move {
                let key = format!("{prefix}v1.0.{i}.info");
                put_bytes(store.as_ref(), &key, b"{}", PutMode::CreateOnly).await
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    let listed = store.list(prefix).await.unwrap();
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(listed.len(), COUNT, "every key once");
    assert_eq!(unique.len(), COUNT, "no duplicates");
}

pub async fn delete_removes_and_is_idempotent(store: Arc<dyn Store>) {
    let keys = ["d.example/m/@v/v1.0.0.mod", "d.example/m/@v/v1.0.0.zip"];
    for key in keys {
        put_bytes(store.as_ref(), key, b"x", PutMode::CreateOnly).await;
    }
    store.delete(keys[0]).await.unwrap();
    store.delete(keys[0]).await.unwrap();
    assert!(store.get(keys[0], None).await.unwrap().is_none());
    assert!(store.head(keys[0]).await.unwrap().is_none());
    assert_eq!(sorted_list(store.as_ref(), "d.example/").await, [keys[1]]);
    // A deleted create-only key can be created again.
    assert_eq!(
        put_bytes(store.as_ref(), keys[0], b"y", PutMode::CreateOnly).await,
        PutOutcome::Created
    );
}

pub async fn invalid_keys_are_refused(store: Arc<dyn Store>) {
    let invalid = |result: Result<(), StoreError>, what: &str| {
        assert!(
            matches!(result, Err(StoreError::InvalidKey(_))),
            "{what}: {result:?}"
        );
    };
    for bad in [
        "", "/a", "a/", "a//b", "a/../b", "..", "./a", "a/.", "a\\b", "a\0b",
    ] {
        invalid(
            store.get(bad, None).await.map(|_| ()),
            &format!("get {bad:?}"),
        );
        invalid(store.head(bad).await.map(|_| ()), &format!("head {bad:?}"));
        for mode in [PutMode::CreateOnly, PutMode::Overwrite] {
            invalid(
                store
                    .put(bad, PutBody::Bytes(Bytes::from_static(b"x")), mode)
                    .await
                    .map(|_| ()),
                &format!("put {bad:?}"),
            );
        }
        invalid(store.delete(bad).await, &format!("delete {bad:?}"));
    }
    for bad in ["/", "/a", "../", "a/../", "a//", "..", "a\\b/"] {
        invalid(store.list(bad).await.map(|_| ()), &format!("list {bad:?}"));
    }
    assert!(
        store.list("").await.unwrap().is_empty(),
        "nothing was written"
    );
}

pub async fn concurrent_creates_of_one_key_make_one_winner(store: Arc<dyn Store>) {
    let key = "race.example/m/@v/v1.0.0.mod";
    let outcomes = futures::future::join_all((0..8u8).map(|i| {
        let store = store.clone();
        async move {
            let body = format!("writer {i}\n");
            let outcome =
                put_bytes(store.as_ref(), key, body.as_bytes(), PutMode::CreateOnly).await;
            (outcome, body)
        }
    }))
    .await;
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(o, _)| *o == PutOutcome::Created)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        contents(store.as_ref(), key).await.unwrap(),
        winners[0].as_bytes()
    );

    let key = "race.example/m/@v/v1.0.0.zip";
    let files: Vec<(Scratch, Vec<u8>)> = (0..3u8)
        .map(|i| {
            let data = pattern(LARGE, 10 + i);
            (scratch_file(&data), data)
        })
        .collect();
    let outcomes = futures::future::join_all(files.iter().map(|(file, _)| {
        let store = store.clone();
        async move { put_file(store.as_ref(), key, &file.path, PutMode::CreateOnly).await }
    }))
    .await;
    let winners: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i] == PutOutcome::Created)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        contents(store.as_ref(), key).await.unwrap() == files[winners[0]].1,
        "the stored object is the winner's, whole"
    );
}

pub async fn failed_put_leaves_nothing(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    for mode in [PutMode::CreateOnly, PutMode::Overwrite] {
        let key = "fail.example/m/@v/v1.0.0.zip";
        let result = store.put(key, PutBody::File(missing.clone()), mode).await;
        assert!(result.is_err(), "{mode:?}: {result:?}");
        assert!(store.head(key).await.unwrap().is_none(), "{mode:?}");
    }
    assert!(store.list("fail.example/").await.unwrap().is_empty());
}
