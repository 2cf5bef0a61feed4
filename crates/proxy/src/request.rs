//! A protocol request as the edge decided it, and the answer to it.

use std::time::Duration;

use bytes::Bytes;

use modvault_core::escape::{escape_path, escape_version};
use modvault_core::path::{check, check_path, is_canonical_version};
use modvault_core::ModuleVersion;
use modvault_rules::Route;
use modvault_store::{layout, ByteStream, ObjectMeta};

use crate::{ProxyError, ProxyResult};

/// A module path, validated, with its escaped form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub escaped: String,
}

impl Module {
    /// Validates an unescaped module path.
    pub fn new(path: &str) -> ProxyResult<Module> {
        check_path(path).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let escaped = escape_path(path).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        Ok(Module {
            path: path.to_owned(),
            escaped,
        })
    }
}

/// A canonical version of a module, with its escaped form and store keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModVersion {
    pub module: Module,
    pub version: String,
    escaped_version: String,
}

impl ModVersion {
    /// Validates `version`: canonical, and allowed for the module's path
    /// (the major-version suffix rules).
    pub fn new(module: &Module, version: &str) -> ProxyResult<ModVersion> {
        if !is_canonical_version(version) {
            return Err(ProxyError::NotFound(format!(
                "{}@{version}: version is not canonical",
                module.path
            )));
        }
        check(&module.path, version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let escaped_version =
            escape_version(version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        Ok(ModVersion {
            module: module.clone(),
            version: version.to_owned(),
            escaped_version,
        })
    }

    pub fn path(&self) -> &str {
        &self.module.path
    }

    pub fn info_key(&self) -> String {
        layout::info(&self.module.escaped, &self.escaped_version)
    }
    pub fn mod_key(&self) -> String {
        layout::go_mod(&self.module.escaped, &self.escaped_version)
    }
    pub fn zip_key(&self) -> String {
        layout::zip(&self.module.escaped, &self.escaped_version)
    }
    /// The zip's `h1:`, kept beside it.
    pub fn zip_hash_key(&self) -> String {
        layout::zip_hash(&self.module.escaped, &self.escaped_version)
    }

    /// The pair the pure zip rules take.
    pub fn target(&self) -> ModuleVersion {
        ModuleVersion::new(&self.module.path, &self.version)
    }
}

impl std::fmt::Display for ModVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.module.path, self.version)
    }
}

/// Which file of the protocol a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRequest {
    List,
    Latest,
    /// `.info` for a version or any query string the origin understands.
    Info(String),
    GoMod(String),
    Zip(String),
}

/// Whether a miss may go upstream (`Disable-Module-Fetch`, `/cached-only/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchPolicy {
    FetchOnMiss,
    CachedOnly,
    /// `list`, `@latest` and queries are fetched again even while fresh
    /// (an admin refresh, a webhook); other files as `FetchOnMiss`.
    Refresh,
}

/// One protocol request: what is asked, and the route the rules decided for
/// the module (at the edge, once).
#[derive(Clone, Debug)]
pub struct Request {
    pub module: Module,
    pub route: Route,
    pub file: FileRequest,
    pub policy: FetchPolicy,
}

/// How long a client may reuse an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Never changes (`.mod`, `.zip`, `.info` of a canonical version).
    Immutable,
    /// May change; fresh for this long.
    For(Duration),
}

pub enum Body {
    /// In the store: the caller reads it, with ranges if it likes.
    Stored { key: String, meta: ObjectMeta },
    /// Fetched but not stored (for instance the disk is full): still served.
    Bytes(Bytes),
    /// A zip still arriving from upstream; ends in an error if it fails
    /// verification, so no client mistakes a bad zip for a good one.
    Streaming(ByteStream),
}

pub struct Answer {
    pub body: Body,
    pub freshness: Freshness,
}
