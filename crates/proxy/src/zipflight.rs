//! Zip downloads in flight: one upstream fetch per zip, spooled to a local
//! file that every waiting client reads as it grows, verified and committed
//! to the store only when complete.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, Semaphore};

use modvault_core::modzip::MAX_ZIP_FILE;
use modvault_core::ModuleVersion;
use modvault_store::{PutBody, PutMode, PutOutcome, Store};
use modvault_upstream::{ByteStream, Fetcher};

use crate::verify::verify_zip_file;
use crate::{ProxyError, ProxyResult};

/// Bytes handed to a client per read: small enough that hundreds of clients
/// streaming at once stay within a few tens of MiB.
const READ_CHUNK: u64 = 64 * 1024;

/// Everything needed to fetch one zip into the store.
pub struct ZipJob {
    pub key: String,
    pub target: ModuleVersion,
    pub store: Arc<dyn Store>,
    pub fetcher: Arc<dyn Fetcher>,
}

#[derive(Clone, Debug)]
enum ZipState {
    /// Asking upstream; nothing is known yet.
    Opening,
    Writing { written: u64 },
    Committed { size: u64 },
    Failed(ProxyError),
}

struct Flight {
    spool: Arc<File>,
    state: watch::Receiver<ZipState>,
}

pub struct ZipFlights {
    spool_dir: PathBuf,
    permits: Arc<Semaphore>,
    in_flight: Arc<Mutex<HashMap<String, Arc<Flight>>>>,
}

/// Spool files from an earlier process can never be committed.
pub fn prepare_spool_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

impl ZipFlights {
    pub fn new(spool_dir: PathBuf, permits: Arc<Semaphore>) -> Self {
        ZipFlights { spool_dir, permits, in_flight: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// Joins the fetch of `job.key`, starting it if needed, and returns the
    /// zip as a stream once upstream has answered. An upstream failure before
    /// the first byte is returned as an error, so it can become a status code.
    pub async fn join(&self, job: ZipJob) -> ProxyResult<ByteStream> {
        let flight = {
            let mut in_flight = self.in_flight.lock().expect("zip flight map poisoned");
            match in_flight.get(&job.key) {
                Some(flight) => flight.clone(),
                None => {
                    let key = job.key.clone();
                    let flight = Arc::new(self.start(job)?);
                    in_flight.insert(key, flight.clone());
                    flight
                }
            }
        };
        let mut state = flight.state.clone();
        loop {
            match &*state.borrow_and_update() {
                ZipState::Opening => {}
                ZipState::Failed(e) => return Err(e.clone()),
                ZipState::Writing { .. } | ZipState::Committed { .. } => break,
            }
            if state.changed().await.is_err() {
                return Err(ProxyError::Storage("zip fetch ended without a result".into()));
            }
        }
        Ok(spool_reader(flight.spool.clone(), state))
    }

    fn start(&self, job: ZipJob) -> ProxyResult<Flight> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = self
            .spool_dir
            .join(format!("{}-{}.zip", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        let spool = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| ProxyError::Storage(format!("cannot create spool file {}: {e}", path.display())))?;
        let writer = spool.try_clone().map_err(|e| ProxyError::Storage(e.to_string()))?;
        let (tx, rx) = watch::channel(ZipState::Opening);
        let permits = self.permits.clone();
        let registry = self.in_flight.clone();
        tokio::spawn(async move {
            let key = job.key.clone();
            let outcome = fetch_verify_commit(&job, &path, tokio::fs::File::from_std(writer), &tx, permits).await;
            match &outcome {
                Ok(size) => tracing::info!(%key, size, "zip stored"),
                Err(e) => tracing::warn!(%key, error = %e, "zip not stored"),
            }
            let _ = std::fs::remove_file(&path);
            registry.lock().expect("zip flight map poisoned").remove(&key);
            tx.send_replace(match outcome {
                Ok(size) => ZipState::Committed { size },
                Err(e) => ZipState::Failed(e),
            });
        });
        Ok(Flight { spool: Arc::new(spool), state: rx })
    }
}

async fn fetch_verify_commit(
    job: &ZipJob,
    path: &Path,
    mut writer: tokio::fs::File,
    state: &watch::Sender<ZipState>,
    permits: Arc<Semaphore>,
) -> ProxyResult<u64> {
    let _permit = permits.acquire_owned().await.map_err(|e| ProxyError::Storage(e.to_string()))?;
    let what = format!("{}@{}", job.target.path, job.target.version);
    let mut body = job.fetcher.zip(&job.target.path, &job.target.version).await?;
    let spool_error = |e: io::Error| ProxyError::Storage(format!("{what}: writing spool file: {e}"));
    state.send_replace(ZipState::Writing { written: 0 });
    let mut written = 0u64;
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk.map_err(|e| ProxyError::Upstream(format!("{what}: reading zip from upstream: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_ZIP_FILE {
            return Err(ProxyError::Upstream(format!("{what}: upstream zip exceeds the {MAX_ZIP_FILE}-byte limit")));
        }
        writer.write_all(&chunk).await.map_err(spool_error)?;
        writer.flush().await.map_err(spool_error)?;
        state.send_replace(ZipState::Writing { written });
    }
    writer.sync_all().await.map_err(spool_error)?;
    let (check_path, target) = (path.to_owned(), job.target.clone());
    tokio::task::spawn_blocking(move || verify_zip_file(&check_path, &target))
        .await
        .map_err(|e| ProxyError::Storage(e.to_string()))?
        .map_err(|reason| ProxyError::Upstream(format!("{what}: upstream zip rejected: {reason}")))?;
    match job.store.put(&job.key, PutBody::File(path.to_owned()), PutMode::CreateOnly).await? {
        PutOutcome::Created => {}
        PutOutcome::AlreadyExists => tracing::debug!(key = %job.key, "zip was stored concurrently"),
    }
    Ok(written)
}

/// A client's view of a spooled zip: every byte as soon as it is written,
/// the end only once the zip is committed, and an error if it fails.
fn spool_reader(spool: Arc<File>, state: watch::Receiver<ZipState>) -> ByteStream {
    struct Cursor {
        spool: Arc<File>,
        state: watch::Receiver<ZipState>,
        position: u64,
        finished: bool,
    }
    let cursor = Cursor { spool, state, position: 0, finished: false };
    Box::pin(futures::stream::unfold(cursor, |mut cursor| async move {
        if cursor.finished {
            return None;
        }
        loop {
            let current = cursor.state.borrow_and_update().clone();
            let available = match current {
                ZipState::Failed(e) => {
                    cursor.finished = true;
                    return Some((Err(io::Error::other(e.to_string())), cursor));
                }
                ZipState::Opening => 0,
                ZipState::Writing { written } => written,
                ZipState::Committed { size } => size,
            };
            if cursor.position < available {
                let len = (available - cursor.position).min(READ_CHUNK) as usize;
                let (spool, offset) = (cursor.spool.clone(), cursor.position);
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; len];
                    spool.read_exact_at(&mut buf, offset).map(|()| buf)
                })
                .await
                .map_err(io::Error::other)
                .and_then(|r| r);
                return match read {
                    Ok(buf) => {
                        cursor.position += len as u64;
                        Some((Ok(Bytes::from(buf)), cursor))
                    }
                    Err(e) => {
                        cursor.finished = true;
                        Some((Err(e), cursor))
                    }
                };
            }
            if matches!(current, ZipState::Committed { .. }) {
                return None;
            }
            if cursor.state.changed().await.is_err() {
                cursor.finished = true;
                return Some((Err(io::Error::other("zip fetch ended without a result")), cursor));
            }
        }
    }))
}
