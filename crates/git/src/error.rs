//! The two ways a lookup fails, as the proxy needs to tell them apart: the
//! repository says there is no such thing (kind *not found*: remembered for
//! `not_found_ttl`), or we could not find out (kind *unavailable*: not
//! remembered as not-found). Both answer 404, so a client's `,` chain goes
//! on; see `modvault_error`.

use modvault_upstream::FetchError;

use crate::command::GitError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RepoError {
    /// Unknown revision, invalid version, missing go.mod, a repository that
    /// does not exist, a zip the go command could not build: what Go
    /// reports as "not exist" or as an invalid version.
    #[error("{0}")]
    NotFound(String),
    /// git or the network failed, or timed out; authentication failed.
    #[error("{0}")]
    Failed(String),
}

pub(crate) type RepoResult<T> = Result<T, RepoError>;

impl RepoError {
    pub(crate) fn not_found(message: impl Into<String>) -> RepoError {
        RepoError::NotFound(message.into())
    }

    #[cfg(test)]
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, RepoError::NotFound(_))
    }

    /// The same kind of error with context in front, as Go's `%s: %v`.
    pub(crate) fn context(self, prefix: impl std::fmt::Display) -> RepoError {
        match self {
            RepoError::NotFound(m) => RepoError::NotFound(format!("{prefix}: {m}")),
            RepoError::Failed(m) => RepoError::Failed(format!("{prefix}: {m}")),
        }
    }
}

impl From<GitError> for RepoError {
    /// A git failure on the local mirror is ours, not the module's.
    fn from(e: GitError) -> RepoError {
        RepoError::Failed(e.to_string())
    }
}

impl From<RepoError> for FetchError {
    fn from(e: RepoError) -> FetchError {
        match e {
            RepoError::NotFound(m) => FetchError::NotFound(m),
            RepoError::Failed(m) => FetchError::Upstream(m),
        }
    }
}
