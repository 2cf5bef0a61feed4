//! Operations over HTTP: the index feed (`GET /index`), an admin's refresh
//! of a module (`POST /admin/refresh/<module>`) and repository webhooks
//! (`POST /hooks/<provider>`) that refresh a repository's modules when it
//! is pushed to.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use modvault_access::{Principal, Scope};
use modvault_proxy::{Module, Source};
use modvault_state::{CatalogQuery, Match};
use modvault_store::layout;

use crate::error::HttpError;
use crate::AppState;

/// index.golang.org's page size: the default and the most one page holds.
pub const INDEX_MAX_LIMIT: usize = 2000;
/// Catalog pages read at most for one feed page whose entries the caller
/// may mostly not read.
const INDEX_MAX_SCANS: usize = 16;
/// Larger webhook payloads are refused (GitHub caps its own at 25 MB; a
/// push's JSON is far smaller).
const MAX_HOOK_BYTES: usize = 5 << 20;
/// Modules one webhook refreshes at most, and at once.
const MAX_HOOK_MODULES: usize = 256;
const HOOK_CONCURRENCY: usize = 8;

/// The forges whose webhooks are understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    GitLab,
    /// Gitea and Forgejo (the same payloads and signature).
    Gitea,
}

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "github" => Some(Provider::GitHub),
            "gitlab" => Some(Provider::GitLab),
            "gitea" | "forgejo" => Some(Provider::Gitea),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
        }
    }
}

/// A webhook secret; never shown (`Debug` prints a placeholder).
#[derive(Clone)]
pub struct HookSecret(Arc<[u8]>);

impl HookSecret {
    pub fn new(secret: &[u8]) -> HookSecret {
        HookSecret(secret.into())
    }
}

impl fmt::Debug for HookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookSecret(…)")
    }
}

/// What the webhook endpoints need: a secret per provider (none: that
/// provider's endpoint answers 404), and the configured `[[go_import]]`
/// entries, which map a repository to the module prefix it holds.
#[derive(Clone, Debug, Default)]
pub struct WebhookSettings {
    pub github: Option<HookSecret>,
    pub gitlab: Option<HookSecret>,
    pub gitea: Option<HookSecret>,
    /// `(module prefix, repository URL)` pairs.
    pub go_imports: Vec<(String, String)>,
}

impl WebhookSettings {
    fn secret(&self, provider: Provider) -> Option<&HookSecret> {
        match provider {
            Provider::GitHub => self.github.as_ref(),
            Provider::GitLab => self.gitlab.as_ref(),
            Provider::Gitea => self.gitea.as_ref(),
        }
    }
}

// ---------------------------------------------------------------------
// GET /index

/// The index feed: one JSON object per line, `Path`, `Version` and
/// `Timestamp` (when stored, RFC 3339 with nanoseconds as Go prints them),
/// ascending by time, from `since` (inclusive), at most `limit` lines;
/// versions the caller may not read are left out.
pub async fn index_feed(
    state: &AppState,
    caller: Option<&Principal>,
    query: Option<&str>,
) -> Result<Response, HttpError> {
    let (since, limit) = feed_query(query.unwrap_or_default())?;
    let catalog = state.proxy.catalog();
    let mut out = String::new();
    let mut shown = 0;
    let mut cursor = since;
    // Entries at `cursor` already looked at: the next page starts there
    // again (inclusive), and they are skipped.
    let mut seen_at_cursor: BTreeSet<(String, String)> = BTreeSet::new();
    for _ in 0..INDEX_MAX_SCANS {
        let page = catalog.stored_since(cursor, limit).await?;
        let full = page.len() == limit;
        let Some(last) = page.last().map(|e| e.stored_at) else {
            break;
        };
        for entry in &page {
            let key = (entry.module.clone(), entry.version.clone());
            if entry.stored_at == cursor && seen_at_cursor.contains(&key) {
                continue;
            }
            if shown < limit && may_read(state, caller, &entry.module) {
                out.push_str(&feed_line(&entry.module, &entry.version, entry.stored_at));
                shown += 1;
            }
        }
        if shown >= limit || !full {
            break;
        }
        if last != cursor {
            seen_at_cursor.clear();
        }
        seen_at_cursor.extend(
            page.iter()
                .filter(|e| e.stored_at == last)
                .map(|e| (e.module.clone(), e.version.clone())),
        );
        if last == cursor && page.iter().all(|e| e.stored_at == last) {
            // More than a page stored in one millisecond, all seen.
            break;
        }
        cursor = last;
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

fn may_read(state: &AppState, caller: Option<&Principal>, module: &str) -> bool {
    let route = state.rules.route(module);
    state
        .access
        .check(caller, &route, module, Scope::Read)
        .is_ok()
}

fn feed_query(query: &str) -> Result<(SystemTime, usize), HttpError> {
    let mut since = UNIX_EPOCH;
    let mut limit = INDEX_MAX_LIMIT;
    for (key, value) in form_pairs(query) {
        match key.as_str() {
            "since" if !value.is_empty() => {
                since = parse_rfc3339(&value).ok_or_else(|| {
                    HttpError::bad_request(&format!(
                        "since={value:?}: expected an RFC 3339 time such as 2019-04-10T19:08:52.997264Z"
                    ))
                })?;
            }
            "limit" if !value.is_empty() => {
                let n: usize = value.parse().map_err(|_| {
                    HttpError::bad_request(&format!("limit={value:?}: expected a whole number"))
                })?;
                // As index.golang.org: larger limits are the largest page.
                limit = n.clamp(1, INDEX_MAX_LIMIT);
            }
            _ => {}
        }
    }
    Ok((since, limit))
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let nanos = parsed.unix_timestamp_nanos();
    if nanos < 0 {
        return Some(UNIX_EPOCH);
    }
    Some(UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).ok()?))
}

/// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped,
/// no fraction at all for a whole second.
pub fn rfc3339_nano(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let date = time::OffsetDateTime::from_unix_timestamp(since.as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        date.hour(),
        date.minute(),
        date.second()
    );
    let nanos = since.subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

fn feed_line(module: &str, version: &str, at: SystemTime) -> String {
    let line = serde_json::json!({
        "Path": module,
        "Version": version,
        "Timestamp": rfc3339_nano(at),
    });
    format!("{line}\n")
}

// ---------------------------------------------------------------------
// POST /admin/refresh/<module>

/// Refreshes one module for a caller with an admin token.
pub async fn admin_refresh(
    state: &AppState,
    caller: Option<&Principal>,
    module: &Module,
    peer: Option<SocketAddr>,
) -> Result<Response, HttpError> {
    refresh_module(state, caller, module, peer).await?;
    Ok(text(StatusCode::OK, format!("refreshed {}\n", module.path)))
}

/// The refresh itself, for `/admin/refresh/` and the web API alike: the
/// admin check, the refresh, the audit event.
pub async fn refresh_module(
    state: &AppState,
    caller: Option<&Principal>,
    module: &Module,
    peer: Option<SocketAddr>,
) -> Result<(), HttpError> {
    let route = state.rules.route(&module.path);
    state
        .access
        .check(caller, &route, &module.path, Scope::Admin)?;
    state.proxy.refresh(module, &route).await?;
    tracing::info!(
        target: "modvault::audit",
        event = "admin_refresh",
        module = %module.path,
        token_name = caller.map(|c| c.name.as_str()).unwrap_or_default(),
        peer = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        reason = "admin",
    );
    Ok(())
}

// ---------------------------------------------------------------------
// POST /hooks/<provider>

/// A push or tag event: the signature checked against the provider's
/// secret before anything else; then the repository's modules refreshed.
pub async fn webhook(
    state: &AppState,
    provider: Provider,
    headers: &HeaderMap,
    body: Body,
    peer: Option<SocketAddr>,
) -> Result<Response, HttpError> {
    let Some(secret) = state.edge.webhooks.secret(provider) else {
        return Err(HttpError::not_found(&format!(
            "no webhook secret is configured for {} (webhook.{}_secret_file or webhook.secret_file)",
            provider.name(),
            provider.name()
        )));
    };
    let payload = read_limited(body, MAX_HOOK_BYTES, state.edge.body_timeout).await?;
    if !signature_ok(provider, secret, headers, &payload) {
        tracing::info!(
            target: "modvault::audit",
            event = "auth_failure",
            reason = "webhook signature",
            provider = provider.name(),
            peer = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        );
        return Err(HttpError::unauthorized(&format!(
            "the {} webhook's signature does not match the configured secret",
            provider.name()
        )));
    }
    if is_ping(provider, headers) {
        return Ok(text(StatusCode::OK, "pong\n".into()));
    }
    let json: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| HttpError::bad_request(&format!("webhook payload is not JSON: {e}")))?;
    let repos = repository_urls(&json);
    if repos.is_empty() {
        return Err(HttpError::bad_request(
            "webhook payload names no repository (repository.clone_url or project.git_http_url)",
        ));
    }
    let modules = modules_of(state, &repos).await;
    let refreshed: Vec<String> = futures::stream::iter(modules)
        .map(|module| async move {
            let route = state.rules.route(&module.path);
            if matches!(route.source, Source::Deny | Source::Published) {
                return None;
            }
            match state.proxy.refresh(&module, &route).await {
                Ok(()) => {
                    tracing::info!(
                        target: "modvault::audit",
                        event = "admin_refresh",
                        module = %module.path,
                        reason = %format!("{} webhook", provider.name()),
                        peer = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                    );
                    Some(module.path)
                }
                Err(e) => {
                    tracing::warn!(module = %module.path, error = %e, "webhook refresh failed");
                    None
                }
            }
        })
        .buffer_unordered(HOOK_CONCURRENCY)
        .filter_map(|m| async move { m })
        .collect()
        .await;
    let mut body = String::new();
    for module in &refreshed {
        body.push_str(&format!("refreshed {module}\n"));
    }
    if refreshed.is_empty() {
        body.push_str("no module of this repository is known here\n");
    }
    Ok(text(StatusCode::OK, body))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn read_limited(
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<bytes::Bytes, HttpError> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(HttpError::of_kind(
            modvault_error::ErrorKind::TooLarge,
            &format!("webhook payloads are limited to {limit} bytes"),
        )),
        Err(_) => Err(HttpError::bad_request(
            "the webhook payload did not arrive within body_timeout",
        )),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`; Gitea and
/// Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature: <hex>`; GitLab:
/// `X-Gitlab-Token`, the secret itself. Every comparison is in constant
/// time.
pub fn signature_ok(
    provider: Provider,
    secret: &HookSecret,
    headers: &HeaderMap,
    payload: &[u8],
) -> bool {
    let hmac_matches = |hex_digest: &str| {
        let Ok(digest) = hex::decode(hex_digest) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&secret.0) else {
            return false;
        };
        mac.update(payload);
        mac.verify_slice(&digest).is_ok()
    };
    match provider {
        Provider::GitHub => header_text(headers, "x-hub-signature-256")
            .and_then(|v| v.strip_prefix("sha256="))
            .is_some_and(hmac_matches),
        Provider::Gitea => header_text(headers, "x-gitea-signature")
            .or_else(|| header_text(headers, "x-forgejo-signature"))
            .is_some_and(hmac_matches),
        Provider::GitLab => header_text(headers, "x-gitlab-token")
            .is_some_and(|token| bool::from(token.as_bytes().ct_eq(&secret.0))),
    }
}

fn is_ping(provider: Provider, headers: &HeaderMap) -> bool {
    match provider {
        Provider::GitHub => header_text(headers, "x-github-event") == Some("ping"),
        _ => false,
    }
}

/// Every URL of the repository the payload names (GitHub and Gitea:
/// `repository.clone_url`, `html_url`, `ssh_url`; GitLab:
/// `project.git_http_url`, `git_ssh_url`, `web_url`), as `host/path`.
pub fn repository_urls(json: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (object, fields) in [
        (
            "repository",
            &[
                "clone_url",
                "html_url",
                "ssh_url",
                "git_http_url",
                "git_ssh_url",
                "homepage",
                "url",
            ][..],
        ),
        (
            "project",
            &[
                "git_http_url",
                "git_ssh_url",
                "web_url",
                "http_url",
                "ssh_url",
            ][..],
        ),
    ] {
        for field in fields {
            if let Some(url) = json
                .pointer(&format!("/{object}/{field}"))
                .and_then(|v| v.as_str())
            {
                if let Some(normal) = normalize_repo_url(url) {
                    out.insert(normal);
                }
            }
        }
    }
    out
}

/// `https://user@Host:443/a/b.git/` and `git@host:a/b.git` both become
/// `host/a/b`: how a module path names a repository. The port is kept
/// (a module path cannot hold one, so such a repository is matched through
/// `[[go_import]]` entries and the catalog only).
pub fn normalize_repo_url(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_owned(),
        // scp-like: [user@]host:path
        None => {
            let (host, path) = url.split_once(':')?;
            format!("{host}/{path}")
        }
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(&host);
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{host}/{path}"))
}

/// The modules served from these repositories that this server knows (a
/// stored list or `@latest`, or versions in the catalog): the repository
/// path itself, the prefixes `[[go_import]]` maps to it, and the catalog's
/// modules under either (major versions, modules in subdirectories).
async fn modules_of(state: &AppState, repos: &BTreeSet<String>) -> Vec<Module> {
    let mut bases: BTreeSet<String> = repos.clone();
    for (prefix, repo) in &state.edge.webhooks.go_imports {
        if normalize_repo_url(repo).is_some_and(|r| repos.contains(&r)) {
            bases.insert(prefix.clone());
        }
    }
    let catalog = state.proxy.catalog();
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for base in &bases {
        paths.insert(base.clone());
        let query = CatalogQuery {
            text: format!("{base}/"),
            matching: Match::Prefix,
            limit: MAX_HOOK_MODULES * 16,
            offset: 0,
        };
        if let Ok(entries) = catalog.search(&query).await {
            paths.extend(entries.into_iter().map(|e| e.module));
        }
    }
    let store = state.proxy.store();
    let mut modules = Vec::new();
    for path in paths {
        if modules.len() >= MAX_HOOK_MODULES {
            tracing::warn!(
                limit = MAX_HOOK_MODULES,
                "webhook names more modules than are refreshed at once"
            );
            break;
        }
        let Ok(module) = Module::new(&path) else {
            continue;
        };
        let known = matches!(
            store.head(&layout::list(&module.escaped)).await,
            Ok(Some(_))
        ) || matches!(
            store.head(&layout::latest(&module.escaped)).await,
            Ok(Some(_))
        ) || catalog
            .search(&CatalogQuery {
                limit: 1,
                ..CatalogQuery::module(&module.path)
            })
            .await
            .is_ok_and(|e| !e.is_empty());
        if known {
            modules.push(module);
        }
    }
    modules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_become_module_like_paths() {
        for (url, want) in [
            (
                "https://github.com/mvtest/hello.git",
                Some("github.com/mvtest/hello"),
            ),
            (
                "https://GitHub.com/mvtest/hello/",
                Some("github.com/mvtest/hello"),
            ),
            (
                "git@github.com:mvtest/hello.git",
                Some("github.com/mvtest/hello"),
            ),
            (
                "ssh://git@gitlab.example:2222/g/sub/p.git",
                Some("gitlab.example:2222/g/sub/p"),
            ),
            (
                "https://user:pw@git.example:443/x/y",
                Some("git.example/x/y"),
            ),
            ("https://host.example", None),
        ] {
            assert_eq!(normalize_repo_url(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn feed_times_are_go_rfc3339_nano() {
        let at = UNIX_EPOCH + Duration::from_millis(1_554_923_332_997);
        assert_eq!(rfc3339_nano(at), "2019-04-10T19:08:52.997Z");
        let whole = UNIX_EPOCH + Duration::from_secs(1_554_923_332);
        assert_eq!(rfc3339_nano(whole), "2019-04-10T19:08:52Z");
        assert_eq!(parse_rfc3339("2019-04-10T19:08:52.997Z"), Some(at));
        assert_eq!(parse_rfc3339("2019-04-10T21:08:52.997+02:00"), Some(at));
    }

    #[test]
    fn signatures_are_checked_per_provider() {
        let secret = HookSecret::new(b"It's a Secret to Everybody");
        let payload = b"Hello, World!";
        // GitHub's documented example.
        let good = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            format!("sha256={good}").parse().unwrap(),
        );
        assert!(signature_ok(Provider::GitHub, &secret, &headers, payload));
        assert!(!signature_ok(
            Provider::GitHub,
            &secret,
            &headers,
            b"Hello, World?"
        ));
        assert!(
            !signature_ok(Provider::Gitea, &secret, &headers, payload),
            "GitHub's header is not Gitea's"
        );
        let mut gitea = HeaderMap::new();
        gitea.insert("x-forgejo-signature", good.parse().unwrap());
        assert!(signature_ok(Provider::Gitea, &secret, &gitea, payload));
        let mut gitlab = HeaderMap::new();
        gitlab.insert(
            "x-gitlab-token",
            "It's a Secret to Everybody".parse().unwrap(),
        );
        assert!(signature_ok(Provider::GitLab, &secret, &gitlab, payload));
        gitlab.insert(
            "x-gitlab-token",
            "It's a Secret to Everybod".parse().unwrap(),
        );
        assert!(!signature_ok(Provider::GitLab, &secret, &gitlab, payload));
    }
}
