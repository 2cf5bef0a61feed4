//! What protects stored modules: a public checksum database that verifies
//! everything fetched (where the route allows looking the module up), and
//! modvault's own log that records everything stored.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use modvault_checksum::{HashKind, OwnSumdb, SumdbVerifier, VerifyError};
use modvault_core::dirhash::hash_go_mod;
use modvault_rules::Route;
use modvault_store::{read_to_bytes, Store};

use futures::StreamExt;

use crate::verify::verify_zip_file;
use crate::{
    Body, FetchPolicy, FileRequest, Metrics, ModVersion, ModuleProxy, ProxyError, ProxyResult,
    Request,
};

#[derive(Clone, Default)]
pub struct Integrity {
    /// The public database fetched modules are verified against.
    pub verifier: Option<Arc<SumdbVerifier>>,
    /// modvault's own database, recording every stored version.
    pub own: Option<Arc<OwnSumdb>>,
}

impl Integrity {
    /// Whether fetched data for this route is checked before it is stored
    /// (and so before a zip can be streamed as it arrives).
    pub(crate) fn verifies(&self, route: &Route) -> bool {
        route.sumdb && self.verifier.is_some()
    }

    /// Checks a fetched hash against the checksum database when the route
    /// allows looking the module up; counts and logs every security error.
    pub(crate) async fn check(
        &self,
        route: &Route,
        version: &ModVersion,
        kind: HashKind,
        hash: &str,
        metrics: &Metrics,
    ) -> ProxyResult<()> {
        let Some(verifier) = self.verifier.as_ref().filter(|_| route.sumdb) else {
            return Ok(());
        };
        let file_kind = match kind {
            HashKind::Zip => "zip",
            _ => "mod",
        };
        let verified = verifier
            .verify(version.path(), &version.version, kind, hash)
            .await;
        let result = match &verified {
            Ok(_) => "ok",
            Err(VerifyError::Security(_)) => "mismatch",
            Err(_) => "error",
        };
        metrics.verification(file_kind, result);
        verified.map_err(|e| {
            if matches!(e, VerifyError::Security(_)) {
                metrics.security_error();
                tracing::error!(module = %version.path(), version = %version.version, error = %e, "checksum database verification failed");
            }
            ProxyError::from(e)
        })
    }

    /// Appends a stored version to modvault's own checksum database.
    pub(crate) async fn record(
        &self,
        version: &ModVersion,
        zip_hash: &str,
        go_mod: &[u8],
    ) -> ProxyResult<()> {
        let Some(own) = &self.own else { return Ok(()) };
        own.append(
            version.path(),
            &version.version,
            zip_hash,
            &hash_go_mod(go_mod),
        )
        .await?;
        Ok(())
    }
}

impl ModuleProxy {
    /// Makes sure `version` is stored and recorded in modvault's own
    /// checksum database, fetching it through the normal path if needed
    /// (as sum.golang.org fetches a version on its first lookup).
    pub async fn ensure_recorded(&self, version: &ModVersion, route: &Route) -> ProxyResult<()> {
        let Some(own) = self.inner.integrity.own.clone() else {
            return Ok(());
        };
        if own.contains(version.path(), &version.version).await? {
            return Ok(());
        }
        let request = Request {
            module: version.module.clone(),
            route: *route,
            file: FileRequest::Zip(version.version.clone()),
            policy: FetchPolicy::FetchOnMiss,
        };
        if let Body::Streaming(mut stream) = self.serve(&request).await?.body {
            // Reading the zip to its end waits for its commit, and so for
            // its record.
            while let Some(chunk) = stream.next().await {
                chunk.map_err(|e| ProxyError::BadUpstream(format!("{version}: {e}")))?;
            }
        }
        if own.contains(version.path(), &version.version).await? {
            return Ok(());
        }
        let spool_dir = &self.inner.settings.spool_dir;
        let zip_hash = stored_zip_hash(self.inner.store.as_ref(), spool_dir, version).await?;
        let (_, go_mod) = self.ensure_metadata(version, route).await?;
        self.inner
            .integrity
            .record(version, &zip_hash, &go_mod)
            .await
    }
}

/// The `h1:` of a stored zip: from its `.ziphash`, else recomputed from the
/// zip, spooled to a file of its own in `spool_dir`.
pub(crate) async fn stored_zip_hash(
    store: &dyn Store,
    spool_dir: &Path,
    version: &ModVersion,
) -> ProxyResult<String> {
    if let Some((_, hash)) = read_to_bytes(store, &version.zip_hash_key()).await? {
        return Ok(String::from_utf8_lossy(&hash).trim().to_owned());
    }
    let key = version.zip_key();
    let object = store
        .get(&key, None)
        .await?
        .ok_or_else(|| ProxyError::NotFound(format!("{key}: not stored")))?;
    let spool = SpoolFile::new(spool_dir, "rehash");
    let mut file = tokio::fs::File::create(spool.path())
        .await
        .map_err(|e| ProxyError::spool("rehash spool", e))?;
    let mut body = tokio_util::io::StreamReader::new(object.body);
    tokio::io::copy(&mut body, &mut file)
        .await
        .map_err(|e| ProxyError::spool("rehash spool", e))?;
    let (path, target) = (spool.path().to_owned(), version.target());
    let hash = tokio::task::spawn_blocking(move || verify_zip_file(&path, &target))
        .await
        .map_err(|e| ProxyError::spool("rehash task", std::io::Error::other(e)))?;
    hash.map_err(|reason| {
        ProxyError::Corrupt(format!("{version}: the stored zip is invalid: {reason}"))
    })
}

/// A uniquely named file in the spool directory, removed when dropped (on
/// every path, errors included).
pub(crate) struct SpoolFile {
    path: PathBuf,
}

impl SpoolFile {
    pub(crate) fn new(dir: &Path, kind: &str) -> SpoolFile {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        SpoolFile {
            path: dir.join(format!("{kind}-{}-{n}.zip", std::process::id())),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
