//! Memos of what never changes in a mirror: a commit's committer time by
//! its full hash, and small files at a commit (`go.mod`, `LICENSE`) by
//! (commit, path). Serving the `.info`, `.mod` and `.zip` of one version
//! asks the same questions several times (`Stat`, `convert`, `findDir`,
//! `GoMod`); with these memos each is a git process once.
//!
//! Both are keyed by full object hashes, so an entry stays right for as
//! long as the mirror exists: fetches only add objects and move refs.
//! (What depends on the refs, such as a tag's commit, is memoized with the
//! refs snapshot instead: see `RefSnapshot`.) The memos are shared by all
//! mirrors and bounded by entries and bytes; the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

/// Commit times kept, over all mirrors (about 150 bytes each).
const MAX_COMMITS: usize = 1 << 16;
/// Files kept, over all mirrors.
const MAX_BLOBS: usize = 1 << 14;
/// Bytes of file contents kept, over all mirrors.
const MAX_BLOB_BYTES: usize = 32 << 20;
/// Larger files are read from git every time (their existence is still
/// remembered).
pub(crate) const MAX_CACHED_BLOB: usize = 256 << 10;

/// What is known about a path at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlobEntry {
    /// Not a blob there: missing, a tree, or a submodule
    /// (`git cat-file blob <commit>:<path>` fails).
    Missing,
    /// A blob (a file or a symlink), with its contents when they were read
    /// and small enough to keep.
    Blob(Option<Bytes>),
}

/// (mirror directory name, full commit hash, path).
type BlobKey = (Arc<str>, String, String);
/// (mirror directory name, full commit hash).
type CommitKey = (Arc<str>, String);

/// The memos of all mirrors.
pub(crate) struct ObjectCache {
    commits: Mutex<Bounded<CommitKey, i64>>,
    blobs: Mutex<Bounded<BlobKey, BlobEntry>>,
}

impl ObjectCache {
    pub(crate) fn new() -> ObjectCache {
        ObjectCache::with_limits(MAX_COMMITS, MAX_BLOBS, MAX_BLOB_BYTES)
    }

    fn with_limits(commits: usize, blobs: usize, blob_bytes: usize) -> ObjectCache {
        ObjectCache {
            commits: Mutex::new(Bounded::new(commits, usize::MAX)),
            blobs: Mutex::new(Bounded::new(blobs, blob_bytes)),
        }
    }

    /// The committer time of a commit, if known.
    pub(crate) fn commit_time(&self, mirror: &Arc<str>, hash: &str) -> Option<i64> {
        lock(&self.commits)
            .get(&(mirror.clone(), hash.to_owned()))
            .copied()
    }

    pub(crate) fn put_commit_time(&self, mirror: &Arc<str>, hash: &str, time: i64) {
        lock(&self.commits).insert((mirror.clone(), hash.to_owned()), time, 0);
    }

    pub(crate) fn blob(&self, mirror: &Arc<str>, commit: &str, path: &str) -> Option<BlobEntry> {
        lock(&self.blobs)
            .get(&(mirror.clone(), commit.to_owned(), path.to_owned()))
            .cloned()
    }

    /// Records what is known about a path. Contents never replace a known
    /// entry by "exists, contents unknown".
    pub(crate) fn put_blob(&self, mirror: &Arc<str>, commit: &str, path: &str, entry: BlobEntry) {
        let entry = match entry {
            BlobEntry::Blob(Some(data)) if data.len() > MAX_CACHED_BLOB => BlobEntry::Blob(None),
            entry => entry,
        };
        let key = (mirror.clone(), commit.to_owned(), path.to_owned());
        let mut blobs = lock(&self.blobs);
        if entry == BlobEntry::Blob(None) && blobs.get(&key).is_some() {
            return;
        }
        let weight = match &entry {
            BlobEntry::Blob(Some(data)) => data.len(),
            _ => 0,
        };
        blobs.insert(key, entry, weight);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A map bounded by entries and by total weight, evicting in insertion
/// order (entries never change, so recency matters little).
pub(crate) struct Bounded<K, V> {
    map: HashMap<K, (V, usize)>,
    order: VecDeque<K>,
    max_entries: usize,
    max_weight: usize,
    weight: usize,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    pub(crate) fn new(max_entries: usize, max_weight: usize) -> Bounded<K, V> {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
            max_entries: max_entries.max(1),
            max_weight,
            weight: 0,
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }

    /// Inserts or replaces; an entry heavier than the whole budget is not
    /// kept.
    pub(crate) fn insert(&mut self, key: K, value: V, weight: usize) {
        if weight > self.max_weight {
            return;
        }
        if let Some(slot) = self.map.get_mut(&key) {
            // Replaced in place; it keeps its turn for eviction.
            self.weight = self.weight - slot.1 + weight;
            *slot = (value, weight);
        } else {
            while self.map.len() >= self.max_entries || self.weight + weight > self.max_weight {
                if !self.evict_oldest() {
                    break;
                }
            }
            self.weight += weight;
            self.order.push_back(key.clone());
            self.map.insert(key, (value, weight));
        }
        while self.weight > self.max_weight && self.evict_oldest() {}
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(oldest) = self.order.pop_front() else {
            return false;
        };
        if let Some((_, w)) = self.map.remove(&oldest) {
            self.weight -= w;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_entries_and_weight() {
        let mut b = Bounded::new(3, 10);
        b.insert("a", 1, 4);
        b.insert("b", 2, 4);
        b.insert("c", 3, 1);
        assert_eq!((b.len(), b.get(&"a")), (3, Some(&1)));
        b.insert("d", 4, 0);
        assert_eq!(b.get(&"a"), None, "oldest out by count");
        b.insert("e", 5, 8);
        assert_eq!(
            (b.get(&"b"), b.get(&"c"), b.get(&"d")),
            (None, Some(&3), Some(&4))
        );
        assert_eq!(b.get(&"e"), Some(&5));
        b.insert("f", 6, 11);
        assert_eq!(b.get(&"f"), None, "heavier than the budget");
        b.insert("e", 7, 1);
        assert_eq!((b.get(&"e"), b.len()), (Some(&7), 3));
        b.insert("d", 8, 10);
        assert_eq!(
            (b.get(&"d"), b.get(&"e")),
            (None, Some(&7)),
            "replaced, then over the budget"
        );
    }

    #[test]
    fn blobs_keep_contents_and_mirrors_apart() {
        let cache = ObjectCache::with_limits(4, 4, 1 << 20);
        let (m1, m2): (Arc<str>, Arc<str>) = ("m1".into(), "m2".into());
        cache.put_blob(
            &m1,
            "c",
            "go.mod",
            BlobEntry::Blob(Some(Bytes::from_static(b"module x\n"))),
        );
        cache.put_blob(&m1, "c", "go.mod", BlobEntry::Blob(None));
        assert_eq!(
            cache.blob(&m1, "c", "go.mod"),
            Some(BlobEntry::Blob(Some(Bytes::from_static(b"module x\n"))))
        );
        assert_eq!(cache.blob(&m2, "c", "go.mod"), None);
        cache.put_blob(&m2, "c", "LICENSE", BlobEntry::Missing);
        assert_eq!(cache.blob(&m2, "c", "LICENSE"), Some(BlobEntry::Missing));
        let big = Bytes::from(vec![0u8; MAX_CACHED_BLOB + 1]);
        cache.put_blob(&m1, "c", "LICENSE", BlobEntry::Blob(Some(big)));
        assert_eq!(cache.blob(&m1, "c", "LICENSE"), Some(BlobEntry::Blob(None)));
        cache.put_commit_time(&m1, "c", 42);
        assert_eq!(
            (cache.commit_time(&m1, "c"), cache.commit_time(&m2, "c")),
            (Some(42), None)
        );
    }
}
