//! Module sources behind one small trait, and the GOPROXY-list chain that
//! combines them.

mod chain;
mod file;
mod http;
mod observed;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Deserialize;

pub use chain::{parse_proxy_list, Chain, ChainEntry, EntrySource, ProxyListError};
pub use file::FileProxy;
pub use http::{HttpOptions, HttpProxy};
pub use observed::Observed;
pub use reqwest::Url;

/// Upper bound for `list`, `.info` and `@latest` answers: far above anything
/// real, small enough that a lying upstream cannot exhaust memory.
pub const MAX_METADATA_BYTES: usize = 4 << 20;

pub use modvault_store::ByteStream;

/// Why a fetch did not produce a result. Only [`FetchError::NotFound`] lets a
/// `,` chain go on, exactly as only 404/410 do for the go command.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("{0}")]
    NotFound(String),
    /// The source failed or answered something unusable.
    #[error("{0}")]
    Upstream(String),
}

impl modvault_error::HasKind for FetchError {
    fn kind(&self) -> modvault_error::ErrorKind {
        match self {
            FetchError::NotFound(_) => modvault_error::ErrorKind::NotFound,
            FetchError::Upstream(_) => modvault_error::ErrorKind::Unavailable,
        }
    }
}

impl FetchError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound(_))
    }
}

pub type FetchResult<T> = Result<T, FetchError>;

/// An `.info` or `@latest` answer: the raw JSON, kept byte for byte so that
/// fields such as `Origin` survive caching, plus the fields modvault reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevInfo {
    pub version: String,
    pub time: Option<String>,
    pub raw: Bytes,
}

impl RevInfo {
    /// Parses an info document as the go command does: JSON with a `Version`
    /// field; anything else is an invalid response.
    pub fn parse(raw: Bytes) -> Result<RevInfo, String> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(rename = "Version")]
            version: String,
            #[serde(rename = "Time", default)]
            time: Option<String>,
        }
        let fields: Fields =
            serde_json::from_slice(&raw).map_err(|e| format!("invalid info JSON: {e}"))?;
        Ok(RevInfo {
            version: fields.version,
            time: fields.time,
            raw,
        })
    }

    /// An info document made here rather than received.
    pub fn new(version: &str, time: Option<&str>) -> RevInfo {
        let mut doc = serde_json::Map::new();
        doc.insert("Version".into(), version.into());
        if let Some(time) = time {
            doc.insert("Time".into(), time.into());
        }
        let raw = Bytes::from(serde_json::Value::Object(doc).to_string());
        RevInfo {
            version: version.to_owned(),
            time: time.map(str::to_owned),
            raw,
        }
    }
}

/// A zip on its way from a source.
pub struct ZipBody {
    /// What the source announced, if anything; never trusted for limits.
    pub declared_len: Option<u64>,
    /// Built from version control by this process (the `direct` source),
    /// rather than downloaded from a module proxy.
    pub from_vcs: bool,
    pub stream: ByteStream,
}

/// A place modules come from. `module` is always a valid, unescaped module
/// path; `version` in `go_mod`/`zip` is always canonical for that module,
/// while `query` in `info` may be anything the source understands (a branch,
/// a commit prefix, a non-canonical version).
#[async_trait]
pub trait Fetcher: Send + Sync + 'static {
    /// The raw `list` text.
    async fn list(&self, module: &str) -> FetchResult<String>;
    async fn latest(&self, module: &str) -> FetchResult<RevInfo>;
    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo>;
    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes>;
    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody>;
    /// Forgets how fresh what the fetcher remembers about `module`'s
    /// versions is (a git mirror's refs), so that the next `list` or
    /// `latest` asks the origin. For an admin refresh or a webhook.
    async fn expire(&self, _module: &str) {}
}

/// Escapes a module path and version for use in a proxy URL, as the go
/// command does (`module.EscapePath`, then `url.PathEscape` with `/` kept, so
/// `!` travels as `%21`).
pub(crate) fn url_path_escape(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for b in escaped.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~$&+=:@/".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_escaping_matches_the_go_command() {
        assert_eq!(
            url_path_escape("github.com/!azure/x"),
            "github.com/%21azure/x"
        );
        assert_eq!(
            url_path_escape("v2.0.0+incompatible"),
            "v2.0.0+incompatible"
        );
        assert_eq!(url_path_escape("a b?c#"), "a%20b%3Fc%23");
    }

    #[test]
    fn info_parsing_keeps_the_raw_document() {
        let raw = Bytes::from_static(
            br#"{"Version":"v1.0.0","Time":"2020-01-02T03:04:05Z","Origin":{"VCS":"git"}}"#,
        );
        let info = RevInfo::parse(raw.clone()).unwrap();
        assert_eq!(info.version, "v1.0.0");
        assert_eq!(info.time.as_deref(), Some("2020-01-02T03:04:05Z"));
        assert_eq!(info.raw, raw);
        assert!(RevInfo::parse(Bytes::from_static(b"v1.0.0")).is_err());
        assert_eq!(
            RevInfo::new("v1.2.3", None).raw,
            Bytes::from_static(br#"{"Version":"v1.2.3"}"#)
        );
    }
}
