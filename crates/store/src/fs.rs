//! The local-disk backend: objects are plain files under a root directory.

use std::fs::{self, File};
use std::io::{self, ErrorKind, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::{
    clamp_range, validate_key, validate_prefix, Object, ObjectMeta, PutBody, PutMode, PutOutcome,
    Store, StoreError, StoreResult,
};

/// Temporary files live inside the root so that committing them is a
/// same-filesystem link or rename, which is what makes it atomic.
const TMP_DIR: &str = crate::layout::FS_TMP_DIR;
const READ_CHUNK: usize = 64 * 1024;
/// Objects up to this size are read in one go rather than streamed.
const SMALL_OBJECT: u64 = 64 * 1024;

struct Opened {
    meta: ObjectMeta,
    /// `None` when the requested range is not satisfiable.
    range: Option<Range<u64>>,
    file: File,
    small: Option<Bytes>,
}

#[derive(Clone)]
pub struct FsStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsStore {
    /// Opens (creating if needed) a store rooted at `root`, and clears
    /// temporary files left behind by a crashed process.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<FsStore> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp)?;
        let store = FsStore { root, tmp };
        store.remove_stale_temporaries();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every temporary file belongs to a process that died mid-write (kill
    /// -9, power loss): the caller holds the data directory's lock
    /// (`layout::DataDir::lock`), so no other process is writing here.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.tmp) else {
            return;
        };
        for entry in entries.flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn temp_path(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.tmp.join(format!("{}-{nanos}-{n}", std::process::id()))
    }

    /// Puts the bytes under a private temporary name, durably.
    fn stage(&self, body: PutBody) -> io::Result<PathBuf> {
        let staged = self.temp_path();
        let written = match body {
            PutBody::Bytes(bytes) => File::create(&staged).and_then(|mut file| {
                io::Write::write_all(&mut file, &bytes)?;
                file.sync_all()
            }),
            PutBody::File(source) => {
                File::open(&source)
                    .and_then(|f| f.sync_all())
                    .and_then(|()| {
                        match fs::hard_link(&source, &staged) {
                            Ok(()) => Ok(()),
                            Err(e) if e.raw_os_error() == Some(18 /* EXDEV */) => {
                                fs::copy(&source, &staged)?;
                                File::open(&staged)?.sync_all()
                            }
                            Err(e) => Err(e),
                        }
                    })
            }
        };
        match written {
            Ok(()) => Ok(staged),
            Err(e) => {
                // A full disk must not also leave a half-written file.
                let _ = fs::remove_file(&staged);
                Err(e)
            }
        }
    }

    fn put_blocking(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        let dest = self.path_of(key)?;
        let parent = dest.parent().expect("a validated key has a parent");
        let io_err = |e| StoreError::io(key, e);
        fs::create_dir_all(parent).map_err(io_err)?;
        let staged = self.stage(body).map_err(io_err)?;
        let outcome = match mode {
            PutMode::CreateOnly => match fs::hard_link(&staged, &dest) {
                Ok(()) => Ok(PutOutcome::Created),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(PutOutcome::AlreadyExists),
                Err(e) => Err(io_err(e)),
            },
            PutMode::Overwrite => fs::rename(&staged, &dest)
                .map(|()| PutOutcome::Created)
                .map_err(io_err),
        };
        let _ = fs::remove_file(&staged);
        if outcome.as_ref().is_ok_and(|o| *o == PutOutcome::Created) {
            // The new directory entry must survive a crash too.
            File::open(parent)
                .and_then(|dir| dir.sync_all())
                .map_err(io_err)?;
        }
        outcome
    }

    fn list_blocking(&self, prefix: &str) -> StoreResult<Vec<String>> {
        validate_prefix(prefix)?;
        // Walk only the deepest directory the prefix names.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path_of(dir_part)?
        };
        let mut keys = Vec::new();
        let mut pending = vec![(start, dir_part.to_owned())];
        while let Some((dir, key_prefix)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(prefix, e))?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let key = if key_prefix.is_empty() {
                    name
                } else {
                    format!("{key_prefix}/{name}")
                };
                if key == crate::layout::PRIVATE {
                    continue;
                }
                let file_type = entry.file_type().map_err(|e| StoreError::io(prefix, e))?;
                if file_type.is_dir() {
                    if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                        pending.push((entry.path(), key));
                    }
                } else if file_type.is_file() && key.starts_with(prefix) {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }
}

fn meta_of(metadata: &fs::Metadata) -> ObjectMeta {
    let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    ObjectMeta {
        size: metadata.len(),
        modified,
        etag: format!("\"{:x}-{:x}\"", metadata.len(), nanos),
    }
}

/// Clamps a requested range to the object, as HTTP range semantics need.
#[async_trait]
impl Store for FsStore {
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> StoreResult<Option<Object>> {
        let path = self.path_of(key)?;
        // One trip to the blocking pool opens, stats and, for small objects
        // (every .info, .mod and list), reads the whole answer.
        let opened = tokio::task::spawn_blocking(move || -> io::Result<Option<Opened>> {
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let metadata = file.metadata()?;
            if !metadata.is_file() {
                return Ok(None);
            }
            let meta = meta_of(&metadata);
            let Ok(range) = clamp_range(range, meta.size) else {
                return Ok(Some(Opened {
                    meta,
                    range: None,
                    file,
                    small: None,
                }));
            };
            let len = range.end - range.start;
            let small = if len <= SMALL_OBJECT {
                let mut buf = vec![0; len as usize];
                std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf, range.start)?;
                Some(Bytes::from(buf))
            } else {
                None
            };
            Ok(Some(Opened {
                meta,
                range: Some(range),
                file,
                small,
            }))
        })
        .await
        .map_err(|e| StoreError::io(key, io::Error::other(e)))?
        .map_err(|e| StoreError::io(key, e))?;
        let Some(Opened {
            meta,
            range,
            file,
            small,
        }) = opened
        else {
            return Ok(None);
        };
        let Some(range) = range else {
            return Err(StoreError::RangeNotSatisfiable { size: meta.size });
        };
        let body: crate::ByteStream = match small {
            Some(bytes) => Box::pin(futures::stream::once(async move { Ok(bytes) })),
            None => {
                let mut file = tokio::fs::File::from_std(file);
                if range.start > 0 {
                    file.seek(SeekFrom::Start(range.start))
                        .await
                        .map_err(|e| StoreError::io(key, e))?;
                }
                Box::pin(ReaderStream::with_capacity(
                    file.take(range.end - range.start),
                    READ_CHUNK,
                ))
            }
        };
        Ok(Some(Object { meta, range, body }))
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectMeta>> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(meta_of(&m))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(key, e)),
        }
    }

    async fn put(&self, key: &str, body: PutBody, mode: PutMode) -> StoreResult<PutOutcome> {
        let this = self.clone();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || this.put_blocking(&key, body, mode))
            .await
            .map_err(|e| StoreError::io("put", io::Error::other(e)))?
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        let this = self.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || this.list_blocking(&prefix))
            .await
            .map_err(|e| StoreError::io("list", io::Error::other(e)))?
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(key, e)),
        }
    }
}

/// What every backend does is checked by the contract suite (`crate::contract`);
/// these are the filesystem's own promises.
/// What every backend must do is checked by the contract suite
/// (`crate::contract`); these are the filesystem backend's own promises.
#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn put_from_file_leaves_no_temporaries() {
        let (dir, store) = store();
        let source = dir.path().join("spooled");
        fs::write(&source, b"zip bytes").unwrap();
        store
            .put(
                "a.example/m/@v/v1.0.0.zip",
                PutBody::File(source.clone()),
                PutMode::CreateOnly,
            )
            .await
            .unwrap();
        assert!(source.exists(), "the caller owns the source name");
        assert_eq!(fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
        assert_eq!(
            fs::read(dir.path().join("a.example/m/@v/v1.0.0.zip")).unwrap(),
            b"zip bytes"
        );
    }

    #[test]
    fn every_temporary_is_removed_on_open() {
        // One process per data directory (its lock), so every temporary
        // file at start-up is left over from a crash, however recent.
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(TMP_DIR);
        fs::create_dir_all(&tmp).unwrap();
        let (stale, recent) = (tmp.join("stale"), tmp.join("recent"));
        fs::write(&stale, b"half").unwrap();
        fs::write(&recent, b"").unwrap();
        let old = SystemTime::now() - Duration::from_secs(7200);
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        FsStore::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(!recent.exists());
    }
}
