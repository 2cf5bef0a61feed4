//! Verifying fetched modules against a checksum database, as the go
//! command does (x/mod/sumdb/client.go `Lookup`, spec §6.3).

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Client;
use tokio::runtime::Handle;
use tokio::sync::Mutex;

use modvault_core::escape::{escape_path, escape_version};
use modvault_store::{read_to_bytes, PutBody, PutMode, Store};
use modvault_sumdb::lookup::{self, check_trees, module_lines, open_tree_note, verify_lookup};
use modvault_sumdb::note::Verifier;
use modvault_sumdb::tlog::{Error as TlogError, Tree};

use crate::tiles::HttpTiles;
use modvault_store::layout;

/// Which of a version's two hashes is being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Zip,
    GoMod,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The data does not match what the database signed, or the database
    /// misbehaved (a forked log, a bad signature, inconsistent tiles).
    #[error("SECURITY ERROR: {0}")]
    Security(String),
    /// The database could not be asked; verification fails closed.
    #[error("checksum database {name} unavailable: {reason}")]
    Unavailable { name: String, reason: String },
}

impl modvault_error::HasKind for VerifyError {
    fn kind(&self) -> modvault_error::ErrorKind {
        match self {
            VerifyError::Security(_) => modvault_error::ErrorKind::Security,
            VerifyError::Unavailable { .. } => modvault_error::ErrorKind::Unavailable,
        }
    }
}

/// Verifies module hashes against one database.
pub struct SumdbVerifier {
    name: String,
    url: String,
    verifier: Verifier,
    client: Client,
    store: Arc<dyn Store>,
    /// The latest tree accepted so far; merging a new one is serialized.
    latest: Mutex<Option<Tree>>,
}

impl SumdbVerifier {
    pub fn new(
        verifier_key: &str,
        url: &str,
        client: Client,
        store: Arc<dyn Store>,
    ) -> Result<SumdbVerifier, String> {
        let verifier = Verifier::new(verifier_key).map_err(|e| e.to_string())?;
        Ok(SumdbVerifier {
            name: verifier.name().to_owned(),
            url: url.trim_end_matches('/').to_owned(),
            verifier,
            client,
            store,
            latest: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reasons may quote the database's URL, which may carry credentials.
    fn unavailable(&self, reason: impl Into<String>) -> VerifyError {
        VerifyError::Unavailable {
            name: self.name.clone(),
            reason: modvault_error::redact_urls(&reason.into()),
        }
    }

    /// Checks one hash (`h1:…`) of `path@version` against the database.
    pub async fn verify(
        &self,
        path: &str,
        version: &str,
        kind: HashKind,
        hash: &str,
    ) -> Result<(), VerifyError> {
        let text = self.authenticated_record(path, version).await?;
        let lines = module_lines(&text, path, version);
        let (line, what) = match kind {
            HashKind::Zip => (lines.zip, format!("{path} {version}")),
            HashKind::GoMod => (lines.go_mod, format!("{path} {version}/go.mod")),
        };
        match line {
            Some(line) if line.split_whitespace().nth(2) == Some(hash) => Ok(()),
            Some(line) => Err(VerifyError::Security(format!(
                "{what}: checksum mismatch: downloaded {hash}, {} says {}",
                self.name,
                line.split_whitespace().nth(2).unwrap_or("nothing")
            ))),
            None => Err(VerifyError::Security(format!(
                "{what}: {} has no record of it",
                self.name
            ))),
        }
    }

    /// The record text for `path@version`, proven to be in a signed tree
    /// that is consistent with every tree seen before.
    async fn authenticated_record(&self, path: &str, version: &str) -> Result<String, VerifyError> {
        let escaped = format!(
            "{}@{}",
            escape_path(path).map_err(|e| self.unavailable(e.to_string()))?,
            escape_version(version).map_err(|e| self.unavailable(e.to_string()))?
        );
        let cache_key = layout::verified_lookup(&self.name, &escaped);
        if let Ok(Some((_, cached))) = read_to_bytes(self.store.as_ref(), &cache_key).await {
            if let Ok(response) = lookup::parse_lookup_response(&cached) {
                return Ok(response.text.to_owned());
            }
        }
        let url = format!("{}/lookup/{escaped}", self.url);
        // Messages reach clients: the database's name says which one; its
        // address (internal, perhaps with credentials) stays in our config.
        let shown = format!("lookup/{escaped}");
        let response = self.client.get(&url).send().await.map_err(|e| {
            self.unavailable(format!(
                "{shown}: {}",
                modvault_error::chain(&e.without_url())
            ))
        })?;
        let status = response.status();
        let body = crate::relay::read_limited(response)
            .await
            .map_err(|e| self.unavailable(format!("{shown}: {e}")))?;
        if !status.is_success() {
            let detail = String::from_utf8_lossy(&body)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            return Err(self.unavailable(format!("{shown}: {status} {detail}")));
        }

        let tiles = self.tiles();
        let verifier = self.verifier.clone();
        let name = self.name.clone();
        let checked_body = body.clone();
        let (text, tree) = tokio::task::spawn_blocking(move || {
            let verified = verify_lookup(&checked_body, &[verifier], &tiles)
                .map_err(|e| classify(&name, e))?;
            Ok::<_, VerifyError>((verified.text.to_owned(), verified.tree))
        })
        .await
        .map_err(|e| self.unavailable(e.to_string()))??;
        self.merge_latest(tree, &body).await?;
        let _ = self
            .store
            .put(&cache_key, PutBody::Bytes(body), PutMode::Overwrite)
            .await;
        Ok(text)
    }

    fn tiles(&self) -> HttpTiles {
        HttpTiles {
            handle: Handle::current(),
            client: self.client.clone(),
            store: self.store.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
        }
    }

    /// Go's `mergeLatest`: a new tree must extend (or equal) the latest one
    /// seen, which is persisted so that a restart cannot be used to present
    /// a forked log.
    async fn merge_latest(&self, tree: Tree, lookup_body: &Bytes) -> Result<(), VerifyError> {
        let mut latest = self.latest.lock().await;
        if latest.is_none() {
            *latest = self.load_latest().await;
        }
        let known = *latest;
        let Some(known) = known else {
            return self.adopt(&mut latest, tree, lookup_body).await;
        };
        let tiles = self.tiles();
        let name = self.name.clone();
        let (older, newer) = if tree.n <= known.n {
            (tree, known)
        } else {
            (known, tree)
        };
        tokio::task::spawn_blocking(move || {
            check_trees(&older, &newer, &tiles).map_err(|e| classify(&name, e))
        })
        .await
        .map_err(|e| self.unavailable(e.to_string()))??;
        if tree.n > known.n {
            self.adopt(&mut latest, tree, lookup_body).await?;
        }
        Ok(())
    }

    async fn adopt(
        &self,
        latest: &mut Option<Tree>,
        tree: Tree,
        lookup_body: &Bytes,
    ) -> Result<(), VerifyError> {
        let note = lookup::parse_lookup_response(lookup_body)
            .map(|r| Bytes::copy_from_slice(r.note))
            .unwrap_or_default();
        self.store
            .put(
                &layout::verified_latest(&self.name),
                PutBody::Bytes(note),
                PutMode::Overwrite,
            )
            .await
            .map_err(|e| self.unavailable(format!("cannot persist the latest tree: {e}")))?;
        *latest = Some(tree);
        Ok(())
    }

    async fn load_latest(&self) -> Option<Tree> {
        let (_, note) = read_to_bytes(self.store.as_ref(), &layout::verified_latest(&self.name))
            .await
            .ok()??;
        open_tree_note(&note, std::slice::from_ref(&self.verifier))
            .ok()
            .map(|(_, tree)| tree)
    }
}

/// Network trouble reading tiles is unavailability; anything wrong with
/// what the database sent is a security error.
fn classify(name: &str, error: lookup::Error) -> VerifyError {
    match error {
        lookup::Error::Tlog(TlogError::Storage(e))
        | lookup::Error::CheckingTree {
            source: TlogError::Storage(e),
            ..
        } => VerifyError::Unavailable {
            name: name.to_owned(),
            reason: e.to_string(),
        },
        other => VerifyError::Security(format!("{name}: {other}")),
    }
}
