//! Where everything lives: the one place that names a store key or a path
//! in the data directory.
//!
//! The store is a GOPROXY file tree (`<escaped module>/@v/<escaped
//! version>.<ext>`, `<escaped module>/@latest`), with relayed checksum
//! databases under `sumdb/` (a module path's first element contains a dot,
//! so `sumdb` can never be a module) and private state under `.modvault/`
//! (a leading dot is not allowed in a module path). The data directory
//! holds the filesystem store and, under `.modvault/`, what stays local to
//! one process whatever the store: spool files, git mirrors, embedded
//! shared state.
//!
//! Module paths and versions passed here are already escaped with the
//! module escaping rules (`!` for upper case).

use std::path::{Path, PathBuf};

pub fn list(escaped_path: &str) -> String {
    format!("{escaped_path}/@v/list")
}
pub fn latest(escaped_path: &str) -> String {
    format!("{escaped_path}/@latest")
}
pub fn info(escaped_path: &str, escaped_version: &str) -> String {
    format!("{escaped_path}/@v/{escaped_version}.info")
}
pub fn go_mod(escaped_path: &str, escaped_version: &str) -> String {
    format!("{escaped_path}/@v/{escaped_version}.mod")
}
pub fn zip(escaped_path: &str, escaped_version: &str) -> String {
    format!("{escaped_path}/@v/{escaped_version}.zip")
}
/// The zip's `h1:` hash, as the go command keeps it in its module cache.
pub fn zip_hash(escaped_path: &str, escaped_version: &str) -> String {
    format!("{escaped_path}/@v/{escaped_version}.ziphash")
}
/// The prefix of every version file of a module.
pub fn versions_prefix(escaped_path: &str) -> String {
    format!("{escaped_path}/@v/")
}

/// The first element of every private key: never a module path.
pub const PRIVATE: &str = ".modvault";
/// Probe object written by readiness checks.
pub const READY_PROBE: &str = ".modvault/readyz";
/// Where the filesystem store keeps files being written, inside its root
/// so that committing them is a same-filesystem rename.
pub const FS_TMP_DIR: &str = ".modvault/tmp";

/// A file of a relayed checksum database, exactly as the database served it.
pub fn relayed_sumdb(name: &str, rest: &str) -> String {
    format!("sumdb/{name}/{rest}")
}
/// A tile of an upstream checksum database that the verifier has authenticated.
pub fn verified_tile(name: &str, tile_path: &str) -> String {
    format!(".modvault/sumdb-verified/{name}/{tile_path}")
}
/// The latest signed tree note the verifier has accepted.
pub fn verified_latest(name: &str) -> String {
    format!(".modvault/sumdb-verified/{name}/latest")
}
/// A lookup answer the verifier has authenticated.
pub fn verified_lookup(name: &str, escaped_module_at_version: &str) -> String {
    format!(".modvault/sumdb-verified/{name}/lookup/{escaped_module_at_version}")
}

/// The local paths under a data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    fn private(&self, name: &str) -> PathBuf {
        self.root.join(PRIVATE).join(name)
    }
    /// Zips on their way into the store (fetched or uploaded).
    pub fn spool(&self) -> PathBuf {
        self.private("spool")
    }
    /// Bare git mirrors of the `direct` source.
    pub fn git_mirrors(&self) -> PathBuf {
        self.private("git/mirrors")
    }
    /// Temporary archives and zips of the `direct` source.
    pub fn git_scratch(&self) -> PathBuf {
        self.private("git/scratch")
    }
    /// Client tokens, hashed (embedded shared state).
    pub fn tokens(&self) -> PathBuf {
        self.private("tokens.json")
    }
    /// modvault's own checksum log named `name` (embedded shared state).
    pub fn sumdb_log(&self, name: &str) -> PathBuf {
        self.private("sumdb").join(name)
    }
    /// The catalog of stored versions (embedded shared state).
    pub fn catalog(&self) -> PathBuf {
        self.private("catalog.sqlite")
    }

    /// Takes the data directory for this process: one process per data
    /// directory, as the go command locks its module cache
    /// (`lockedfile`). Nothing in the directory may be touched before this
    /// (start-up clears spool and temporary files). The lock is released
    /// when the returned file is dropped or the process dies.
    pub fn lock(&self) -> std::io::Result<DataDirLock> {
        let dir = self.root.join(PRIVATE);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!(
                    "data_dir {} is in use by another modvault process (it holds {}); \
                     one process per data directory",
                    self.root.display(),
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// The data directory's lock, held for as long as this lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}
