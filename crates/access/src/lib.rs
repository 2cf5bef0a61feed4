//! Who may do what in modvault.
//!
//! * [`TokenStore`]: API tokens in a JSON file. A token is shown once, when
//!   it is created; the file keeps only its SHA-256. A running server sees
//!   tokens created or revoked by another process (the CLI) within about a
//!   second, without a restart.
//! * [`credential_from_header`]: the token in an `Authorization` header,
//!   `Bearer <token>` or `Basic base64(<any user>:<token>)`, so the go
//!   command's `GOAUTH=netrc` and a `~/.netrc` entry work unchanged.
//! * [`AccessPolicy::authorize`]: whether a caller (a token's [`Principal`]
//!   or anonymous) may read or publish a module.
//!
//! Secrets never reach `Debug` output or error messages: the token type
//! [`SecretToken`] prints as `SecretToken(mvt_…)`.

mod credential;
mod lock;
mod pattern;
mod policy;
mod store;
mod token;

pub use credential::credential_from_header;
pub use policy::{AccessPolicy, Decision, Denial};
pub use store::{authenticate_among, TokenInfo, TokenRecord, TokenStore, DEFAULT_REFRESH_INTERVAL};
pub use token::{SecretToken, TOKEN_PREFIX};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a token may do. Ordered: `Read < Publish < Admin`, and each scope
/// includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Download modules.
    Read,
    /// Also publish module versions.
    Publish,
    /// Also manage modvault (tokens, configuration).
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Publish => "publish",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"read"`, `"publish"` or `"admin"` was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope {0:?}: expected read, publish or admin")]
pub struct ParseScopeError(pub String);

impl FromStr for Scope {
    type Err = ParseScopeError;

    fn from_str(s: &str) -> Result<Scope, ParseScopeError> {
        match s {
            "read" => Ok(Scope::Read),
            "publish" => Ok(Scope::Publish),
            "admin" => Ok(Scope::Admin),
            _ => Err(ParseScopeError(s.to_owned())),
        }
    }
}

/// Who may read `/metrics` (setting `auth.metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Anyone.
    Public,
    /// Anyone on a loopback address (a local Prometheus agent); others
    /// need a token.
    Loopback,
    /// Only callers with a token.
    Token,
}

/// An authenticated caller: the token's name and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (unique in its store); safe to log.
    pub name: String,
    pub scope: Scope,
    /// GOPRIVATE-style patterns of the modules the token covers; empty
    /// means every module.
    pub matches: Vec<String>,
}

impl Principal {
    /// Whether the token's `matches` cover `module_path` (see
    /// [`AccessPolicy`] for the pattern semantics).
    pub fn covers(&self, module_path: &str) -> bool {
        self.matches.is_empty() || pattern::any_matches(&self.matches, module_path)
    }
}

/// Errors of the token store. None of them contains a token.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid token file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("a token named {0:?} already exists")]
    DuplicateName(String),
    #[error("invalid token name {0:?}: use 1 to 64 ASCII letters, digits, '.', '_', '-' or '@'")]
    InvalidName(String),
    #[error("invalid module pattern {pattern:?}: {reason}")]
    InvalidPattern { pattern: String, reason: String },
    #[error("cannot generate a token: {0}")]
    Random(getrandom::Error),
}

impl modvault_error::HasKind for AccessError {
    fn kind(&self) -> modvault_error::ErrorKind {
        use modvault_error::ErrorKind;
        match self {
            AccessError::Io { .. } | AccessError::Corrupt { .. } | AccessError::Random(_) => {
                ErrorKind::Storage
            }
            AccessError::DuplicateName(_) => ErrorKind::Conflict,
            AccessError::InvalidName(_) | AccessError::InvalidPattern { .. } => ErrorKind::Invalid,
        }
    }
}

#[cfg(test)]
mod tests;
