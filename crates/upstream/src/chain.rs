//! GOPROXY-list syntax and semantics (cmd/go/internal/modfetch/proxy.go,
//! `proxyList` and `TryProxies`).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Url;

use crate::{
    FetchError, FetchResult, Fetcher, FileProxy, HttpOptions, HttpProxy, Observed, RevInfo, ZipBody,
};

/// One parsed entry of a GOPROXY-style list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntrySource {
    Url(Url),
    File(PathBuf),
    Direct,
    Off,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    pub source: EntrySource,
    /// True when the entry is followed by `|`: any error moves on, not only
    /// not-found.
    pub fall_back_on_error: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid proxy list entry {entry:?}: {reason}")]
pub struct ProxyListError {
    pub entry: String,
    pub reason: String,
}

/// Parses a list with the go command's rules: `,` and `|` separators, `off`
/// and `direct` end the list, and an entry without a scheme that looks like a
/// host gets `https://`.
pub fn parse_proxy_list(list: &str) -> Result<Vec<ChainEntry>, ProxyListError> {
    let mut entries = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (raw, fall_back_on_error) = match rest.find([',', '|']) {
            Some(i) => {
                let sep = rest.as_bytes()[i];
                let raw = &rest[..i];
                rest = &rest[i + 1..];
                (raw, sep == b'|')
            }
            None => (std::mem::take(&mut rest), false),
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let source = match raw {
            "off" => EntrySource::Off,
            "direct" => EntrySource::Direct,
            _ => parse_url_entry(raw)?,
        };
        let ends_list = matches!(source, EntrySource::Off | EntrySource::Direct);
        entries.push(ChainEntry {
            source,
            fall_back_on_error,
        });
        if ends_list {
            break;
        }
    }
    Ok(entries)
}

fn parse_url_entry(raw: &str) -> Result<EntrySource, ProxyListError> {
    let err = |reason: &str| ProxyListError {
        entry: raw.to_owned(),
        reason: reason.to_owned(),
    };
    // Single words are reserved for keywords; anything with ":/" or an
    // absolute path must be a full URL.
    let with_scheme =
        if raw.contains(['.', ':', '/']) && !raw.contains(":/") && !raw.starts_with('/') {
            format!("https://{raw}")
        } else {
            raw.to_owned()
        };
    let url = Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(err("missing host"));
            }
            Ok(EntrySource::Url(url))
        }
        "file" => {
            let only_path = url.host_str().is_none_or(str::is_empty)
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none();
            if !only_path {
                return Err(err("file:// proxy URLs may hold only a path"));
            }
            let path = url.to_file_path().map_err(|()| err("not a local path"))?;
            Ok(EntrySource::File(path))
        }
        other => Err(err(&format!(
            "unsupported scheme {other:?} (want https, http or file)"
        ))),
    }
}

/// A GOPROXY list of sources, tried in order.
pub struct Chain {
    links: Vec<(Arc<dyn Fetcher>, bool, String)>,
}

impl Chain {
    /// Builds the chain for parsed entries; `direct` is served by `direct`.
    pub fn new(
        entries: &[ChainEntry],
        http: &HttpOptions,
        direct: Arc<dyn Fetcher>,
    ) -> Result<Chain, ProxyListError> {
        let mut links = Vec::new();
        for entry in entries {
            let (fetcher, label): (Arc<dyn Fetcher>, String) = match &entry.source {
                EntrySource::Url(url) => (
                    Arc::new(HttpProxy::new(url.clone(), http).map_err(|reason| {
                        ProxyListError {
                            entry: url.to_string(),
                            reason,
                        }
                    })?),
                    crate::http::redacted(url),
                ),
                EntrySource::File(path) => (
                    Observed::wrap(Arc::new(FileProxy::new(path.clone())), "file"),
                    format!("file://{}", path.display()),
                ),
                EntrySource::Direct => (direct.clone(), "direct".to_owned()),
                EntrySource::Off => (Arc::new(Off), "off".to_owned()),
            };
            links.push((fetcher, entry.fall_back_on_error, label));
        }
        Ok(Chain { links })
    }

    /// A chain over already-built fetchers, for tests and embedding.
    pub fn from_fetchers(links: Vec<(Arc<dyn Fetcher>, bool)>) -> Chain {
        Chain {
            links: links
                .into_iter()
                .enumerate()
                .map(|(i, (f, fb))| (f, fb, format!("#{i}")))
                .collect(),
        }
    }

    /// `TryProxies`: the first success wins; a not-found always moves on, any
    /// other error only after `|`. The error reported is the most relevant
    /// one: a non-not-found error before a not-found one.
    async fn try_each<T, F, Fut>(&self, mut attempt: F) -> FetchResult<T>
    where
        F: FnMut(Arc<dyn Fetcher>) -> Fut,
        Fut: Future<Output = FetchResult<T>>,
    {
        let mut upstream_error: Option<FetchError> = None;
        let mut not_found: Option<FetchError> = None;
        for (fetcher, fall_back_on_error, label) in &self.links {
            match attempt(fetcher.clone()).await {
                Ok(value) => return Ok(value),
                Err(FetchError::NotFound(reason)) => {
                    tracing::debug!(source = %label, %reason, "not found upstream");
                    not_found.get_or_insert(FetchError::NotFound(reason));
                }
                Err(FetchError::Upstream(reason)) => {
                    tracing::warn!(source = %label, %reason, "upstream error");
                    upstream_error.get_or_insert(FetchError::Upstream(reason));
                    if !fall_back_on_error {
                        break;
                    }
                }
            }
        }
        Err(upstream_error.or(not_found).unwrap_or_else(|| {
            FetchError::NotFound("no upstream configured (the proxy list is empty)".into())
        }))
    }
}

#[async_trait]
impl Fetcher for Chain {
    async fn list(&self, module: &str) -> FetchResult<String> {
        self.try_each(|f| async move { f.list(module).await }).await
    }
    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        self.try_each(|f| async move { f.latest(module).await })
            .await
    }
    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        self.try_each(|f| async move { f.info(module, query).await })
            .await
    }
    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        self.try_each(|f| async move { f.go_mod(module, version).await })
            .await
    }
    async fn expire(&self, module: &str) {
        for (fetcher, _, _) in &self.links {
            fetcher.expire(module).await;
        }
    }
    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        self.try_each(|f| async move { f.zip(module, version).await })
            .await
    }
}

/// `off`: every lookup is refused, which counts as not-found.
struct Off;

fn lookup_disabled(module: &str) -> FetchError {
    FetchError::NotFound(format!("{module}: module lookup disabled by upstream=off"))
}

#[async_trait]
impl Fetcher for Off {
    async fn list(&self, module: &str) -> FetchResult<String> {
        Err(lookup_disabled(module))
    }
    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        Err(lookup_disabled(module))
    }
    async fn info(&self, module: &str, _query: &str) -> FetchResult<RevInfo> {
        Err(lookup_disabled(module))
    }
    async fn go_mod(&self, module: &str, _version: &str) -> FetchResult<Bytes> {
        Err(lookup_disabled(module))
    }
    async fn zip(&self, module: &str, _version: &str) -> FetchResult<ZipBody> {
        Err(lookup_disabled(module))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(list: &str) -> Vec<(EntrySource, bool)> {
        parse_proxy_list(list)
            .unwrap()
            .into_iter()
            .map(|e| (e.source, e.fall_back_on_error))
            .collect()
    }

    fn url(s: &str) -> EntrySource {
        EntrySource::Url(Url::parse(s).unwrap())
    }

    #[test]
    fn parses_the_default_list() {
        assert_eq!(
            sources("https://proxy.golang.org,direct"),
            vec![
                (url("https://proxy.golang.org"), false),
                (EntrySource::Direct, false)
            ]
        );
    }

    #[test]
    fn separators_keywords_and_implicit_https() {
        assert_eq!(
            sources(" proxy.example.com | http://127.0.0.1:9/base , file:///srv/goproxy,off,https://never"),
            vec![
                (url("https://proxy.example.com"), true),
                (url("http://127.0.0.1:9/base"), false),
                (EntrySource::File(PathBuf::from("/srv/goproxy")), false),
                (EntrySource::Off, false),
            ]
        );
        assert_eq!(
            sources("direct|https://after.example"),
            vec![(EntrySource::Direct, true)]
        );
        assert_eq!(sources(",,"), vec![]);
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in [
            "ftp://x.example",
            "file://host/path",
            "noscheme",
            "https://",
        ] {
            assert!(parse_proxy_list(bad).is_err(), "{bad} accepted");
        }
    }

    struct Fixed(FetchResult<String>);

    #[async_trait]
    impl Fetcher for Fixed {
        async fn list(&self, _: &str) -> FetchResult<String> {
            self.0.clone()
        }
        async fn latest(&self, _: &str) -> FetchResult<RevInfo> {
            unimplemented!()
        }
        async fn info(&self, _: &str, _: &str) -> FetchResult<RevInfo> {
            unimplemented!()
        }
        async fn go_mod(&self, _: &str, _: &str) -> FetchResult<Bytes> {
            unimplemented!()
        }
        async fn zip(&self, _: &str, _: &str) -> FetchResult<ZipBody> {
            unimplemented!()
        }
    }

    fn chain(links: Vec<(FetchResult<String>, bool)>) -> Chain {
        Chain::from_fetchers(
            links
                .into_iter()
                .map(|(r, fb)| (Arc::new(Fixed(r)) as Arc<dyn Fetcher>, fb))
                .collect(),
        )
    }

    #[tokio::test]
    async fn comma_falls_through_only_on_not_found() {
        let down = || Err(FetchError::Upstream("connection refused".into()));
        let good = || Ok("v1.0.0\n".to_owned());
        assert_eq!(
            chain(vec![(down(), false), (good(), false)])
                .list("m.example/x")
                .await,
            down()
        );
        assert_eq!(
            chain(vec![(down(), true), (good(), false)])
                .list("m.example/x")
                .await,
            good()
        );
        let missing = Err(FetchError::NotFound("gone".into()));
        assert_eq!(
            chain(vec![(missing.clone(), false), (good(), false)])
                .list("m.example/x")
                .await,
            good()
        );
        // After `|`, an upstream error outranks a later not-found.
        assert_eq!(
            chain(vec![(down(), true), (missing.clone(), false)])
                .list("m.example/x")
                .await,
            down()
        );
        assert_eq!(
            chain(vec![(missing.clone(), false)])
                .list("m.example/x")
                .await,
            missing
        );
    }
}
