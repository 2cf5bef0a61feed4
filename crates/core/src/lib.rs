//! Pure Go-module rules for modvault: module paths and their escaping,
//! semantic versions, pseudo-versions, go.mod parsing, module zip rules,
//! `h1:` hashes and GOPRIVATE-style patterns.
//!
//! Everything here is a faithful port of the Go 1.27.3 toolchain's
//! `golang.org/x/mod` (and the bits of `go/version`, `path` and `strconv`
//! it relies on), operating on strings and bytes only: no I/O, no clock,
//! no panics on any input.

pub mod dirhash;
pub mod escape;
pub mod gomod;
pub mod modzip;
pub mod path;
pub mod pattern;
pub mod pseudo;
pub mod semver;

mod fold;
mod gopath;
mod gounicode;
mod gover;
mod quote;

use std::fmt;

/// A module path and version pair (Go's `module.Version`), both unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleVersion {
    pub path: String,
    pub version: String,
}

impl ModuleVersion {
    pub fn new(path: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            version: version.into(),
        }
    }
}

impl fmt::Display for ModuleVersion {
    /// `path@version`, or just `path` when the version is empty (as Go).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version.is_empty() {
            f.write_str(&self.path)
        } else {
            write!(f, "{}@{}", self.path, self.version)
        }
    }
}
