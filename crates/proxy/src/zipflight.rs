//! Zip downloads in flight: one upstream fetch per zip, spooled to a local
//! file that every waiting client reads as it grows, verified and committed
//! to the store only when complete.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures::future::{BoxFuture, Shared};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use modvault_checksum::HashKind;
use modvault_core::modzip::MAX_ZIP_FILE;
use modvault_error::{ErrorKind, HasKind};
use modvault_rules::Route;
use modvault_state::{Catalog, CatalogEntry, FetchLeases, Origin};
use modvault_store::{ByteStream, PutBody, PutMode, PutOutcome, Store};
use modvault_upstream::Fetcher;

use crate::integrity::SpoolFile;
use crate::pool::{FetchPool, WaiterGuard, Waiters};
use crate::verify::verify_zip_file;
use crate::{Integrity, Metrics, ModVersion, ProxyError, ProxyResult};

/// Bytes handed to a client per read: small enough that hundreds of clients
/// streaming at once stay within a few tens of MiB.
const READ_CHUNK: u64 = 64 * 1024;

/// Everything one zip fetch needs, as values: the flight runs on its own
/// task and outlives the request that started it.
pub struct ZipJob {
    pub version: ModVersion,
    pub route: Route,
    pub source: Arc<dyn Fetcher>,
    pub store: Arc<dyn Store>,
    pub integrity: Integrity,
    pub leases: Arc<dyn FetchLeases>,
    pub catalog: Arc<dyn Catalog>,
    /// The version's go.mod, being fetched beside the zip: our own checksum
    /// log records both hashes.
    pub go_mod: GoModFuture,
    pub metrics: Arc<Metrics>,
}

/// A go.mod that is being (or has been) fetched.
pub type GoModFuture = Shared<BoxFuture<'static, ProxyResult<Bytes>>>;

/// How a joined zip can be read.
pub enum Joined {
    /// As it arrives, from the spool file.
    Streaming(ByteStream),
    /// From the store: another process stored it while we waited for the
    /// lease.
    Stored,
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
    /// Stored by another process; nothing was spooled here.
    StoredElsewhere,
    Failed(ProxyError),
}

struct Flight {
    spool: Arc<File>,
    state: watch::Receiver<ZipState>,
    waiters: Waiters,
}

/// The slowest a zip may arrive, measured over a window.
#[derive(Clone, Copy, Debug)]
pub struct MinRate {
    /// 0: no minimum.
    pub bytes_per_second: u64,
    pub window: Duration,
}

pub struct ZipFlights {
    spool_dir: PathBuf,
    permits: FetchPool,
    rate: MinRate,
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
    pub(crate) fn new(spool_dir: PathBuf, permits: FetchPool, rate: MinRate) -> Self {
        ZipFlights {
            spool_dir,
            permits,
            rate,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Joins the fetch of the job's zip, starting it if needed, and returns
    /// how to read it once upstream has answered. An upstream failure before
    /// the first byte is returned as an error, so it can become a status code.
    pub async fn join(&self, job: ZipJob) -> ProxyResult<Joined> {
        let (flight, waiting) = self.flight(job)?;
        let mut state = flight.state.clone();
        loop {
            match &*state.borrow_and_update() {
                ZipState::Opening => {}
                ZipState::Failed(e) => return Err(e.clone()),
                ZipState::StoredElsewhere => return Ok(Joined::Stored),
                ZipState::Writing { .. } | ZipState::Committed { .. } => break,
            }
            if state.changed().await.is_err() {
                return Err(ended_without_result());
            }
        }
        Ok(Joined::Streaming(spool_reader(
            flight.spool.clone(),
            state,
            waiting,
        )))
    }

    /// Waits until no flight is in the registry (each leaves it once
    /// committed and catalogued, or failed).
    pub(crate) async fn settled(&self) {
        while !self
            .in_flight
            .lock()
            .expect("zip flight map poisoned")
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Joins (or starts) the fetch of the job's zip and waits until it is
    /// committed or refused, without reading it.
    pub async fn wait_committed(&self, job: ZipJob) -> ProxyResult<()> {
        let (flight, _waiting) = self.flight(job)?;
        let mut state = flight.state.clone();
        loop {
            match &*state.borrow_and_update() {
                ZipState::Committed { .. } | ZipState::StoredElsewhere => return Ok(()),
                ZipState::Failed(e) => return Err(e.clone()),
                ZipState::Opening | ZipState::Writing { .. } => {}
            }
            if state.changed().await.is_err() {
                return Err(ended_without_result());
            }
        }
    }

    /// The flight of the job's zip (started if there is none), with this
    /// caller counted as waiting on it; counted under the map's lock, so a
    /// new flight never looks abandoned before its first waiter is in.
    fn flight(&self, job: ZipJob) -> ProxyResult<(Arc<Flight>, WaiterGuard)> {
        let mut in_flight = self.in_flight.lock().expect("zip flight map poisoned");
        let key = job.version.zip_key();
        let flight = match in_flight.get(&key) {
            Some(flight) => flight.clone(),
            None => {
                let flight = Arc::new(self.start(job)?);
                in_flight.insert(key, flight.clone());
                flight
            }
        };
        let waiting = flight.waiters.join();
        Ok((flight, waiting))
    }

    fn start(&self, job: ZipJob) -> ProxyResult<Flight> {
        let spool_file = SpoolFile::new(&self.spool_dir, "fetch");
        let spool = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(spool_file.path())
            .map_err(|e| {
                ProxyError::spool(
                    format!("cannot create spool file {}", spool_file.path().display()),
                    e,
                )
            })?;
        let writer = spool
            .try_clone()
            .map_err(|e| ProxyError::spool("spool file", e))?;
        let (tx, rx) = watch::channel(ZipState::Opening);
        let waiters = Waiters::default();
        let (permits, rate, watched) = (self.permits.clone(), self.rate, waiters.clone());
        let registry = self.in_flight.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            let key = job.version.zip_key();
            let outcome = fetch_verify_commit(
                &job,
                spool_file.path(),
                tokio::fs::File::from_std(writer),
                &tx,
                permits,
                rate,
                &watched,
            )
            .await;
            drop(spool_file);
            let state = match outcome {
                Ok(Fetched::Committed {
                    size,
                    hash,
                    from_vcs,
                }) => {
                    tracing::info!(%key, size, %hash, "zip stored");
                    job.metrics.zip_stored();
                    after_commit(&job, size, &hash, from_vcs).await;
                    ZipState::Committed { size }
                }
                Ok(Fetched::StoredElsewhere) => ZipState::StoredElsewhere,
                Err(e) => {
                    tracing::warn!(%key, error = %modvault_error::chain(&e), "zip not stored");
                    if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Security) {
                        job.metrics.zip_rejected();
                    }
                    ZipState::Failed(e)
                }
            };
            registry
                .lock()
                .expect("zip flight map poisoned")
                .remove(&key);
            tx.send_replace(state);
        }));
        Ok(Flight {
            spool: Arc::new(spool),
            state: rx,
            waiters,
        })
    }
}

fn ended_without_result() -> ProxyError {
    ProxyError::spool(
        "zip fetch",
        io::Error::other("the fetch ended without a result"),
    )
}

enum Fetched {
    Committed {
        size: u64,
        hash: String,
        from_vcs: bool,
    },
    StoredElsewhere,
}

/// Catalogs the version and records it in our own checksum log, before
/// any client sees the end of the zip.
async fn after_commit(job: &ZipJob, size: u64, hash: &str, from_vcs: bool) {
    let (version, module) = (&job.version.version, job.version.path());
    let entry = CatalogEntry {
        module: module.to_owned(),
        version: version.clone(),
        origin: if from_vcs {
            Origin::Git
        } else {
            Origin::Upstream
        },
        size,
        stored_at: SystemTime::now(),
        last_served: None,
    };
    if let Err(e) = job.catalog.record(entry).await {
        tracing::error!(%module, %version, error = %modvault_error::chain(&e), "could not catalog the stored version");
    }
    if job.integrity.own.is_some() {
        let recorded = match job.go_mod.clone().await {
            Ok(go_mod) => job.integrity.record(&job.version, hash, &go_mod).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::error!(%module, %version, error = %modvault_error::chain(&e), "could not record version in the checksum log");
        }
    }
}

async fn fetch_verify_commit(
    job: &ZipJob,
    path: &Path,
    mut writer: tokio::fs::File,
    state: &watch::Sender<ZipState>,
    permits: FetchPool,
    rate: MinRate,
    waiters: &Waiters,
) -> ProxyResult<Fetched> {
    let _permit = permits.enter().await?;
    let key = job.version.zip_key();
    // Other processes sharing the store wait here while one fetches.
    let _lease = job.leases.acquire(&key).await?;
    if job.store.head(&key).await?.is_some() {
        return Ok(Fetched::StoredElsewhere);
    }
    let what = job.version.to_string();
    let mut body = job
        .source
        .zip(job.version.path(), &job.version.version)
        .await?;
    let spool_error = |e: io::Error| ProxyError::spool(format!("{what}: writing spool file"), e);
    state.send_replace(ZipState::Writing { written: 0 });
    let mut written = 0u64;
    let (mut window_start, mut window_bytes) = (Instant::now(), 0u64);
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk.map_err(|e| {
            ProxyError::BadUpstream(format!("{what}: reading zip from upstream: {e}"))
        })?;
        written += chunk.len() as u64;
        if written > MAX_ZIP_FILE {
            return Err(ProxyError::BadUpstream(format!(
                "{what}: upstream zip exceeds the {MAX_ZIP_FILE}-byte limit"
            )));
        }
        writer.write_all(&chunk).await.map_err(spool_error)?;
        writer.flush().await.map_err(spool_error)?;
        state.send_replace(ZipState::Writing { written });
        // Nobody to serve: stop, unless it is nearly done (then finishing
        // is cheaper than fetching again later).
        let nearly_done = body
            .declared_len
            .is_some_and(|len| written.saturating_mul(10) >= len.saturating_mul(9));
        if waiters.none() && !nearly_done {
            return Err(ProxyError::Abandoned);
        }
        window_bytes += chunk.len() as u64;
        let elapsed = window_start.elapsed();
        if rate.bytes_per_second > 0 && elapsed >= rate.window {
            if (window_bytes as f64) < rate.bytes_per_second as f64 * elapsed.as_secs_f64() {
                return Err(ProxyError::BadUpstream(format!(
                    "{what}: the zip arrives at {:.0} bytes/s, under upstream_min_rate ({} bytes/s)",
                    window_bytes as f64 / elapsed.as_secs_f64(),
                    rate.bytes_per_second
                )));
            }
            (window_start, window_bytes) = (Instant::now(), 0);
        }
    }
    writer.sync_all().await.map_err(spool_error)?;
    let (check_path, target) = (path.to_owned(), job.version.target());
    let hash = tokio::task::spawn_blocking(move || verify_zip_file(&check_path, &target))
        .await
        .map_err(|e| ProxyError::spool("zip check", io::Error::other(e)))?
        .map_err(|reason| {
            ProxyError::BadUpstream(format!("{what}: upstream zip rejected: {reason}"))
        })?;
    job.integrity
        .check(&job.route, &job.version, HashKind::Zip, &hash, &job.metrics)
        .await?;
    match job
        .store
        .put(&key, PutBody::File(path.to_owned()), PutMode::CreateOnly)
        .await?
    {
        PutOutcome::Created => {}
        PutOutcome::AlreadyExists => tracing::debug!(%key, "zip was stored concurrently"),
    }
    let hash_file = PutBody::Bytes(Bytes::from(format!("{hash}\n")));
    if let Err(e) = job
        .store
        .put(&job.version.zip_hash_key(), hash_file, PutMode::CreateOnly)
        .await
    {
        tracing::warn!(key = %job.version.zip_hash_key(), error = %e, "could not store the zip hash");
    }
    Ok(Fetched::Committed {
        size: written,
        hash,
        from_vcs: body.from_vcs,
    })
}

/// A client's view of a spooled zip: every byte as soon as it is written,
/// the end only once the zip is committed, and an error if it fails.
fn spool_reader(
    spool: Arc<File>,
    state: watch::Receiver<ZipState>,
    waiting: WaiterGuard,
) -> ByteStream {
    struct Cursor {
        spool: Arc<File>,
        state: watch::Receiver<ZipState>,
        position: u64,
        finished: bool,
        /// Counts this reader as waiting until the stream is dropped.
        _waiting: WaiterGuard,
    }
    let cursor = Cursor {
        spool,
        state,
        position: 0,
        finished: false,
        _waiting: waiting,
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
                ZipState::Opening | ZipState::StoredElsewhere => 0,
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
            if matches!(
                current,
                ZipState::Committed { .. } | ZipState::StoredElsewhere
            ) {
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
