//! Who may read or publish which module.

use std::fmt;

use crate::{pattern, AccessError, Principal, Scope};

/// The authorization rules that are not part of a token.
///
/// Patterns here and in a token's `matches` are GOPRIVATE-style globs with
/// the go command's `module.MatchPrefixPatterns` semantics
/// (`modvault_core::pattern`): a glob with `k` slashes is matched, with
/// `path.Match`, against the first `k + 1` elements of the module path.
/// Hence `*` (no slash) is matched against the first element alone and
/// covers *every* module path, `*/*` every path of two or more elements,
/// `corp.example` covers `corp.example/x/y` but not `corp.example.org`,
/// and `*.corp.example` covers `git.corp.example/x`. Matching is
/// case-sensitive. An entry may itself be a comma-separated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Modules anyone may read without a token. Default `["*"]`: every
    /// module is public, and only publishing needs a token.
    pub anonymous_read: Vec<String>,
}

impl Default for AccessPolicy {
    fn default() -> AccessPolicy {
        AccessPolicy {
            anonymous_read: vec!["*".to_owned()],
        }
    }
}

/// The outcome of [`AccessPolicy::authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No (valid) credential, and one is needed: answer 401.
    Unauthenticated,
    /// The credential is valid but not enough: answer 403.
    Forbidden(Denial),
}

/// Why an authenticated caller is refused. The message names the token but
/// never contains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The token's scope is below what the request needs.
    ScopeTooLow {
        token: String,
        has: Scope,
        needs: Scope,
    },
    /// The token's `matches` do not cover the module.
    ModuleNotCovered { token: String, module: String },
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::ScopeTooLow { token, has, needs } => {
                write!(f, "token {token:?} has scope {has}; this needs {needs}")
            }
            Denial::ModuleNotCovered { token, module } => {
                write!(f, "token {token:?} does not cover module {module}")
            }
        }
    }
}

impl AccessPolicy {
    /// A policy with validated patterns (each entry may be a comma-separated
    /// list; empty, malformed or space-padded globs are errors).
    pub fn new(anonymous_read: Vec<String>) -> Result<AccessPolicy, AccessError> {
        Ok(AccessPolicy {
            anonymous_read: pattern::normalize(anonymous_read)?,
        })
    }

    /// Whether anyone may read `module_path` without a token.
    pub fn anonymous_may_read(&self, module_path: &str) -> bool {
        pattern::any_matches(&self.anonymous_read, module_path)
    }

    /// Whether `principal` (`None`: anonymous) may do what needs `need` to
    /// `module_path`.
    ///
    /// * Reading a module in `anonymous_read` is allowed for everyone, with
    ///   or without a token: a token never makes a caller worse off.
    /// * Otherwise a token is needed ([`Decision::Unauthenticated`] without
    ///   one), and it must have `scope >= need` and cover the module
    ///   ([`Decision::Forbidden`] if not; scope is checked first).
    pub fn authorize(
        &self,
        principal: Option<&Principal>,
        module_path: &str,
        need: Scope,
    ) -> Decision {
        if need == Scope::Read && self.anonymous_may_read(module_path) {
            return Decision::Allow;
        }
        let Some(principal) = principal else {
            return Decision::Unauthenticated;
        };
        if principal.scope < need {
            return Decision::Forbidden(Denial::ScopeTooLow {
                token: principal.name.clone(),
                has: principal.scope,
                needs: need,
            });
        }
        if !principal.covers(module_path) {
            return Decision::Forbidden(Denial::ModuleNotCovered {
                token: principal.name.clone(),
                module: module_path.to_owned(),
            });
        }
        Decision::Allow
    }
}
