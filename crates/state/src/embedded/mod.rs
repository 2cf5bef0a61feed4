//! The single-process implementations, kept in the data directory: the
//! token file, the append-only checksum log, in-process fetch leases and a
//! SQLite catalog.

mod catalog;
mod leases;
pub mod log;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use modvault_access::{Principal, Scope, SecretToken, TokenInfo, TokenStore};
use modvault_error::ErrorKind;
use modvault_sumdb::tlog::{Hash, HashReader};

use crate::{ChecksumLog, SharedState, StateError, StateResult, Tokens};

pub use catalog::SqliteCatalog;
pub use leases::LocalLeases;
pub use log::{LogError, TransparentLog};

/// Where the embedded state lives, all under the data directory.
pub struct EmbeddedPaths {
    pub tokens_file: PathBuf,
    /// The own checksum log's directory, when modvault runs one.
    pub log_dir: Option<PathBuf>,
    pub catalog_file: PathBuf,
}

impl SharedState {
    /// Opens the embedded implementations.
    pub fn embedded(paths: &EmbeddedPaths) -> StateResult<SharedState> {
        let tokens = TokenStore::open(&paths.tokens_file)?;
        let log = match &paths.log_dir {
            Some(dir) => Some(Arc::new(FileLog::open(dir)?) as Arc<dyn ChecksumLog>),
            None => None,
        };
        Ok(SharedState {
            tokens: Arc::new(FileTokens(Arc::new(tokens))),
            log,
            leases: Arc::new(LocalLeases::default()),
            catalog: Arc::new(SqliteCatalog::open(&paths.catalog_file)?),
            failures: None,
        })
    }
}

/// Tokens in `tokens.json` ([`TokenStore`]: hashed, locked against other
/// writers, re-read within a second of a change by another process).
pub struct FileTokens(pub Arc<TokenStore>);

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StateResult<T> + Send + 'static,
) -> StateResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StateError::storage("state task failed", e))?
}

#[async_trait]
impl Tokens for FileTokens {
    async fn create(
        &self,
        name: &str,
        scope: Scope,
        matches: Vec<String>,
    ) -> StateResult<SecretToken> {
        let (store, name) = (self.0.clone(), name.to_owned());
        blocking(move || Ok(store.create(&name, scope, matches)?)).await
    }

    async fn list(&self) -> StateResult<Vec<TokenInfo>> {
        let store = self.0.clone();
        blocking(move || Ok(store.list()?)).await
    }

    async fn revoke(&self, name: &str) -> StateResult<bool> {
        let (store, name) = (self.0.clone(), name.to_owned());
        blocking(move || Ok(store.revoke(&name)?)).await
    }

    async fn authenticate(&self, token: &str) -> StateResult<Option<Principal>> {
        // In memory, with at most one stat a second: not worth a thread hop.
        Ok(self.0.authenticate(token))
    }
}

/// The checksum log in `<data_dir>/.modvault/sumdb/<name>/`.
pub struct FileLog {
    log: Arc<Mutex<TransparentLog>>,
}

impl FileLog {
    pub fn open(dir: &Path) -> StateResult<FileLog> {
        let log = TransparentLog::open(dir)
            .map_err(|e| StateError::storage("cannot open the checksum log", e))?;
        Ok(FileLog {
            log: Arc::new(Mutex::new(log)),
        })
    }

    async fn with_log<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut TransparentLog) -> Result<T, LogError> + Send + 'static,
    ) -> StateResult<T> {
        let log = self.log.clone();
        blocking(move || {
            let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut log).map_err(|e| StateError::storage("checksum log", e))
        })
        .await
    }
}

#[async_trait]
impl ChecksumLog for FileLog {
    async fn append(&self, path: &str, version: &str, text: &str) -> StateResult<i64> {
        let (path, version, text) = (path.to_owned(), version.to_owned(), text.to_owned());
        self.with_log(move |log| log.append(&path, &version, &text))
            .await
    }

    async fn find(&self, path: &str, version: &str) -> StateResult<Option<i64>> {
        let log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(log.lookup(path, version))
    }

    async fn size(&self) -> StateResult<i64> {
        Ok(self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .size())
    }

    async fn read_hashes(&self, indexes: &[i64]) -> StateResult<Vec<Hash>> {
        let indexes = indexes.to_vec();
        self.with_log(move |log| Ok(log.read_hashes(&indexes)?))
            .await
    }

    async fn read_records(&self, start: i64, count: i64) -> StateResult<Vec<Vec<u8>>> {
        if start < 0 || count < 0 {
            return Err(StateError::new(
                ErrorKind::Invalid,
                format!("no records {start}+{count}"),
            ));
        }
        self.with_log(move |log| (start..start + count).map(|id| log.record(id)).collect())
            .await
    }
}
