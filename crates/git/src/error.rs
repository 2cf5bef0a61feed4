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
    /// What reaches HTTP clients: the message without the local file
    /// system paths git and modvault put in it (mirror and scratch
    /// directories, `file://` remotes), which are logged instead.
    fn from(e: RepoError) -> FetchError {
        let (message, not_found) = match e {
            RepoError::NotFound(m) => (m, true),
            RepoError::Failed(m) => (m, false),
        };
        let shown = scrub_local_paths(&message);
        if shown != message {
            tracing::warn!(error = %message, "git source error (local paths left out of the answer)");
        }
        if not_found {
            FetchError::NotFound(shown)
        } else {
            FetchError::Upstream(shown)
        }
    }
}

/// Replaces every absolute local path (`/…`, `file:///…`) in a message
/// with `<local path>`. A path starts a word (after a space, a quote, a
/// parenthesis or `=`) and runs to the next space or quote; URLs with a
/// host (`https://host/x`) are not touched.
pub(crate) fn scrub_local_paths(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let mut at_word_start = true;
    while let Some(c) = rest.chars().next() {
        let path_len = if at_word_start {
            let body = rest.strip_prefix("file://").unwrap_or(rest);
            if body.starts_with('/') && !body.starts_with("//") {
                let prefix = rest.len() - body.len();
                let end = body
                    .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ')' | '`'))
                    .unwrap_or(body.len());
                // Sentence punctuation after a path is not part of it.
                let trimmed = body[..end].trim_end_matches([':', ',', '.', ';']);
                Some(prefix + trimmed.len())
            } else {
                None
            }
        } else {
            None
        };
        match path_len {
            Some(len) if len > 1 => {
                out.push_str("<local path>");
                rest = &rest[len..];
                at_word_start = false;
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
                at_word_start = c.is_whitespace() || matches!(c, '\'' | '"' | '(' | '=' | '`');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_left_out_of_answers() {
        assert_eq!(
            scrub_local_paths(
                "fatal: '/srv/data/.modvault/git/x.git' does not appear to be a git repository"
            ),
            "fatal: '<local path>' does not appear to be a git repository"
        );
        assert_eq!(
            scrub_local_paths(
                "creating a directory in /srv/data/mirrors: Permission denied (os error 13)"
            ),
            "creating a directory in <local path>: Permission denied (os error 13)"
        );
        assert_eq!(
            scrub_local_paths("fatal: unable to access file:///tmp/r/x/: oops"),
            "fatal: unable to access <local path>: oops"
        );
        let untouched = "https://github.com/a/b: authentication failed (os error 2) v1.0/x a/b";
        assert_eq!(scrub_local_paths(untouched), untouched);
        assert_eq!(scrub_local_paths("a / b"), "a / b");
    }
}
