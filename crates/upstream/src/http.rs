//! Another GOPROXY server over HTTP(S).

use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use reqwest::{Client, Response, StatusCode, Url};

use modvault_core::escape::{escape_path, escape_version};
use modvault_core::modzip::MAX_GO_MOD;

use crate::{
    url_path_escape, FetchError, FetchResult, Fetcher, RevInfo, ZipBody, MAX_METADATA_BYTES,
};

/// Timeouts and retries for every request to an upstream proxy.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// Whole-request limit for `list`, `.info`, `.mod` and `@latest`.
    pub request_timeout: Duration,
    /// Longest silence while reading any body, zips included; zips have no
    /// whole-request limit because their size is legitimately large.
    pub idle_timeout: Duration,
    /// Extra attempts after a connection error, 429 or 5xx.
    pub retries: u32,
    pub user_agent: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            retries: 2,
            user_agent: concat!("modvault/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl HttpOptions {
    /// One client per process: it owns the connection pool, and it reads
    /// HTTP(S)_PROXY/NO_PROXY from the environment.
    pub fn client(&self) -> Result<Client, String> {
        Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.idle_timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))
    }
}

pub struct HttpProxy {
    base: Url,
    client: Client,
    options: HttpOptions,
}

impl HttpProxy {
    pub fn new(base: Url, options: &HttpOptions) -> Result<HttpProxy, String> {
        Ok(HttpProxy::with_client(base, options, options.client()?))
    }

    pub fn with_client(mut base: Url, options: &HttpOptions, client: Client) -> HttpProxy {
        // The go command drops a trailing slash and joins with "/".
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        HttpProxy {
            base,
            client,
            options: options.clone(),
        }
    }

    fn url(&self, module: &str, tail: &str) -> FetchResult<Url> {
        let escaped = escape_path(module).map_err(|e| FetchError::NotFound(e.to_string()))?;
        let joined = format!(
            "{}/{}/{}",
            self.base.as_str().trim_end_matches('/'),
            url_path_escape(&escaped),
            tail
        );
        Url::parse(&joined)
            .map_err(|e| FetchError::Upstream(format!("cannot build upstream URL: {e}")))
    }

    /// What messages call a request: the file below the base URL. Messages
    /// reach clients, and the proxy's address (internal, perhaps with
    /// credentials) is not theirs to know; the chain logs it with the error.
    fn shown(&self, url: &Url) -> String {
        url.path()
            .strip_prefix(self.base.path())
            .unwrap_or(url.path())
            .trim_start_matches('/')
            .to_owned()
    }

    fn version_file(&self, module: &str, version: &str, ext: &str) -> FetchResult<Url> {
        let escaped = escape_version(version).map_err(|e| FetchError::NotFound(e.to_string()))?;
        self.url(module, &format!("@v/{}.{ext}", url_path_escape(&escaped)))
    }

    /// Sends a GET, retrying connection errors, 429 and 5xx a bounded number
    /// of times, and turns any status but 200 into a [`FetchError`].
    /// Timed, counted and traced under the source kind `proxy` (a bounded
    /// label); the span names the path below the base URL, which carries no
    /// credentials.
    async fn get(&self, url: Url, total_timeout: Option<Duration>) -> FetchResult<Response> {
        let span = tracing::info_span!("upstream", source = "proxy", path = %self.shown(&url));
        crate::observed::observe("proxy", span, self.get_retrying(url, total_timeout)).await
    }

    async fn get_retrying(
        &self,
        url: Url,
        total_timeout: Option<Duration>,
    ) -> FetchResult<Response> {
        let shown = self.shown(&url);
        let mut attempt = 0;
        loop {
            let mut request = self.client.get(url.clone());
            if let Some(timeout) = total_timeout {
                request = request.timeout(timeout);
            }
            let retryable = match request.send().await {
                Ok(response) if response.status() == StatusCode::OK => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        error_for_status(&shown, response).await
                    } else {
                        return Err(error_for_status(&shown, response).await);
                    }
                }
                Err(e) if e.is_connect() => FetchError::Upstream(format!(
                    "{shown}: {}",
                    modvault_error::chain(&e.without_url())
                )),
                Err(e) => {
                    return Err(FetchError::Upstream(format!(
                        "{shown}: {}",
                        modvault_error::chain(&e.without_url())
                    )))
                }
            };
            if attempt >= self.options.retries {
                return Err(retryable);
            }
            attempt += 1;
            let backoff = Duration::from_millis(200 * (1 << attempt.min(4)));
            tracing::debug!(url = %shown, attempt, error = %retryable, "retrying upstream request");
            tokio::time::sleep(backoff).await;
        }
    }

    async fn get_small(&self, url: Url, limit: usize) -> FetchResult<Bytes> {
        let shown = self.shown(&url);
        let response = self.get(url, Some(self.options.request_timeout)).await?;
        read_limited(response, limit)
            .await
            .map_err(|e| FetchError::Upstream(format!("{shown}: {e}")))
    }

    async fn get_info(&self, url: Url) -> FetchResult<RevInfo> {
        let shown = self.shown(&url);
        let body = self.get_small(url, MAX_METADATA_BYTES).await?;
        RevInfo::parse(body)
            .map_err(|e| FetchError::Upstream(format!("{shown}: invalid response from proxy: {e}")))
    }
}

#[async_trait]
impl Fetcher for HttpProxy {
    async fn list(&self, module: &str) -> FetchResult<String> {
        let url = self.url(module, "@v/list")?;
        let body = self.get_small(url, MAX_METADATA_BYTES).await?;
        String::from_utf8(body.to_vec())
            .map_err(|_| FetchError::Upstream(format!("{module}/@v/list: not UTF-8")))
    }

    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        let url = self.url(module, "@latest")?;
        self.get_info(url).await
    }

    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        let url = self.version_file(module, query, "info")?;
        self.get_info(url).await
    }

    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        let url = self.version_file(module, version, "mod")?;
        self.get_small(url, MAX_GO_MOD as usize).await
    }

    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        let url = self.version_file(module, version, "zip")?;
        let response = self.get(url, None).await?;
        let declared_len = response.content_length();
        let stream = response
            .bytes_stream()
            .map_err(|e| std::io::Error::other(modvault_error::chain(&e.without_url())));
        Ok(ZipBody {
            from_vcs: false,
            declared_len,
            stream: Box::pin(stream),
        })
    }
}

async fn error_for_status(shown: &str, response: Response) -> FetchError {
    let status = response.status();
    // Proxies explain themselves in the first line of a text body.
    let detail = read_limited(response, 4096)
        .await
        .ok()
        .and_then(|body| String::from_utf8(body.to_vec()).ok())
        .and_then(|text| text.lines().next().map(str::trim).map(str::to_owned))
        .filter(|line| !line.is_empty() && line.chars().all(|c| !c.is_control()));
    let message = match detail {
        Some(detail) => format!("{shown}: {status}: {detail}"),
        None => format!("{shown}: {status}"),
    };
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        FetchError::NotFound(message)
    } else {
        FetchError::Upstream(message)
    }
}

async fn read_limited(response: Response, limit: usize) -> Result<Bytes, String> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(format!("response larger than {limit} bytes"));
    }
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| modvault_error::chain(&e.without_url()))?;
        if body.len() + chunk.len() > limit {
            return Err(format!("response larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A URL safe to show: credentials removed.
pub(crate) fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode as AxumStatus;
    use axum::routing::get;
    use axum::Router;

    async fn serve(router: Router) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Url::parse(&format!("http://{addr}/base/")).unwrap()
    }

    fn fast_options() -> HttpOptions {
        HttpOptions {
            retries: 2,
            ..HttpOptions::default()
        }
    }

    #[tokio::test]
    async fn escapes_paths_and_maps_statuses() {
        let router = Router::new()
            .route(
                "/base/example.com/%21upper/@v/list",
                get(|| async { "v1.0.0\n" }),
            )
            .route(
                "/base/example.com/gone/@v/list",
                get(|| async {
                    (
                        AxumStatus::GONE,
                        "not found: example.com/gone: no such module",
                    )
                }),
            )
            .route(
                "/base/example.com/teapot/@v/list",
                get(|| async { (AxumStatus::IM_A_TEAPOT, "short and stout") }),
            );
        let proxy = HttpProxy::new(serve(router).await, &fast_options()).unwrap();
        assert_eq!(proxy.list("example.com/Upper").await.unwrap(), "v1.0.0\n");
        let gone = proxy.list("example.com/gone").await.unwrap_err();
        assert!(gone.is_not_found());
        assert!(gone.to_string().contains("no such module"), "{gone}");
        let teapot = proxy.list("example.com/teapot").await.unwrap_err();
        assert!(!teapot.is_not_found());
        assert!(teapot.to_string().contains("short and stout"), "{teapot}");
    }

    #[tokio::test]
    async fn retries_server_errors_a_bounded_number_of_times() {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let router = Router::new().route(
            "/base/example.com/flaky/@v/list",
            get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        (AxumStatus::SERVICE_UNAVAILABLE, "busy")
                    } else {
                        (AxumStatus::OK, "v1.0.0\n")
                    }
                }
            }),
        );
        let base = serve(router).await;
        let proxy = HttpProxy::new(base.clone(), &fast_options()).unwrap();
        assert_eq!(proxy.list("example.com/flaky").await.unwrap(), "v1.0.0\n");
        assert_eq!(hits.load(Ordering::SeqCst), 3);

        hits.store(0, Ordering::SeqCst);
        let impatient = HttpProxy::new(
            base,
            &HttpOptions {
                retries: 1,
                ..fast_options()
            },
        )
        .unwrap();
        assert!(!impatient
            .list("example.com/flaky")
            .await
            .unwrap_err()
            .is_not_found());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn connection_refused_is_an_upstream_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let proxy = HttpProxy::new(
            Url::parse(&format!("http://{addr}")).unwrap(),
            &fast_options(),
        )
        .unwrap();
        let err = proxy.list("example.com/m").await.unwrap_err();
        assert!(!err.is_not_found());
        assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn oversized_metadata_is_refused() {
        let router = Router::new().route(
            "/base/example.com/big/@v/list",
            get(|| async { "v".repeat(MAX_METADATA_BYTES + 1) }),
        );
        let proxy = HttpProxy::new(serve(router).await, &fast_options()).unwrap();
        assert!(proxy
            .list("example.com/big")
            .await
            .unwrap_err()
            .to_string()
            .contains("larger than"));
    }
}
