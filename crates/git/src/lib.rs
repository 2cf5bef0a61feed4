//! The `direct` source: Go modules served straight from version control,
//! as the go command's direct mode (`GOPROXY=direct`) fetches them, with
//! no Go toolchain at run time.
//!
//! [`GitSource`] implements [`Fetcher`]. For a module path it finds the
//! repository (configured `[[go_import]]` entries, the go command's static
//! rules, VCS-qualified paths, go-get discovery), keeps a persistent bare
//! mirror of it, and answers `list`, `@latest`, `.info`, `.mod` and `.zip`
//! by porting the go command's rules (`modfetch/coderepo.go`,
//! `codehost/git.go`, `modload/query.go`) over the git CLI. A go-import
//! entry of type `mod` sends the module to that GOPROXY server instead.

mod cache;
mod coderepo;
mod command;
mod credentials;
mod discovery;
mod error;
mod mirror;
mod netrc;
mod paths;
mod resolve;
mod timefmt;
mod zipbuild;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;

use modvault_core::path::{check_path, is_canonical_version};
use modvault_core::pattern::match_prefix_patterns;
use modvault_core::pseudo::is_pseudo_version;
use modvault_upstream::{
    FetchError, FetchResult, Fetcher, HttpOptions, HttpProxy, RevInfo, ZipBody,
};

use crate::cache::ObjectCache;
use crate::coderepo::{CodeRepo, ModuleRev};
use crate::command::GitRunner;
use crate::credentials::Credentials;
use crate::discovery::Discovery;
use crate::mirror::{Mirror, MirrorContext};

pub use crate::credentials::GitCredential;
use crate::paths::has_path_prefix;
use crate::resolve::{from_vcs_paths, RepoLocation};
use modvault_error::redact_urls;

/// A static `[[go_import]]` entry: what a go-get discovery page would say
/// for `prefix`, given in the configuration instead. Entries take
/// precedence over every other way of finding a repository; the longest
/// matching prefix wins.
/// Read from `[[go_import]]` tables by the configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoImport {
    /// A module path prefix (whole path elements), e.g. `golang.org/x/mod`.
    pub prefix: String,
    /// `git`, or `mod` for a GOPROXY server at `repo`.
    pub vcs: String,
    /// The repository URL (any URL git accepts), or the GOPROXY base URL.
    pub repo: String,
    /// The directory in the repository that `prefix` maps to.
    #[serde(default)]
    pub subdir: Option<String>,
}

/// How the git source runs.
#[derive(Clone, Debug)]
pub struct GitSourceOptions {
    /// Where the bare mirrors live, one per repository (under the data
    /// directory, outside the module store's key space).
    pub mirror_root: PathBuf,
    /// Where archives and zips are built (anonymous temporary files).
    pub scratch_dir: PathBuf,
    pub go_imports: Vec<GoImport>,
    /// How long fetched refs answer `list`, `@latest` and branch or hash
    /// queries before the next such request fetches again; also how long a
    /// module's repository location is remembered.
    pub refs_ttl: Duration,
    /// Limit for every git process (a fetch of a large repository included).
    pub command_timeout: Duration,
    /// Git processes running at once, over all repositories.
    pub max_concurrent_commands: usize,
    /// How long a failure to reach a repository (authentication, an
    /// unknown host key, a timeout, a missing repository) is answered from
    /// memory before the remote is contacted again.
    pub failure_ttl: Duration,
    /// Timeouts and proxies for go-get discovery and `mod` upstreams; its
    /// connect timeout also bounds an ssh connection up to the server's
    /// greeting (`ssh -o ConnectTimeout`).
    pub http: HttpOptions,
    /// Credentials modvault holds itself (`[[git_credential]]`): handed to
    /// git for matching https remotes and sent with go-get discovery.
    pub credentials: Vec<GitCredential>,
    /// Extra environment for every git process (e.g. `GIT_CONFIG_GLOBAL`).
    pub git_env: Vec<(String, String)>,
    /// GOINSECURE-style patterns: matching module paths may use plain-HTTP
    /// discovery and insecure git schemes.
    pub insecure: String,
}

impl GitSourceOptions {
    /// Defaults: refs fresh for 60s, 10 minutes per git command, 8 git
    /// commands at once, no go-import entries.
    pub fn new(mirror_root: PathBuf, scratch_dir: PathBuf) -> GitSourceOptions {
        GitSourceOptions {
            mirror_root,
            scratch_dir,
            go_imports: Vec::new(),
            refs_ttl: Duration::from_secs(60),
            command_timeout: Duration::from_secs(600),
            max_concurrent_commands: 8,
            failure_ttl: Duration::from_secs(60),
            http: HttpOptions::default(),
            credentials: Vec::new(),
            git_env: Vec::new(),
            insecure: String::new(),
        }
    }
}

/// Modules from version control. See the crate documentation.
pub struct GitSource {
    options: GitSourceOptions,
    git: Arc<GitRunner>,
    /// What every mirror is made with.
    mirror_context: MirrorContext,
    discovery: Discovery,
    mirrors: Mutex<HashMap<String, Arc<Mirror>>>,
    proxies: Mutex<HashMap<String, Arc<HttpProxy>>>,
    /// Module path → where it lives, with the time it was found out.
    locations: Mutex<HashMap<String, CachedLocation>>,
}

/// A module's location (or why there is none) and when it was found.
type CachedLocation = (Instant, Result<Location, FetchError>);

/// Where a module's code is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Location {
    Git {
        url: String,
        root: String,
        subdir: String,
    },
    Proxy {
        base: String,
    },
}

/// What answers for a module.
enum Backend {
    Code(CodeRepo),
    Proxy(Arc<HttpProxy>),
}

impl GitSource {
    /// Creates the mirror and scratch directories and removes what an
    /// interrupted run left in them.
    pub fn new(options: GitSourceOptions) -> io::Result<GitSource> {
        let http = options.http.client().map_err(io::Error::other)?;
        GitSource::with_http_client(options, http)
    }

    /// Like [`GitSource::new`], with the HTTP client for go-get discovery,
    /// `mod` upstreams and repository probes given (custom proxies, roots).
    pub fn with_http_client(
        options: GitSourceOptions,
        http: reqwest::Client,
    ) -> io::Result<GitSource> {
        std::fs::create_dir_all(&options.mirror_root)?;
        std::fs::create_dir_all(&options.scratch_dir)?;
        for entry in std::fs::read_dir(&options.mirror_root)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(".init-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let credentials = Arc::new(Credentials::new(&options.credentials));
        let git = Arc::new(
            GitRunner::new(
                options.max_concurrent_commands,
                options.command_timeout,
                &options.git_env,
                options.scratch_dir.clone(),
            )
            .with_remote_settings(credentials.git_args(), options.http.connect_timeout),
        );
        let discovery = Discovery::new(
            http.clone(),
            options.http.request_timeout,
            credentials.clone(),
        );
        let mirror_context = MirrorContext {
            git: git.clone(),
            cache: Arc::new(ObjectCache::new()),
            refs_ttl: options.refs_ttl,
            failure_ttl: options.failure_ttl,
            http,
            http_timeout: options.http.request_timeout,
            credentials,
        };
        Ok(GitSource {
            options,
            git,
            mirror_context,
            discovery,
            mirrors: Mutex::new(HashMap::new()),
            proxies: Mutex::new(HashMap::new()),
            locations: Mutex::new(HashMap::new()),
        })
    }

    // -----------------------------------------------------------------
    // Module path → repository (Go's RepoRootForImportPath, lookupDirect)

    async fn backend(&self, module: &str) -> FetchResult<Backend> {
        check_path(module).map_err(|e| FetchError::NotFound(e.to_string()))?;
        match self.location(module).await? {
            Location::Proxy { base } => Ok(Backend::Proxy(self.proxy(&base)?)),
            Location::Git { url, root, subdir } => {
                let mirror = self.mirror(&url);
                let repo = CodeRepo::new(
                    mirror,
                    &root,
                    &subdir,
                    module,
                    self.options.scratch_dir.clone(),
                )?;
                Ok(Backend::Code(repo))
            }
        }
    }

    async fn location(&self, module: &str) -> FetchResult<Location> {
        let ttl = self.options.refs_ttl;
        if let Some((at, location)) = lock(&self.locations).get(module) {
            if at.elapsed() < ttl {
                return location.clone();
            }
        }
        let location = self.find_location(module).await;
        if !ttl.is_zero() {
            let mut locations = lock(&self.locations);
            locations.retain(|_, (at, _)| at.elapsed() < ttl);
            locations.insert(module.to_owned(), (Instant::now(), location.clone()));
        }
        location
    }

    /// Configuration first, then the static rules, then discovery. Every
    /// failure to place a module is "not found", as in Go's `lookupDirect`.
    async fn find_location(&self, module: &str) -> FetchResult<Location> {
        let not_found = |why: String| FetchError::NotFound(format!("{module}: {why}"));
        let configured = self
            .options
            .go_imports
            .iter()
            .filter(|g| has_path_prefix(module, &g.prefix))
            .max_by_key(|g| g.prefix.len());
        if let Some(entry) = configured {
            return location_for(
                &entry.vcs,
                &entry.repo,
                &entry.prefix,
                entry.subdir.as_deref().unwrap_or_default(),
            )
            .map_err(not_found);
        }

        let insecure = match_prefix_patterns(&self.options.insecure, module);
        match from_vcs_paths(module) {
            Err(why) => Err(not_found(why)),
            Ok(Some(found)) => {
                let url = match found.repo {
                    RepoLocation::Url(url) => url,
                    RepoLocation::Schemeless(repo) => {
                        if found.vcs != "git" {
                            return Err(not_found(unsupported_vcs(&found.vcs)));
                        }
                        self.probe_scheme(&repo, insecure)
                            .await
                            .map_err(not_found)?
                    }
                };
                location_for(&found.vcs, &url, &found.root, "").map_err(not_found)
            }
            Ok(None) => {
                let found = self
                    .discovery
                    .discover(module, insecure)
                    .await
                    .map_err(|why| {
                        not_found(format!("unrecognized import path {module:?}: {why}"))
                    })?;
                if found.vcs == "git" && !is_network_git_url(&found.repo) {
                    return Err(not_found(format!(
                        "go-import repository {:?} does not use one of the schemes {DISCOVERED_GIT_SCHEMES:?}",
                        redact_urls(&found.repo)
                    )));
                }
                location_for(&found.vcs, &found.repo, &found.root, &found.subdir).map_err(not_found)
            }
        }
    }

    /// Go's scheme loop for VCS-qualified paths: the first scheme for which
    /// `git ls-remote <scheme>://<repo>` works, secure ones only unless the
    /// path is insecure (`GIT_ALLOW_PROTOCOL` narrows the secure list).
    async fn probe_scheme(&self, repo: &str, insecure: bool) -> Result<String, String> {
        let allowed = self
            .git
            .env_var("GIT_ALLOW_PROTOCOL")
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty());
        let is_secure = |scheme: &str| match &allowed {
            Some(list) => list.split(':').any(|s| s == scheme),
            None => matches!(scheme, "https" | "git+ssh" | "ssh"),
        };
        for scheme in ["git", "https", "http", "git+ssh", "ssh"] {
            if !insecure && !is_secure(scheme) {
                continue;
            }
            let url = format!("{scheme}://{repo}");
            if self
                .git
                .remote_output(None, &["ls-remote", url.as_str()], 64 << 20)
                .await
                .is_ok()
            {
                return Ok(url);
            }
        }
        Err(format!(
            "no {}protocol found for repository",
            if insecure { "" } else { "secure " }
        ))
    }

    fn mirror(&self, url: &str) -> Arc<Mirror> {
        lock(&self.mirrors)
            .entry(url.to_owned())
            .or_insert_with(|| {
                Arc::new(Mirror::new(
                    url,
                    &self.options.mirror_root,
                    &self.mirror_context,
                ))
            })
            .clone()
    }

    fn proxy(&self, base: &str) -> FetchResult<Arc<HttpProxy>> {
        if let Some(proxy) = lock(&self.proxies).get(base) {
            return Ok(proxy.clone());
        }
        let url = reqwest::Url::parse(base).map_err(|e| {
            FetchError::NotFound(format!("invalid mod proxy URL {}: {e}", redact_urls(base)))
        })?;
        let proxy = Arc::new(HttpProxy::with_client(
            url,
            &self.options.http,
            self.mirror_context.http.clone(),
        ));
        lock(&self.proxies).insert(base.to_owned(), proxy.clone());
        Ok(proxy)
    }
}

/// The transports the go command itself uses for git. A discovery page is
/// written by whoever controls the domain a client names, so its git URL is
/// held to these (git's own `protocol.allow` defaults would already refuse
/// `ext::`; this also keeps out `fd::` and friends). Configured entries and
/// `insteadOf` rewrites are trusted.
const DISCOVERED_GIT_SCHEMES: [&str; 5] = ["https", "http", "git", "ssh", "git+ssh"];

fn is_network_git_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, rest)| {
        DISCOVERED_GIT_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
            && !rest.starts_with('-')
    })
}

fn location_for(vcs: &str, repo: &str, root: &str, subdir: &str) -> Result<Location, String> {
    match vcs {
        "git" => Ok(Location::Git {
            url: repo.to_owned(),
            root: root.to_owned(),
            subdir: subdir.to_owned(),
        }),
        "mod" => Ok(Location::Proxy {
            base: repo.to_owned(),
        }),
        other => Err(unsupported_vcs(other)),
    }
}

fn unsupported_vcs(vcs: &str) -> String {
    format!("version control system {vcs:?} is not supported by modvault (only git and mod)")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------
// .info documents

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InfoDocument<'a> {
    version: &'a str,
    time: &'a str,
    origin: OriginDocument<'a>,
}

/// `Origin` as the go command writes it into its cache (`writeDiskStat`:
/// no tag or repo sums; no ref for pseudo-versions).
#[derive(Serialize)]
struct OriginDocument<'a> {
    #[serde(rename = "VCS")]
    vcs: &'a str,
    #[serde(rename = "URL")]
    url: &'a str,
    #[serde(rename = "Subdir", skip_serializing_if = "str::is_empty")]
    subdir: &'a str,
    #[serde(rename = "Hash")]
    hash: &'a str,
    #[serde(rename = "Ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

fn info_document(repo: &CodeRepo, rev: &ModuleRev) -> FetchResult<RevInfo> {
    let time = timefmt::rfc3339(rev.time)?;
    let reference = if is_pseudo_version(&rev.version) {
        None
    } else {
        rev.origin_ref.as_deref()
    };
    let document = InfoDocument {
        version: &rev.version,
        time: &time,
        origin: OriginDocument {
            vcs: "git",
            url: repo.mirror().shown_url(),
            subdir: repo.code_dir(),
            hash: &rev.hash,
            reference,
        },
    };
    let raw = serde_json::to_vec(&document)
        .map_err(|e| FetchError::Upstream(format!("encoding info: {e}")))?;
    RevInfo::parse(Bytes::from(raw)).map_err(FetchError::Upstream)
}

// ---------------------------------------------------------------------
// Fetcher

#[async_trait]
impl Fetcher for GitSource {
    async fn list(&self, module: &str) -> FetchResult<String> {
        match self.backend(module).await? {
            Backend::Proxy(proxy) => proxy.list(module).await,
            Backend::Code(repo) => {
                repo.mirror().refresh_if_stale().await?;
                let versions = repo.versions("").await?;
                Ok(versions.iter().map(|v| format!("{v}\n")).collect())
            }
        }
    }

    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        match self.backend(module).await? {
            Backend::Proxy(proxy) => proxy.latest(module).await,
            Backend::Code(repo) => {
                repo.mirror().refresh_if_stale().await?;
                let rev = repo.query("latest").await?;
                info_document(&repo, &rev)
            }
        }
    }

    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        match self.backend(module).await? {
            Backend::Proxy(proxy) => proxy.info(module, query).await,
            Backend::Code(repo) => {
                // A canonical version means the same commit forever; anything
                // else (a branch, a hash, HEAD, a version prefix) deserves
                // fresh refs.
                if !is_canonical_version(query) {
                    repo.mirror().refresh_if_stale().await?;
                }
                let rev = repo.query(query).await?;
                info_document(&repo, &rev)
            }
        }
    }

    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        match self.backend(module).await? {
            Backend::Proxy(proxy) => proxy.go_mod(module, version).await,
            Backend::Code(repo) => Ok(Bytes::from(repo.go_mod(version).await?)),
        }
    }

    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        match self.backend(module).await? {
            Backend::Proxy(proxy) => proxy.zip(module, version).await,
            Backend::Code(repo) => {
                let built = repo.zip(version).await?;
                let file = tokio::fs::File::from_std(built.file);
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10);
                Ok(ZipBody {
                    declared_len: Some(built.len),
                    from_vcs: true,
                    stream: Box::pin(stream),
                })
            }
        }
    }

    async fn expire(&self, module: &str) {
        // Where the module lives is looked up again too (a moved
        // repository, a changed go-import page).
        lock(&self.locations).remove(module);
        if let Ok(Location::Git { url, .. }) = self.location(module).await {
            self.mirror(&url).expire();
        }
    }
}

/// Entry points for the fuzz targets in `fuzz/`: the parsers of outside
/// input that are private to this crate. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a `.netrc` and looks up one host in it.
    pub fn netrc(data: &str, host: &str) -> usize {
        let entries = crate::netrc::parse_netrc(data);
        let _ = crate::netrc::lookup(&entries, host);
        entries.len()
    }

    /// Parses a go-get discovery page and matches an import path against it.
    pub fn go_imports(html: &[u8], import_path: &str) -> usize {
        let imports = crate::discovery::parse_meta_go_imports(html);
        let _ = crate::discovery::match_go_import(&imports, import_path);
        imports.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovered_git_urls_are_network_urls() {
        assert!(is_network_git_url("https://github.com/a/b"));
        assert!(is_network_git_url("ssh://git@host/x"));
        assert!(is_network_git_url("GIT://host/x"));
        assert!(!is_network_git_url("ext::sh -c touch% /tmp/x"));
        assert!(!is_network_git_url("fd::17"));
        assert!(!is_network_git_url("file:///etc"));
        assert!(!is_network_git_url("ssh://-oProxyCommand=x/y"));
        assert!(!is_network_git_url("git@github.com:a/b"));
    }

    #[test]
    fn locations_follow_the_vcs() {
        assert_eq!(
            location_for("git", "https://h/r", "h/r", "sub"),
            Ok(Location::Git {
                url: "https://h/r".into(),
                root: "h/r".into(),
                subdir: "sub".into()
            })
        );
        assert_eq!(
            location_for("mod", "https://proxy", "h/r", ""),
            Ok(Location::Proxy {
                base: "https://proxy".into()
            })
        );
        assert!(location_for("hg", "https://h/r", "h/r", "").is_err());
    }
}
