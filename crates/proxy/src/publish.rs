//! Publishing: a module zip uploaded by its authors becomes a stored
//! version like any fetched one, and is then immutable.

use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use modvault_core::dirhash::hash_go_mod;
use modvault_core::gomod::module_path;
use modvault_core::modzip::{MAX_GO_MOD, MAX_ZIP_FILE};
use modvault_core::path::{check, is_canonical_version};
use modvault_core::ModuleVersion;
use modvault_error::{ErrorKind, HasKind};
use modvault_state::{CatalogEntry, Origin};
use modvault_store::{ByteStream, PutBody, PutMode, PutOutcome};

use crate::integrity::{stored_zip_hash, SpoolFile};
use crate::verify::verify_zip_file;
use crate::{ModVersion, Module, ModuleProxy, ProxyError};

/// A version as stored after a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub zip_hash: String,
    pub go_mod_hash: String,
    /// False when the same bytes were already published (an idempotent
    /// retry).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A bad path, version or zip.
    #[error("{0}")]
    Invalid(String),
    /// Over the module zip size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The version exists with other content. Versions never change.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

impl HasKind for PublishError {
    fn kind(&self) -> ErrorKind {
        match self {
            PublishError::Invalid(_) => ErrorKind::Invalid,
            PublishError::TooLarge(_) => ErrorKind::TooLarge,
            PublishError::Conflict(_) => ErrorKind::Conflict,
            PublishError::Proxy(e) => e.kind(),
        }
    }
}

impl From<modvault_store::StoreError> for PublishError {
    fn from(e: modvault_store::StoreError) -> Self {
        PublishError::Proxy(e.into())
    }
}

impl ModuleProxy {
    /// Stores an uploaded zip as `module@version`: checked with the module
    /// zip rules, its go.mod (or a synthesized one) as `.mod`, the upload
    /// time as `.info`, recorded in modvault's own checksum database and in
    /// the catalog.
    pub async fn publish(
        &self,
        module: &Module,
        version: &str,
        body: ByteStream,
    ) -> Result<Published, PublishError> {
        let what = format!("{}@{version}", module.path);
        if !is_canonical_version(version) {
            return Err(PublishError::Invalid(format!(
                "{what}: version must be canonical semver, like v1.2.3"
            )));
        }
        check(&module.path, version).map_err(|e| PublishError::Invalid(e.to_string()))?;
        let version =
            ModVersion::new(module, version).map_err(|e| PublishError::Invalid(e.to_string()))?;
        // Removed when dropped, whatever happens below.
        let spool = SpoolFile::new(&self.inner.settings.spool_dir, "upload");
        let size = spool_upload(spool.path(), &what, body).await?;
        self.commit_upload(&version, spool.path(), size).await
    }

    async fn commit_upload(
        &self,
        version: &ModVersion,
        spool: &Path,
        size: u64,
    ) -> Result<Published, PublishError> {
        let (path, target) = (spool.to_owned(), version.target());
        let (zip_hash, go_mod) = tokio::task::spawn_blocking(move || check_upload(&path, &target))
            .await
            .map_err(|e| ProxyError::spool("upload check", std::io::Error::other(e)))??;
        let go_mod_hash = hash_go_mod(&go_mod);
        let same_as_stored = |existing: String| {
            if existing == zip_hash {
                Ok(Published {
                    zip_hash: zip_hash.clone(),
                    go_mod_hash: go_mod_hash.clone(),
                    created: false,
                })
            } else {
                Err(PublishError::Conflict(format!(
                    "{version} already exists with different content ({existing}); versions are immutable"
                )))
            }
        };
        let store = &self.inner.store;
        let spool_dir = &self.inner.settings.spool_dir;
        if store.head(&version.zip_key()).await?.is_some() {
            return same_as_stored(stored_zip_hash(store.as_ref(), spool_dir, version).await?);
        }
        let mod_key = version.mod_key();
        if store
            .put(
                &mod_key,
                PutBody::Bytes(go_mod.clone()),
                PutMode::CreateOnly,
            )
            .await?
            == PutOutcome::AlreadyExists
            && self.stored_bytes(&mod_key).await.as_ref() != Some(&go_mod)
        {
            return Err(PublishError::Conflict(format!(
                "{version} already has a different go.mod; versions are immutable"
            )));
        }
        let info = modvault_upstream::RevInfo::new(&version.version, Some(&now_rfc3339()));
        store
            .put(
                &version.info_key(),
                PutBody::Bytes(info.raw),
                PutMode::CreateOnly,
            )
            .await?;
        if store
            .put(
                &version.zip_key(),
                PutBody::File(spool.to_owned()),
                PutMode::CreateOnly,
            )
            .await?
            == PutOutcome::AlreadyExists
        {
            // Someone else published this version a moment ago.
            return same_as_stored(stored_zip_hash(store.as_ref(), spool_dir, version).await?);
        }
        let hash_file = PutBody::Bytes(Bytes::from(format!("{zip_hash}\n")));
        store
            .put(&version.zip_hash_key(), hash_file, PutMode::CreateOnly)
            .await?;
        self.inner
            .integrity
            .record(version, &zip_hash, &go_mod)
            .await?;
        let entry = CatalogEntry {
            module: version.path().to_owned(),
            version: version.version.clone(),
            origin: Origin::Published,
            size,
            stored_at: SystemTime::now(),
            last_served: None,
        };
        self.inner
            .state
            .catalog
            .record(entry)
            .await
            .map_err(ProxyError::from)?;
        self.refresh_list(&version.module).await;
        tracing::info!(module = %version.path(), version = %version.version, %zip_hash, "published");
        Ok(Published {
            zip_hash,
            go_mod_hash,
            created: true,
        })
    }
}

/// Writes the upload to `path`, refusing it once it is over the module zip
/// size limit; returns its size.
async fn spool_upload(path: &Path, what: &str, mut body: ByteStream) -> Result<u64, PublishError> {
    let storage = |e: std::io::Error| ProxyError::spool(format!("{what}: spooling the upload"), e);
    let mut file = tokio::fs::File::create(path).await.map_err(storage)?;
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| PublishError::Invalid(format!("{what}: reading the upload: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_ZIP_FILE {
            return Err(PublishError::TooLarge(format!(
                "{what}: zip larger than {MAX_ZIP_FILE} bytes"
            )));
        }
        file.write_all(&chunk).await.map_err(storage)?;
    }
    file.sync_all().await.map_err(storage)?;
    Ok(size)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The zip's `h1:` and the go.mod it carries (or the one the go command
/// would synthesize), or why the upload is invalid.
fn check_upload(path: &Path, target: &ModuleVersion) -> Result<(String, Bytes), PublishError> {
    let invalid = |reason: String| {
        PublishError::Invalid(format!("{}@{}: {reason}", target.path, target.version))
    };
    let zip_hash = verify_zip_file(path, target).map_err(invalid)?;
    let file =
        std::fs::File::open(path).map_err(|e| ProxyError::spool("reopening the upload", e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| invalid(e.to_string()))?;
    let go_mod_name = format!("{}@{}/go.mod", target.path, target.version);
    let go_mod = match archive.by_name(&go_mod_name) {
        Ok(entry) => {
            let mut bytes = Vec::new();
            entry
                .take(MAX_GO_MOD + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| invalid(e.to_string()))?;
            let declared = module_path(&bytes)
                .ok_or_else(|| invalid("go.mod has no module directive".into()))?;
            if declared != target.path {
                return Err(invalid(format!("go.mod declares module {declared:?}")));
            }
            Bytes::from(bytes)
        }
        Err(_) => Bytes::from(format!("module {}\n", target.path)),
    };
    Ok((zip_hash, go_mod))
}
