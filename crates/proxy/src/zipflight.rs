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
use futures::future::BoxFuture;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, Semaphore};

use modvault_core::modzip::MAX_ZIP_FILE;
use modvault_core::ModuleVersion;
use modvault_store::{PutBody, PutMode, PutOutcome, Store};
use modvault_upstream::{ByteStream, Fetcher};

use crate::verify::verify_zip_file;
use crate::{Metrics, ProxyError, ProxyResult};

/// Bytes handed to a client per read: small enough that hundreds of clients
/// streaming at once stay within a few tens of MiB.
const READ_CHUNK: u64 = 64 * 1024;

/// Everything needed to fetch one zip into the store.
pub struct ZipJob {
    pub key: String,
    /// Where the zip's `h1:` is kept beside it.
    pub hash_key: String,
    pub target: ModuleVersion,
    pub store: Arc<dyn Store>,
    pub fetcher: Arc<dyn Fetcher>,
    /// Checks the zip's `h1:` (against the checksum database) before commit.
    pub check: Box<dyn Fn(String) -> BoxFuture<'static, ProxyResult<()>> + Send + Sync>,
    /// Runs after the commit, before clients see the end of the zip.
    pub on_commit: Box<dyn FnOnce(String) -> BoxFuture<'static, ()> + Send + Sync>,
    pub metrics: Arc<Metrics>,
}

#[derive(Clone, Debug)]
enum ZipState {
    /// Asking upstream; nothing is known yet.
    Opening,
    Writing {
        written: u64,
    },
    Committed {
        size: u64,
    },
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
        ZipFlights {
            spool_dir,
            permits,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Joins the fetch of `job.key`, starting it if needed, and returns the
    /// zip as a stream once upstream has answered. An upstream failure before
    /// the first byte is returned as an error, so it can become a status code.
    pub async fn join(&self, job: ZipJob) -> ProxyResult<ByteStream> {
        let flight = self.flight(job)?;
        let mut state = flight.state.clone();
        loop {
            match &*state.borrow_and_update() {
                ZipState::Opening => {}
                ZipState::Failed(e) => return Err(e.clone()),
                ZipState::Writing { .. } | ZipState::Committed { .. } => break,
            }
            if state.changed().await.is_err() {
                return Err(ProxyError::Storage(
                    "zip fetch ended without a result".into(),
                ));
            }
        }
        Ok(spool_reader(flight.spool.clone(), state))
    }

    /// Joins (or starts) the fetch of `job.key` and waits until the zip is
    /// committed or refused, without reading it.
    pub async fn wait_committed(&self, job: ZipJob) -> ProxyResult<()> {
        let flight = self.flight(job)?;
        let mut state = flight.state.clone();
        loop {
            match &*state.borrow_and_update() {
                ZipState::Committed { .. } => return Ok(()),
                ZipState::Failed(e) => return Err(e.clone()),
                ZipState::Opening | ZipState::Writing { .. } => {}
            }
            if state.changed().await.is_err() {
                return Err(ProxyError::Storage(
                    "zip fetch ended without a result".into(),
                ));
            }
        }
    }

    fn flight(&self, job: ZipJob) -> ProxyResult<Arc<Flight>> {
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
        Ok(flight)
    }

    fn start(&self, job: ZipJob) -> ProxyResult<Flight> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = self.spool_dir.join(format!(
            "{}-{}.zip",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let spool = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                ProxyError::Storage(format!("cannot create spool file {}: {e}", path.display()))
            })?;
        let writer = spool
            .try_clone()
            .map_err(|e| ProxyError::Storage(e.to_string()))?;
        let (tx, rx) = watch::channel(ZipState::Opening);
        let permits = self.permits.clone();
        let registry = self.in_flight.clone();
        tokio::spawn(async move {
            let key = job.key.clone();
            let outcome =
                fetch_verify_commit(&job, &path, tokio::fs::File::from_std(writer), &tx, permits)
                    .await;
            let outcome = match outcome {
                Ok((size, hash)) => {
                    tracing::info!(%key, size, %hash, "zip stored");
                    job.metrics.zips_stored.fetch_add(1, Ordering::Relaxed);
                    (job.on_commit)(hash).await;
                    Ok(size)
                }
                Err(e) => {
                    tracing::warn!(%key, error = %e, "zip not stored");
                    if matches!(e, ProxyError::Upstream(_) | ProxyError::Security(_)) {
                        job.metrics.zips_rejected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e)
                }
            };
            let _ = std::fs::remove_file(&path);
            registry
                .lock()
                .expect("zip flight map poisoned")
                .remove(&key);
            tx.send_replace(match outcome {
                Ok(size) => ZipState::Committed { size },
                Err(e) => ZipState::Failed(e),
            });
        });
        Ok(Flight {
            spool: Arc::new(spool),
            state: rx,
        })
    }
}

async fn fetch_verify_commit(
    job: &ZipJob,
    path: &Path,
    mut writer: tokio::fs::File,
    state: &watch::Sender<ZipState>,
    permits: Arc<Semaphore>,
) -> ProxyResult<(u64, String)> {
    let _permit = permits
        .acquire_owned()
        .await
        .map_err(|e| ProxyError::Storage(e.to_string()))?;
    let what = format!("{}@{}", job.target.path, job.target.version);
    let mut body = job
        .fetcher
        .zip(&job.target.path, &job.target.version)
        .await?;
    let spool_error =
        |e: io::Error| ProxyError::Storage(format!("{what}: writing spool file: {e}"));
    state.send_replace(ZipState::Writing { written: 0 });
    let mut written = 0u64;
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk
            .map_err(|e| ProxyError::Upstream(format!("{what}: reading zip from upstream: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_ZIP_FILE {
            return Err(ProxyError::Upstream(format!(
                "{what}: upstream zip exceeds the {MAX_ZIP_FILE}-byte limit"
            )));
        }
        writer.write_all(&chunk).await.map_err(spool_error)?;
        writer.flush().await.map_err(spool_error)?;
        state.send_replace(ZipState::Writing { written });
    }
    writer.sync_all().await.map_err(spool_error)?;
    let (check_path, target) = (path.to_owned(), job.target.clone());
    let hash = tokio::task::spawn_blocking(move || verify_zip_file(&check_path, &target))
        .await
        .map_err(|e| ProxyError::Storage(e.to_string()))?
        .map_err(|reason| {
            ProxyError::Upstream(format!("{what}: upstream zip rejected: {reason}"))
        })?;
    (job.check)(hash.clone()).await?;
    match job
        .store
        .put(
            &job.key,
            PutBody::File(path.to_owned()),
            PutMode::CreateOnly,
        )
        .await?
    {
        PutOutcome::Created => {}
        PutOutcome::AlreadyExists => tracing::debug!(key = %job.key, "zip was stored concurrently"),
    }
    let hash_file = PutBody::Bytes(Bytes::from(format!("{hash}\n")));
    if let Err(e) = job
        .store
        .put(&job.hash_key, hash_file, PutMode::CreateOnly)
        .await
    {
        tracing::warn!(key = %job.hash_key, error = %e, "could not store the zip hash");
    }
    Ok((written, hash))
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
    let cursor = Cursor {
        spool,
        state,
        position: 0,
        finished: false,
    };
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
                return Some((
                    Err(io::Error::other("zip fetch ended without a result")),
                    cursor,
                ));
            }
        }
    }))
}
