//! Publishing: a module zip uploaded by its authors becomes a stored
//! version like any fetched one, and is then immutable.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use modvault_core::dirhash::hash_go_mod;
use modvault_core::escape::escape_version;
use modvault_core::gomod::module_path;
use modvault_core::modzip::{MAX_GO_MOD, MAX_ZIP_FILE};
use modvault_core::path::{check, is_canonical_version};
use modvault_core::ModuleVersion;
use modvault_store::{layout, PutBody, PutMode, PutOutcome};
use modvault_upstream::ByteStream;

use crate::verify::verify_zip_file;
use crate::{Module, ModuleProxy, ProxyError};

/// A version as stored after a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub zip_hash: String,
    pub go_mod_hash: String,
    /// False when the same bytes were already published (an idempotent
    /// retry).
    pub created: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    /// A bad path, version or zip: 400.
    #[error("{0}")]
    Invalid(String),
    /// The version exists with other content: 409. Versions never change.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Storage(String),
}

impl From<modvault_store::StoreError> for PublishError {
    fn from(e: modvault_store::StoreError) -> Self {
        PublishError::Storage(e.to_string())
    }
}

impl From<ProxyError> for PublishError {
    fn from(e: ProxyError) -> Self {
        PublishError::Storage(e.to_string())
    }
}

impl ModuleProxy {
    /// Stores an uploaded zip as `module@version`: checked with the module
    /// zip rules, its go.mod (or a synthesized one) as `.mod`, the upload
    /// time as `.info`, and recorded in modvault's own checksum database.
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
        let target = ModuleVersion {
            path: module.path.clone(),
            version: version.to_owned(),
        };

        let spool = self.spool_upload(&what, body).await?;
        let result = self.commit_upload(module, &target, &spool).await;
        let _ = tokio::fs::remove_file(&spool).await;
        result
    }

    async fn commit_upload(
        &self,
        module: &Module,
        target: &ModuleVersion,
        spool: &Path,
    ) -> Result<Published, PublishError> {
        let what = format!("{}@{}", target.path, target.version);
        let (path, t) = (spool.to_owned(), target.clone());
        let (zip_hash, go_mod) = tokio::task::spawn_blocking(move || check_upload(&path, &t))
            .await
            .map_err(|e| PublishError::Storage(e.to_string()))??;
        let go_mod_hash = hash_go_mod(&go_mod);
        let escaped_version =
            escape_version(&target.version).map_err(|e| PublishError::Invalid(e.to_string()))?;
        let zip_key = layout::zip(&module.escaped, &escaped_version);
        let same_as_stored = |existing: String| {
            if existing == zip_hash {
                Ok(Published {
                    zip_hash: zip_hash.clone(),
                    go_mod_hash: go_mod_hash.clone(),
                    created: false,
                })
            } else {
                Err(PublishError::Conflict(format!(
                    "{what} already exists with different content ({existing}); versions are immutable"
                )))
            }
        };
        if self.inner.store.head(&zip_key).await?.is_some() {
            return same_as_stored(self.stored_zip_hash(module, target).await?);
        }

        let store = &self.inner.store;
        let mod_key = layout::go_mod(&module.escaped, &escaped_version);
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
                "{what} already has a different go.mod; versions are immutable"
            )));
        }
        let info = modvault_upstream::RevInfo::new(&target.version, Some(&now_rfc3339()));
        store
            .put(
                &layout::info(&module.escaped, &escaped_version),
                PutBody::Bytes(info.raw),
                PutMode::CreateOnly,
            )
            .await?;
        if store
            .put(
                &zip_key,
                PutBody::File(spool.to_owned()),
                PutMode::CreateOnly,
            )
            .await?
            == PutOutcome::AlreadyExists
        {
            // Someone else published this version a moment ago.
            return same_as_stored(self.stored_zip_hash(module, target).await?);
        }
        let hash_file = PutBody::Bytes(Bytes::from(format!("{zip_hash}\n")));
        store
            .put(
                &layout::zip_hash(&module.escaped, &escaped_version),
                hash_file,
                PutMode::CreateOnly,
            )
            .await?;
        self.record_version(module, target, &zip_hash).await?;
        self.refresh_list(module).await;
        tracing::info!(module = %target.path, version = %target.version, %zip_hash, "published");
        Ok(Published {
            zip_hash,
            go_mod_hash,
            created: true,
        })
    }

    async fn spool_upload(
        &self,
        what: &str,
        mut body: ByteStream,
    ) -> Result<PathBuf, PublishError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = self.inner.settings.spool_dir.join(format!(
            "upload-{}-{}.zip",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let storage =
            |e: std::io::Error| PublishError::Storage(format!("{what}: spooling the upload: {e}"));
        let mut file = tokio::fs::File::create(&path).await.map_err(storage)?;
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| PublishError::Invalid(format!("{what}: reading the upload: {e}")))?;
            size += chunk.len() as u64;
            if size > MAX_ZIP_FILE {
                let _ = tokio::fs::remove_file(&path).await;
                return Err(PublishError::Invalid(format!(
                    "{what}: zip larger than {MAX_ZIP_FILE} bytes"
                )));
            }
            file.write_all(&chunk).await.map_err(storage)?;
        }
        file.sync_all().await.map_err(storage)?;
        Ok(path)
    }
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
    let file = std::fs::File::open(path).map_err(|e| PublishError::Storage(e.to_string()))?;
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
