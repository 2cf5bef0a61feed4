//! modvault's one error model.
//!
//! Every library error in the workspace keeps its own type (with its causes
//! as `#[source]`) and says which [`ErrorKind`] it is through [`HasKind`].
//! The HTTP edge (`modvault-server`, `error.rs`) maps kinds to statuses,
//! headers and one-line bodies, in one place; nothing below it chooses a
//! status code.
//!
//! Which kind to use:
//!
//! | kind | when | status (module protocol) |
//! |---|---|---|
//! | `NotFound` | no such module, version, file or path; an invalid path or version in a read | 404 |
//! | `Invalid` | a request that can never succeed as sent: a bad upload, bad lookup syntax | 400 |
//! | `Conflict` | the write contradicts what is stored (versions are immutable) | 409 |
//! | `Unauthenticated` | a credential is needed, or the one given is wrong | 401 |
//! | `Forbidden` | the credential is not enough, or a rule denies the module | 403 |
//! | `Security` | data does not match a checksum database | 403, body `SECURITY ERROR …` |
//! | `Unavailable` | a source we depend on failed: upstream proxy, git, checksum database | 404 (so a client's `,` list falls through) |
//! | `Storage` | our own store or state failed | 503 |
//! | `TooLarge` | an upload or answer over a limit | 413 |

use std::fmt;
use std::sync::Arc;

/// What kind of failure an error is, as far as a client is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    Invalid,
    Conflict,
    Unauthenticated,
    Forbidden,
    Security,
    Unavailable,
    Storage,
    TooLarge,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Security => "security",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Storage => "storage",
            ErrorKind::TooLarge => "too large",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows its [`ErrorKind`].
pub trait HasKind: std::error::Error {
    fn kind(&self) -> ErrorKind;
}

/// A cause shared by everyone waiting on one fetch: single-flight results
/// are cloned to each waiter, so causes are reference-counted.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The message of `error` followed by each of its causes, `: `-separated,
/// for logs (a cause already quoted in its parent's message is skipped).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

/// A secret (a password, a key) that cannot leak through a log line or a
/// message: `Debug` and `Display` print `***`; `expose` is explicit.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Removes the userinfo part (`user:password@`) of every `scheme://…` URL
/// in `text`, as the go command does in its errors: upstream, git and
/// checksum-database URLs may carry credentials, and messages built from
/// them reach logs and clients.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // The authority ends at the first '/', whitespace or quote.
        let authority_len = after
            .find(|c: char| c == '/' || c == '\'' || c == '"' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_userinfo_everywhere() {
        assert_eq!(
            redact_urls("fatal: unable to access 'https://bob:s3cret@git.example.com/r.git/': 403"),
            "fatal: unable to access 'https://git.example.com/r.git/': 403"
        );
        assert_eq!(
            redact_urls("ssh://git@host:22/x and https://t@h"),
            "ssh://host:22/x and https://h"
        );
        assert_eq!(redact_urls("no urls here"), "no urls here");
        assert_eq!(redact_urls("file:///tmp/x"), "file:///tmp/x");
        assert_eq!(redact_urls("trailing ://"), "trailing ://");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("writing the spool file")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chains_name_every_cause_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(chain(&e), "writing the spool file: disk full");
        let io = std::io::Error::other("disk full");
        assert_eq!(chain(&io), "disk full");
    }
}
