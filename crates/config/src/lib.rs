//! The configuration of a modvault server.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modvault_core::pattern::parse_pattern_list;
use modvault_upstream::{parse_proxy_list, ChainEntry};

/// Environment variables with this prefix are settings; an unknown one is an
/// error rather than a silently ignored typo.
pub const ENV_PREFIX: &str = "MODVAULT_";
/// Names the configuration file; not a setting itself.
pub const CONFIG_FILE_ENV: &str = "MODVAULT_CONFIG";
/// Variables read by the command line itself (`modvault publish`), not
/// settings of the server; allowed in the server's environment too.
pub const CLIENT_ENV: &[&str] = &[CONFIG_FILE_ENV, "MODVAULT_SERVER", "MODVAULT_TOKEN"];

/// One setting: its key (TOML key; the flag and environment variable are
/// derived from it), its default, and what it means.
pub struct Setting {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

impl Setting {
    /// `sumdb.signer_key_file` is `--sumdb-signer-key-file`.
    pub fn flag(&self) -> String {
        self.key.replace(['_', '.'], "-")
    }
    /// `sumdb.signer_key_file` is `MODVAULT_SUMDB_SIGNER_KEY_FILE`.
    pub fn env(&self) -> String {
        format!(
            "{ENV_PREFIX}{}",
            self.key.replace('.', "_").to_ascii_uppercase()
        )
    }
}

pub const SETTINGS: &[Setting] = &[
    Setting { key: "listen", default: "127.0.0.1:3000", help: "Address and port to listen on" },
    Setting { key: "data_dir", default: "./modvault-data", help: "Working directory (spool files, git mirrors, state) and, unless storage is set, the store: itself a valid GOPROXY file tree" },
    Setting {
        key: "storage",
        default: "",
        help: "Where module files are kept: empty for data_dir, or s3://BUCKET[/PREFIX] for an S3-compatible bucket",
    },
    Setting {
        key: "database_url",
        default: "",
        help: "PostgreSQL for state shared by several replicas (tokens, checksum log, catalog, fetch leases), postgres://USER:PASSWORD@HOST:PORT/DB; empty: state in data_dir. Never logged",
    },
    Setting { key: "s3.endpoint", default: "", help: "S3 endpoint URL [default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; none: AWS]" },
    Setting { key: "s3.region", default: "", help: "S3 region [default: AWS_REGION or AWS_DEFAULT_REGION, else us-east-1]" },
    Setting { key: "s3.access_key_id", default: "", help: "S3 access key id [default: AWS_ACCESS_KEY_ID; none: AWS's credential chain]" },
    Setting { key: "s3.secret_access_key", default: "", help: "S3 secret access key [default: AWS_SECRET_ACCESS_KEY]; never logged" },
    Setting { key: "s3.allow_http", default: "", help: "Allow a plain-http endpoint: true or false [default: AWS_ALLOW_HTTP, else false]" },
    Setting {
        key: "s3.virtual_hosted_style",
        default: "",
        help: "BUCKET.host/key rather than host/BUCKET/key: true or false [default: true for AWS, false with an endpoint]",
    },
    Setting {
        key: "upstream",
        default: "https://proxy.golang.org,direct",
        help: "Where misses are fetched, in GOPROXY list syntax (`,` falls through on not-found, `|` on any error; off, direct)",
    },
    Setting { key: "tls_cert_file", default: "", help: "PEM certificate chain: serve HTTPS (reloaded on SIGHUP)" },
    Setting { key: "tls_key_file", default: "", help: "PEM private key for tls_cert_file (reloaded on SIGHUP)" },
    Setting { key: "vcs_timeout", default: "10m", help: "Longest any one git command (clone, fetch, archive) may run" },
    Setting { key: "max_concurrent_vcs", default: "8", help: "Upper bound on git commands running at once" },
    Setting {
        key: "auth.metrics",
        default: "loopback",
        help: "Who may read /metrics: loopback (anyone on a loopback address, others with a token), token, or public",
    },
    Setting { key: "auth.failure_limit", default: "10", help: "Failed authentications per address per minute before each further failure is answered slowly" },
    Setting { key: "auth.failure_delay", default: "2s", help: "How long a failed authentication over auth.failure_limit waits before its 401" },
    Setting {
        key: "auth.anonymous_read",
        default: "*",
        help: "Module patterns anonymous clients may read, comma-separated; empty: a token is needed for everything",
    },
    Setting { key: "list_ttl", default: "60s", help: "How long list, @latest and query .info answers stay fresh" },
    Setting { key: "not_found_ttl", default: "60s", help: "How long a not-found answer from upstream is remembered" },
    Setting { key: "upstream_connect_timeout", default: "10s", help: "Connect timeout for upstream requests" },
    Setting { key: "upstream_timeout", default: "60s", help: "Whole-request timeout for upstream list/.info/.mod/@latest" },
    Setting { key: "upstream_idle_timeout", default: "60s", help: "Longest silence while reading an upstream body (zips included)" },
    Setting { key: "upstream_retries", default: "2", help: "Retries after an upstream connection error, 429 or 5xx" },
    Setting {
        key: "max_concurrent_fetches",
        default: "64",
        help: "Upper bound on concurrent upstream fetches of list, .info, .mod and @latest",
    },
    Setting {
        key: "max_concurrent_zip_fetches",
        default: "32",
        help: "Upper bound on concurrent zip fetches (a pool of its own, so slow zips cannot hold up small fetches)",
    },
    Setting {
        key: "upstream_min_rate",
        default: "1KiB",
        help: "Bytes per second a zip must at least arrive at, averaged over 30s; slower ones are abandoned (0: no minimum)",
    },
    Setting { key: "max_connections", default: "1024", help: "Open client connections at most; past it new ones are refused at once (503)" },
    Setting {
        key: "header_timeout",
        default: "60s",
        help: "Time a client has to send a request's headers, from when the connection waits for one (also closes idle keep-alive connections)",
    },
    Setting { key: "idle_timeout", default: "75s", help: "A connection that moves no byte either way for this long is closed" },
    Setting { key: "body_timeout", default: "60s", help: "Longest silence while an upload's body arrives" },
    Setting { key: "max_header_bytes", default: "64KiB", help: "Largest request head (request line and headers)" },
    Setting { key: "max_path_bytes", default: "4096", help: "Longest request path; longer ones answer 414" },
    Setting { key: "max_upload_bytes", default: "500MiB", help: "Largest upload (PUT of a module zip); at most 500MiB, the module zip limit" },
    Setting { key: "memory_cache", default: "16MiB", help: "Memory for recently served .info, .mod and small .zip files (each at most 1MiB); 0 turns it off" },
    Setting {
        key: "upstream_failure_ttl",
        default: "5s",
        help: "How long a failed upstream answer (5xx, connection error) is remembered, so retries do not hammer the upstream",
    },
    Setting { key: "shutdown_timeout", default: "60s", help: "On SIGTERM, how long in-flight requests and background zip fetches may take to finish" },
    Setting { key: "log_format", default: "text", help: "Log format: text or json" },
    Setting { key: "log_level", default: "info", help: "Log filter, in RUST_LOG syntax (e.g. info, modvault=debug)" },
    Setting {
        key: "otlp_endpoint",
        default: "",
        help: "Export traces over OTLP/HTTP to this collector base URL (http://HOST:4318); empty: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set",
    },
    Setting { key: "audit_log", default: "", help: "Audit log file (JSON lines); empty: <data_dir>/audit.log; off: none" },
    Setting {
        key: "sumdb.upstream",
        default: DEFAULT_SUMDB,
        help: "Checksum databases to verify against and relay, GOSUMDB syntax, comma-separated; the first verifies; empty or off: no verification",
    },
    Setting {
        key: "sumdb.nosumdb",
        default: "",
        help: "GONOSUMDB-style patterns (comma-separated) never looked up in an upstream checksum database",
    },
    Setting { key: "sumdb.name", default: "", help: "Run modvault's own checksum database under this name" },
    Setting {
        key: "sumdb.signer_key_file",
        default: "",
        help: "Signer key of modvault's own checksum database (made by `modvault sumdb keygen`)",
    },
    Setting {
        key: "gc.max_size",
        default: "",
        help: "Evict refetchable versions, least recently served first, while the store holds more than this (200GB, 512MiB or bytes); empty: no eviction",
    },
    Setting { key: "gc.min_idle", default: "24h", help: "Versions served (or stored) more recently than this are never evicted" },
    Setting { key: "gc.interval", default: "1h", help: "How often `serve` runs eviction (when gc.max_size is set)" },
    Setting { key: "webhook.secret_file", default: "", help: "File holding the secret every /hooks/<provider> endpoint checks, unless the provider has its own" },
    Setting { key: "webhook.github_secret_file", default: "", help: "File holding the GitHub webhook secret (X-Hub-Signature-256)" },
    Setting { key: "webhook.gitlab_secret_file", default: "", help: "File holding the GitLab webhook secret token (X-Gitlab-Token)" },
    Setting { key: "webhook.gitea_secret_file", default: "", help: "File holding the Gitea/Forgejo webhook secret (X-Gitea-Signature, X-Forgejo-Signature)" },
];

/// sum.golang.org with its built-in key, as the go command knows it.
pub const DEFAULT_SUMDB: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8 https://sum.golang.org";

pub use modvault_access::MetricsAccess;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// AWS's standard variables behind each `[s3]` setting, first found wins;
/// they count only where the setting itself is not given.
const AWS_ENV: &[(&str, &[&str])] = &[
    ("s3.endpoint", &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]),
    ("s3.region", &["AWS_REGION", "AWS_DEFAULT_REGION"]),
    ("s3.access_key_id", &["AWS_ACCESS_KEY_ID"]),
    ("s3.secret_access_key", &["AWS_SECRET_ACCESS_KEY"]),
    ("s3.allow_http", &["AWS_ALLOW_HTTP"]),
];

pub use modvault_error::Secret;

/// Where module files are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// In `data_dir`, as a GOPROXY file tree.
    DataDir,
    S3(Box<S3Storage>),
}

/// An S3-compatible bucket, with its connection settings resolved from the
/// `[s3]` settings over AWS's standard environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Storage {
    pub bucket: String,
    /// Without leading or trailing `/`; empty: the bucket's root.
    pub prefix: String,
    /// `None`: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// Both or neither; neither: AWS's credential chain (web identity,
    /// container credentials, instance metadata).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// `AWS_SESSION_TOKEN`, only with an access key from `AWS_ACCESS_KEY_ID`
    /// (temporary credentials come as a set).
    pub session_token: Option<Secret>,
    pub allow_http: bool,
    pub virtual_hosted_style: bool,
    /// Where the bucket and the endpoint came from, for start-up messages.
    pub storage_origin: Origin,
    pub endpoint_origin: Origin,
}

impl S3Storage {
    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Everything a running server needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where module files are kept; `data_dir` stays the local working
    /// directory in every case.
    pub storage: Storage,
    /// Where shared state lives: `None` in `data_dir` (one process), or
    /// PostgreSQL (several replicas). The URL holds a password.
    pub database: Option<Database>,
    /// Serve HTTPS with this certificate chain and key.
    pub tls: Option<TlsFiles>,
    /// The upstream list as written, for logs.
    pub upstream_list: String,
    pub upstream: Vec<ChainEntry>,
    pub list_ttl: Duration,
    pub not_found_ttl: Duration,
    pub upstream_connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub upstream_idle_timeout: Duration,
    pub upstream_retries: u32,
    pub max_concurrent_fetches: usize,
    pub max_concurrent_zip_fetches: usize,
    /// Bytes per second; 0: no minimum.
    pub upstream_min_rate: u64,
    pub shutdown_timeout: Duration,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub max_header_bytes: u64,
    pub max_path_bytes: u64,
    pub max_upload_bytes: u64,
    pub memory_cache: u64,
    pub upstream_failure_ttl: Duration,
    pub metrics_access: MetricsAccess,
    pub auth_failure_limit: u32,
    pub auth_failure_delay: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    /// OTLP collector base URL; `Some("")`: the SDK's own environment
    /// variables name it; `None`: no traces.
    pub otlp_endpoint: Option<String>,
    /// `None`: `audit_log = "off"`.
    pub audit_log: Option<PathBuf>,
    pub sumdb: SumdbConfig,
    /// `[[go_import]]` entries: where modules live, ahead of discovery.
    pub go_imports: Vec<GoImport>,
    /// `[[git_credential]]` entries: credentials modvault hands to git and
    /// sends with go-get discovery.
    pub git_credentials: Vec<GitCredential>,
    pub vcs_timeout: Duration,
    pub max_concurrent_vcs: usize,
    /// `[[rule]]` entries, validated: which source serves which modules.
    pub rules: modvault_rules::RuleSet,
    /// Module patterns anonymous clients may read.
    pub anonymous_read: Vec<String>,
    /// `[gc]`: eviction by policy.
    pub gc: GcConfig,
    /// `[webhook]`: secrets of the repository webhooks.
    pub webhook: WebhookConfig,
}

/// `[gc]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcConfig {
    /// `None`: nothing is evicted.
    pub max_size: Option<u64>,
    pub min_idle: Duration,
    pub interval: Duration,
}

/// `[webhook]` settings, each secret read from its file at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookConfig {
    pub github: Option<Secret>,
    pub gitlab: Option<Secret>,
    pub gitea: Option<Secret>,
}

/// The `database_url` setting: a PostgreSQL URL (secret) and where it came
/// from, for start-up messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub url: Secret,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// A checksum database modvault verifies against and relays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumdbUpstream {
    /// The verifier key, `<name>+<hash>+<key>`.
    pub verifier_key: String,
    pub name: String,
    /// Where to reach it: the explicit URL, or `https://<name>`.
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnSumdb {
    pub name: String,
    pub signer_key_file: PathBuf,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SumdbConfig {
    /// Relayed databases; the first also verifies everything fetched.
    pub upstream: Vec<SumdbUpstream>,
    /// GONOSUMDB patterns, each a `path.Match` glob with prefix semantics.
    pub nosumdb: Vec<String>,
    /// modvault's own database, if configured.
    pub own: Option<OwnSumdb>,
}

/// A static go-import entry, as in a `<meta name="go-import">` tag.
pub use modvault_git::GoImport;

/// A `[[git_credential]]` table as written.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GitCredentialTable {
    host: Option<String>,
    url: Option<String>,
    username: Option<String>,
    password_file: Option<String>,
    token_file: Option<String>,
}

/// A validated `[[git_credential]]` entry: `https://host[:port]` (from
/// `host`) or the `url` prefix, the user name, and the secret file
/// (`password_file` or `token_file`, absolute, never world-readable).
pub use modvault_git::GitCredential;

/// Where a value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(path) => write!(f, "config file {}", path.display()),
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::Flag(flag) => write!(f, "flag --{flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("invalid value {value:?} for {key} (from {origin}): {reason}")]
    InvalidValue {
        key: String,
        value: String,
        origin: Origin,
        reason: String,
    },
    #[error("unknown setting {name} (from {origin})")]
    UnknownKey { name: String, origin: Origin },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// The raw inputs, before layering.
#[derive(Default)]
pub struct Sources {
    /// `(key, value)` pairs given as flags.
    pub flags: Vec<(String, String)>,
    /// The process environment (or a test's).
    pub env: Vec<(String, String)>,
    /// `--config`, if given; otherwise `MODVAULT_CONFIG` from `env` is used.
    pub config_file: Option<PathBuf>,
    /// What relative paths are relative to: the directory modvault was
    /// started in (`None`: the process's current directory).
    pub working_dir: Option<PathBuf>,
}

impl Config {
    /// Layers flags over environment over file over defaults, then parses
    /// and validates every value.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let mut values: BTreeMap<&'static str, (String, Origin)> = SETTINGS
            .iter()
            .map(|s| (s.key, (s.default.to_owned(), Origin::Default)))
            .collect();

        let config_file = sources.config_file.clone().or_else(|| {
            sources
                .env
                .iter()
                .find(|(k, _)| k == CONFIG_FILE_ENV)
                .map(|(_, v)| PathBuf::from(v))
        });
        let mut go_imports = Vec::new();
        let mut git_credentials = Vec::new();
        let mut rules = Vec::new();
        if let Some(path) = &config_file {
            let contents = read_file(path)?;
            go_imports = contents.go_imports;
            git_credentials = contents.git_credentials;
            rules = contents.rules;
            for (key, value) in contents.values {
                let setting = lookup(&key).ok_or_else(|| ConfigError::UnknownKey {
                    name: key.clone(),
                    origin: Origin::File(path.clone()),
                })?;
                values.insert(setting.key, (value, Origin::File(path.clone())));
            }
        }
        for (name, value) in &sources.env {
            if !name.starts_with(ENV_PREFIX) || CLIENT_ENV.contains(&name.as_str()) {
                continue;
            }
            let setting = SETTINGS.iter().find(|s| s.env() == *name).ok_or_else(|| {
                ConfigError::UnknownKey {
                    name: name.clone(),
                    origin: Origin::Env(name.clone()),
                }
            })?;
            values.insert(setting.key, (value.clone(), Origin::Env(name.clone())));
        }
        for (key, value) in &sources.flags {
            let setting = lookup(key).ok_or_else(|| ConfigError::UnknownKey {
                name: key.clone(),
                origin: Origin::Flag(key.clone()),
            })?;
            values.insert(setting.key, (value.clone(), Origin::Flag(setting.flag())));
        }

        let working_dir = match &sources.working_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().map_err(|e| ConfigError::File {
                path: PathBuf::from("."),
                reason: format!("cannot read the working directory: {e}"),
            })?,
        };
        // AWS's variables fill in the [s3] settings nobody set.
        for (key, variables) in AWS_ENV {
            let slot = values
                .get_mut(key)
                .expect("every [s3] setting is in SETTINGS");
            if slot.1 != Origin::Default {
                continue;
            }
            let found = variables.iter().find_map(|name| {
                sources
                    .env
                    .iter()
                    .find(|(k, v)| k == name && !v.trim().is_empty())
            });
            if let Some((name, value)) = found {
                *slot = (value.clone(), Origin::Env(name.clone()));
            }
        }
        let session_token = sources
            .env
            .iter()
            .find(|(k, v)| k == "AWS_SESSION_TOKEN" && !v.trim().is_empty())
            .map(|(_, v)| Secret::new(v.trim()));
        let layered = Layered {
            values,
            working_dir,
        };
        let upstream_list = layered.get("upstream").0.clone();
        let nosumdb = layered.parse("sumdb.nosumdb", |v| {
            let patterns = split_list(v);
            for pattern in &patterns {
                parse_pattern_list(pattern).map_err(|e| e.to_string())?;
            }
            Ok(patterns)
        })?;
        Ok(Config {
            listen: layered.parse("listen", |v| {
                v.parse::<SocketAddr>().map_err(|e| e.to_string())
            })?,
            data_dir: layered.parse("data_dir", |v| {
                if v.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(layered.absolute(v))
                }
            })?,
            storage: storage(&layered, session_token)?,
            database: layered.parse("database_url", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                    return Err("expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into());
                }
                Ok(Some(Database {
                    url: Secret::new(v),
                    origin: layered.get("database_url").1.clone(),
                }))
            })?,
            tls: tls_files(&layered)?,
            upstream: layered.parse("upstream", |v| {
                parse_proxy_list(v).map_err(|e| e.to_string())
            })?,
            upstream_list,
            list_ttl: layered.parse("list_ttl", parse_duration)?,
            not_found_ttl: layered.parse("not_found_ttl", parse_duration)?,
            upstream_connect_timeout: layered
                .parse("upstream_connect_timeout", parse_positive_duration)?,
            upstream_timeout: layered.parse("upstream_timeout", parse_positive_duration)?,
            upstream_idle_timeout: layered
                .parse("upstream_idle_timeout", parse_positive_duration)?,
            upstream_retries: layered.parse("upstream_retries", |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 10)
                    .ok_or_else(|| "expected a whole number from 0 to 10".to_owned())
            })?,
            max_concurrent_fetches: layered.parse("max_concurrent_fetches", |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| "expected a whole number of at least 1".to_owned())
            })?,
            max_concurrent_zip_fetches: layered.parse("max_concurrent_zip_fetches", |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| "expected a whole number of at least 1".to_owned())
            })?,
            upstream_min_rate: layered.parse("upstream_min_rate", parse_size)?,
            shutdown_timeout: layered.parse("shutdown_timeout", parse_duration)?,
            max_connections: layered.parse("max_connections", |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| "expected a whole number of at least 1".to_owned())
            })?,
            header_timeout: layered.parse("header_timeout", parse_positive_duration)?,
            idle_timeout: layered.parse("idle_timeout", parse_positive_duration)?,
            body_timeout: layered.parse("body_timeout", parse_positive_duration)?,
            max_header_bytes: layered.parse("max_header_bytes", |v| {
                parse_size(v).and_then(|n| if n < 8192 { Err("must be at least 8KiB".into()) } else { Ok(n) })
            })?,
            max_path_bytes: layered.parse("max_path_bytes", |v| {
                parse_size(v).and_then(|n| if n < 256 { Err("must be at least 256".into()) } else { Ok(n) })
            })?,
            memory_cache: layered.parse("memory_cache", parse_size)?,
            max_upload_bytes: layered.parse("max_upload_bytes", |v| {
                let limit = modvault_core::modzip::MAX_ZIP_FILE;
                parse_size(v).and_then(|n| {
                    if n == 0 || n > limit {
                        Err(format!("must be between 1 and {limit} bytes (500MiB, the module zip limit)"))
                    } else {
                        Ok(n)
                    }
                })
            })?,
            upstream_failure_ttl: layered.parse("upstream_failure_ttl", parse_duration)?,
            metrics_access: layered.parse("auth.metrics", |v| match v {
                "public" => Ok(MetricsAccess::Public),
                "loopback" => Ok(MetricsAccess::Loopback),
                "token" => Ok(MetricsAccess::Token),
                _ => Err("expected loopback, token or public".into()),
            })?,
            auth_failure_limit: layered.parse("auth.failure_limit", |v| {
                v.parse::<u32>().map_err(|_| "expected a whole number".to_owned())
            })?,
            auth_failure_delay: layered.parse("auth.failure_delay", parse_duration)?,
            log_format: layered.parse("log_format", |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected text or json".into()),
            })?,
            log_level: layered.parse("log_level", |v| {
                tracing_subscriber::EnvFilter::try_new(v)
                    .map(|_| v.to_owned())
                    .map_err(|e| format!("not a log filter (RUST_LOG syntax, e.g. info or info,modvault_proxy=debug): {e}"))
            })?,
            otlp_endpoint: layered.parse("otlp_endpoint", |v| {
                if v.is_empty() {
                    let from_env = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
                        .iter()
                        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
                    return Ok(from_env.then(String::new));
                }
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err("expected an http:// or https:// URL (the collector's OTLP/HTTP base, e.g. http://127.0.0.1:4318)".into());
                }
                Ok(Some(v.to_owned()))
            })?,
            audit_log: layered.parse("audit_log", |v| {
                Ok::<_, String>(match v {
                    "off" => None,
                    "" => Some(layered.absolute(&layered.get("data_dir").0).join("audit.log")),
                    path => Some(layered.absolute(path)),
                })
            })?,
            sumdb: SumdbConfig {
                upstream: layered.parse("sumdb.upstream", parse_sumdb_list)?,
                nosumdb: nosumdb.clone(),
                own: own_sumdb(&layered)?,
            },
            go_imports: validate_go_imports(go_imports, config_file.as_deref())?,
            git_credentials: validate_git_credentials(
                git_credentials,
                config_file.as_deref(),
                &layered,
            )?,
            vcs_timeout: layered.parse("vcs_timeout", parse_positive_duration)?,
            max_concurrent_vcs: layered.parse("max_concurrent_vcs", |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| "expected a whole number of at least 1".to_owned())
            })?,
            rules: modvault_rules::RuleSet::new(rules)
                .map_err(|e| ConfigError::InvalidValue {
                    key: format!("rule[{}].{}", e.index, e.field),
                    value: String::new(),
                    origin: Origin::File(config_file.clone().unwrap_or_default()),
                    reason: e.reason,
                })?
                .with_nosumdb(nosumdb),
            gc: GcConfig {
                max_size: layered.parse("gc.max_size", |v| {
                    if v.is_empty() {
                        return Ok(None);
                    }
                    parse_size(v).and_then(|n| if n == 0 { Err("must be more than 0 (empty: no eviction)".into()) } else { Ok(Some(n)) })
                })?,
                min_idle: layered.parse("gc.min_idle", parse_duration)?,
                interval: layered.parse("gc.interval", parse_positive_duration)?,
            },
            webhook: webhook_config(&layered)?,
            anonymous_read: layered.parse("auth.anonymous_read", |v| {
                let patterns = split_list(v);
                modvault_access::AccessPolicy::new(patterns.clone())
                    .map(|_| patterns)
                    .map_err(|e| e.to_string())
            })?,
        })
    }
}

/// `storage` and, for a bucket, the `[s3]` settings.
fn storage(layered: &Layered, session_token: Option<Secret>) -> Result<Storage, ConfigError> {
    let s3_keys = SETTINGS.iter().filter(|s| s.key.starts_with("s3."));
    let (value, storage_origin) = layered.get("storage");
    let value = value.trim();
    if value.is_empty() {
        // Settings meant for a bucket, given without one, are a mistake;
        // AWS's variables may be there for other programs.
        for setting in s3_keys {
            let (value, origin) = layered.get(setting.key);
            let aws = matches!(origin, Origin::Env(name) if name.starts_with("AWS_"));
            if !value.trim().is_empty() && !aws {
                return Err(layered.invalid(
                    setting.key,
                    "storage is not an s3:// bucket, so this setting would have no effect",
                ));
            }
        }
        return Ok(Storage::DataDir);
    }
    let Some(location) = value.strip_prefix("s3://") else {
        return Err(layered.invalid(
            "storage",
            "expected empty (module files in data_dir) or s3://BUCKET[/PREFIX]",
        ));
    };
    let (bucket, prefix) = match location.split_once('/') {
        Some((bucket, prefix)) => (bucket, prefix.trim_matches('/')),
        None => (location, ""),
    };
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !bucket.starts_with(['.', '-'])
        && !bucket.ends_with(['.', '-']);
    if !valid_bucket {
        return Err(layered.invalid(
            "storage",
            format!("invalid bucket name {bucket:?}: 3 to 63 lowercase letters, digits, dots and hyphens"),
        ));
    }
    let bad_prefix = prefix.contains(['\\', '\0'])
        || (!prefix.is_empty() && prefix.split('/').any(|e| matches!(e, "" | "." | "..")));
    if bad_prefix {
        return Err(layered.invalid(
            "storage",
            format!("invalid prefix {prefix:?}: a relative path such as go/modules"),
        ));
    }
    let text = |key: &str| {
        let value = layered.get(key).0.trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let flag = |key: &str| -> Result<Option<bool>, ConfigError> {
        match layered.get(key).0.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(layered.invalid(key, "expected true or false")),
        }
    };
    let allow_http = flag("s3.allow_http")?.unwrap_or(false);
    let endpoint = match text("s3.endpoint") {
        None => None,
        Some(endpoint) => {
            let url = modvault_upstream::Url::parse(&endpoint)
                .map_err(|e| layered.invalid("s3.endpoint", e.to_string()))?;
            match url.scheme() {
                "https" => {}
                "http" if allow_http => {}
                "http" => return Err(layered.invalid(
                    "s3.endpoint",
                    "a plain http:// endpoint needs s3.allow_http = true (or AWS_ALLOW_HTTP=true)",
                )),
                _ => {
                    return Err(
                        layered.invalid("s3.endpoint", "expected an http:// or https:// URL")
                    )
                }
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(layered.invalid(
                    "s3.endpoint",
                    "credentials go in s3.access_key_id and s3.secret_access_key, not in the URL",
                ));
            }
            Some(endpoint.trim_end_matches('/').to_owned())
        }
    };
    let (access_key_id, secret_access_key) =
        match (text("s3.access_key_id"), text("s3.secret_access_key")) {
            (None, None) => (None, None),
            (Some(_), None) => {
                return Err(layered.invalid(
                    "s3.access_key_id",
                    "s3.secret_access_key (or AWS_SECRET_ACCESS_KEY) must be set too",
                ))
            }
            (None, Some(_)) => {
                return Err(layered.invalid(
                    "s3.secret_access_key",
                    "s3.access_key_id (or AWS_ACCESS_KEY_ID) must be set too",
                ))
            }
            (Some(id), Some(secret)) => (Some(id), Some(Secret::new(secret))),
        };
    let from_aws_env = matches!(&layered.get("s3.access_key_id").1, Origin::Env(name) if name == "AWS_ACCESS_KEY_ID");
    Ok(Storage::S3(Box::new(S3Storage {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        region: text("s3.region").unwrap_or_else(|| "us-east-1".into()),
        virtual_hosted_style: flag("s3.virtual_hosted_style")?.unwrap_or(endpoint.is_none()),
        endpoint,
        access_key_id,
        secret_access_key,
        session_token: session_token.filter(|_| from_aws_env),
        allow_http,
        storage_origin: storage_origin.clone(),
        endpoint_origin: layered.get("s3.endpoint").1.clone(),
    })))
}

/// Both TLS files or neither; both must be readable at start.
fn tls_files(layered: &Layered) -> Result<Option<TlsFiles>, ConfigError> {
    let Some((cert, key)) = layered.pair("tls_cert_file", "tls_key_file")? else {
        return Ok(None);
    };
    for (setting, file) in [("tls_cert_file", cert), ("tls_key_file", key)] {
        std::fs::metadata(layered.absolute(file))
            .map_err(|e| layered.invalid(setting, format!("cannot read: {e}")))?;
    }
    Ok(Some(TlsFiles {
        cert_file: layered.absolute(cert),
        key_file: layered.absolute(key),
    }))
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// GOSUMDB syntax per entry (cmd/go/internal/modfetch/sumdb.go `dbDial`):
/// a verifier key or the known name `sum.golang.org`, optionally followed by
/// the URL to reach it; `off` alone turns verification off.
fn parse_sumdb_list(value: &str) -> Result<Vec<SumdbUpstream>, String> {
    let entries = split_list(value);
    if entries == ["off"] {
        return Ok(Vec::new());
    }
    entries.iter().map(|entry| parse_gosumdb(entry)).collect()
}

fn parse_gosumdb(entry: &str) -> Result<SumdbUpstream, String> {
    let entry = if entry == "sum.golang.google.cn" {
        "sum.golang.org https://sum.golang.google.cn"
    } else {
        entry
    };
    let mut fields: Vec<&str> = entry.split_whitespace().collect();
    if fields.first() == Some(&"sum.golang.org") {
        fields[0] = DEFAULT_SUMDB.split_whitespace().next().unwrap_or_default();
    }
    let (key, url) = match fields.as_slice() {
        [key] => (*key, None),
        [key, url] => (*key, Some(*url)),
        _ => {
            return Err(format!(
                "{entry:?}: want a verifier key, optionally followed by a URL"
            ))
        }
    };
    let verifier =
        modvault_sumdb::note::Verifier::new(key).map_err(|e| format!("{entry:?}: {e}"))?;
    let name = verifier.name().to_owned();
    let direct = modvault_upstream::Url::parse(&format!("https://{name}"))
        .ok()
        .filter(|u| {
            !name.ends_with('/')
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
        });
    if direct.is_none() {
        return Err(format!(
            "invalid checksum database name {name:?} (must be host[/path])"
        ));
    }
    let url = match url {
        Some(url) => {
            let parsed = modvault_upstream::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
            if !matches!(parsed.scheme(), "https" | "http" | "file") {
                return Err(format!("{url:?}: unsupported scheme"));
            }
            url.trim_end_matches('/').to_owned()
        }
        None => format!("https://{name}"),
    };
    Ok(SumdbUpstream {
        verifier_key: key.to_owned(),
        name,
        url,
    })
}

/// Both `sumdb.name` and `sumdb.signer_key_file`, or neither; the key file
/// must hold a signer key for that name.
fn own_sumdb(layered: &Layered) -> Result<Option<OwnSumdb>, ConfigError> {
    let Some((name, file)) = layered.pair("sumdb.name", "sumdb.signer_key_file")? else {
        return Ok(None);
    };
    if !modvault_sumdb::note::is_valid_name(name) {
        return Err(layered.invalid("sumdb.name", "not a valid checksum database name"));
    }
    let key_error = |reason: String| layered.invalid("sumdb.signer_key_file", reason);
    let text = std::fs::read_to_string(layered.absolute(file))
        .map_err(|e| key_error(format!("cannot read: {e}")))?;
    let signer = modvault_sumdb::note::Signer::new(text.trim())
        .map_err(|e| key_error(format!("not a signer key: {e}")))?;
    if signer.name() != name {
        return Err(key_error(format!(
            "the key is for {:?}, not sumdb.name {name:?}",
            signer.name()
        )));
    }
    Ok(Some(OwnSumdb {
        name: name.to_owned(),
        signer_key_file: layered.absolute(file),
    }))
}

/// Each provider's secret file, else `webhook.secret_file`; read now, so a
/// missing or empty file stops start-up naming its setting.
fn webhook_config(layered: &Layered) -> Result<WebhookConfig, ConfigError> {
    let read = |key: &str| -> Result<Option<Secret>, ConfigError> {
        let file = layered.get(key).0.trim();
        if file.is_empty() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(layered.absolute(file))
            .map_err(|e| layered.invalid(key, format!("cannot read: {e}")))?;
        let secret = text.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(layered.invalid(key, "the file is empty"));
        }
        Ok(Some(Secret::new(secret)))
    };
    let shared = read("webhook.secret_file")?;
    Ok(WebhookConfig {
        github: read("webhook.github_secret_file")?.or_else(|| shared.clone()),
        gitlab: read("webhook.gitlab_secret_file")?.or_else(|| shared.clone()),
        gitea: read("webhook.gitea_secret_file")?.or(shared),
    })
}

fn validate_go_imports(
    entries: Vec<GoImport>,
    file: Option<&Path>,
) -> Result<Vec<GoImport>, ConfigError> {
    let origin = Origin::File(file.map(Path::to_owned).unwrap_or_default());
    for (i, entry) in entries.iter().enumerate() {
        let invalid = |field: &str, value: &str, reason: String| ConfigError::InvalidValue {
            key: format!("go_import[{i}].{field}"),
            value: value.to_owned(),
            origin: origin.clone(),
            reason,
        };
        modvault_core::path::check_import_path(&entry.prefix)
            .map_err(|e| invalid("prefix", &entry.prefix, e.to_string()))?;
        if !matches!(entry.vcs.as_str(), "git" | "mod") {
            return Err(invalid("vcs", &entry.vcs, "expected git or mod".into()));
        }
        if !(entry.vcs == "git" && is_scp_like(&entry.repo)) {
            modvault_upstream::Url::parse(&entry.repo)
                .map_err(|e| invalid("repo", &entry.repo, e.to_string()))?;
        }
        if let Some(subdir) = &entry.subdir {
            if subdir.starts_with(['/', '-'])
                || subdir.split('/').any(|e| e == ".." || e.is_empty())
            {
                return Err(invalid(
                    "subdir",
                    subdir,
                    "must be a relative path inside the repository".into(),
                ));
            }
        }
    }
    Ok(entries)
}

/// git's scp-like syntax, `[user@]host:path` (no `://`, no slash before
/// the first colon), with a host that cannot be taken for an ssh option.
fn is_scp_like(repo: &str) -> bool {
    let Some((authority, path)) = repo.split_once(':') else {
        return false;
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    !repo.contains("://")
        && !authority.contains('/')
        && !path.is_empty()
        && !host.is_empty()
        && !authority.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `[[git_credential]]`: `host` or `url` (https only), `username`, and
/// `password_file` or `token_file`, which must exist, hold the secret on
/// its first line, and not be readable by everyone.
fn validate_git_credentials(
    entries: Vec<GitCredentialTable>,
    file: Option<&Path>,
    layered: &Layered,
) -> Result<Vec<GitCredential>, ConfigError> {
    let origin = Origin::File(file.map(Path::to_owned).unwrap_or_default());
    let mut valid = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let invalid = |field: &str, value: &str, reason: String| ConfigError::InvalidValue {
            key: format!("git_credential[{i}].{field}"),
            value: value.to_owned(),
            origin: origin.clone(),
            reason,
        };
        let url_prefix = match (&entry.host, &entry.url) {
            (Some(host), None) => {
                let host = host.trim().to_ascii_lowercase();
                let parsed = modvault_upstream::Url::parse(&format!("https://{host}/"));
                let plain = !host.is_empty()
                    && !host.contains(['/', '@', '?', '#'])
                    && parsed.is_ok_and(|u| u.host_str().is_some() && u.path() == "/");
                if !plain {
                    return Err(invalid(
                        "host",
                        &host,
                        "expected a host name, optionally with :port (use url for a URL prefix)"
                            .into(),
                    ));
                }
                format!("https://{host}")
            }
            (None, Some(url)) => {
                let parsed = modvault_upstream::Url::parse(url)
                    .map_err(|e| invalid("url", url, e.to_string()))?;
                if parsed.scheme() != "https" {
                    return Err(invalid(
                        "url",
                        url,
                        "must be an https:// URL: credentials are never sent over plain connections"
                            .into(),
                    ));
                }
                if !parsed.username().is_empty() || parsed.password().is_some() {
                    return Err(invalid(
                        "url",
                        url,
                        "must not hold credentials: give username and a password_file or token_file"
                            .into(),
                    ));
                }
                if parsed.query().is_some() || parsed.fragment().is_some() {
                    return Err(invalid(
                        "url",
                        url,
                        "must be a URL prefix without ? or #".into(),
                    ));
                }
                let rest = &url["https://".len()..];
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                format!(
                    "https://{}{}",
                    authority.to_ascii_lowercase(),
                    path.trim_end_matches('/')
                )
            }
            (Some(_), Some(url)) => {
                return Err(invalid("url", url, "give host or url, not both".into()))
            }
            (None, None) => return Err(invalid("host", "", "host or url is required".into())),
        };
        let username = entry.username.unwrap_or_default();
        if username.is_empty() || username.contains(':') || username.chars().any(char::is_control) {
            return Err(invalid(
                "username",
                &username,
                "required: a user name without ':' (for a token, whatever the server expects, e.g. oauth2 for GitLab)".into(),
            ));
        }
        let (field, path) = match (entry.password_file, entry.token_file) {
            (Some(path), None) => ("password_file", path),
            (None, Some(path)) => ("token_file", path),
            (Some(_), Some(path)) => {
                return Err(invalid(
                    "token_file",
                    &path,
                    "give password_file or token_file, not both".into(),
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "token_file",
                    "",
                    "password_file or token_file is required".into(),
                ))
            }
        };
        let secret_file = layered.absolute(&path);
        check_secret_file(&secret_file).map_err(|reason| invalid(field, &path, reason))?;
        valid.push(GitCredential {
            url_prefix,
            username,
            secret_file,
        });
    }
    Ok(valid)
}

/// A file holding a password or token: readable, not readable by everyone,
/// with something on its first line.
fn check_secret_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o004 != 0 {
        return Err(format!(
            "{} is readable by everyone (mode {mode:03o}); make it private first, e.g. chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.split('\n').next().unwrap_or_default().is_empty() {
        return Err(format!(
            "{} has nothing on its first line (the secret)",
            path.display()
        ));
    }
    Ok(())
}

/// Settings whose values never appear in a message.
const SECRET_SETTINGS: &[&str] = &["s3.secret_access_key", "database_url"];

fn shown_value(key: &str, value: &str) -> String {
    if SECRET_SETTINGS.contains(&key) {
        "***".into()
    } else {
        value.to_owned()
    }
}

fn lookup(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

struct Layered {
    values: BTreeMap<&'static str, (String, Origin)>,
    working_dir: PathBuf,
}

impl Layered {
    /// Path settings are resolved once, here: every later user (git runs in
    /// other directories, with `GIT_DIR` set) gets an absolute path.
    fn absolute(&self, value: &str) -> PathBuf {
        let path = Path::new(value);
        let joined = if path.is_absolute() {
            path.to_owned()
        } else {
            self.working_dir.join(path)
        };
        // `./modvault-data` is logged as `/srv/modvault-data`, not `/srv/./modvault-data`.
        joined
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    }

    fn get(&self, key: &str) -> &(String, Origin) {
        self.values.get(key).expect("every setting has a default")
    }

    /// An error about the current value of `key`.
    fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        let (value, origin) = self.get(key);
        ConfigError::InvalidValue {
            key: key.to_owned(),
            value: shown_value(key, value),
            origin: origin.clone(),
            reason: reason.into(),
        }
    }

    /// Two settings that only make sense together: both set, or neither.
    fn pair(&self, first: &str, second: &str) -> Result<Option<(&str, &str)>, ConfigError> {
        match (self.get(first).0.trim(), self.get(second).0.trim()) {
            ("", "") => Ok(None),
            (_, "") => Err(self.invalid(first, format!("{second} must be set too"))),
            ("", _) => Err(self.invalid(second, format!("{first} must be set too"))),
            (a, b) => Ok(Some((a, b))),
        }
    }

    fn parse<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (value, origin) = self.get(key);
        parse(value.trim()).map_err(|reason| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: shown_value(key, value),
            origin: origin.clone(),
            reason,
        })
    }
}

struct FileContents {
    /// Settings as text, keyed like `SETTINGS` (`[sumdb] name` is `sumdb.name`).
    values: Vec<(String, String)>,
    go_imports: Vec<GoImport>,
    git_credentials: Vec<GitCredentialTable>,
    rules: Vec<modvault_rules::RuleConfig>,
}

/// Reads a TOML file: scalar settings (top level or in a `[table]`) as
/// text, lists of strings joined with commas, `[[go_import]]` as entries.
fn read_file(path: &Path) -> Result<FileContents, ConfigError> {
    let origin = || Origin::File(path.to_owned());
    let file_error = |reason: String| ConfigError::File {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
    let mut contents = FileContents {
        values: Vec::new(),
        go_imports: Vec::new(),
        git_credentials: Vec::new(),
        rules: Vec::new(),
    };
    let mut flat: Vec<(String, toml::Value)> = Vec::new();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("rule", value) => contents.rules = table_list("rule", value, origin())?,
            ("go_import", value) => contents.go_imports = table_list("go_import", value, origin())?,
            ("git_credential", value) => {
                contents.git_credentials = table_list("git_credential", value, origin())?
            }
            (_, toml::Value::Table(inner))
                if SETTINGS
                    .iter()
                    .any(|s| s.key.starts_with(&format!("{key}."))) =>
            {
                flat.extend(inner.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)));
            }
            (_, value) => flat.push((key, value)),
        }
    }
    for (key, value) in flat {
        if lookup(&key).is_none() {
            return Err(ConfigError::UnknownKey {
                name: key,
                origin: origin(),
            });
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => items
                .iter()
                .filter_map(toml::Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(ConfigError::InvalidValue {
                    key,
                    value: other.to_string(),
                    origin: origin(),
                    reason: format!(
                        "expected a string, number or list of strings, not a {}",
                        other.type_str()
                    ),
                })
            }
        };
        contents.values.push((key, text));
    }
    Ok(contents)
}

/// An array of tables (`[[rule]]`, `[[go_import]]`) as typed entries.
fn table_list<T: serde::de::DeserializeOwned>(
    key: &str,
    value: toml::Value,
    origin: Origin,
) -> Result<Vec<T>, ConfigError> {
    value
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: String::new(),
            origin,
            reason: e.message().to_owned(),
        })
}

/// `60s`, `5m`, `1h30m`, `250ms`, or a bare number of seconds.
fn parse_duration(value: &str) -> Result<Duration, String> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(value).map_err(|_| "expected a duration such as 60s or 5m".to_owned())
}

/// `500MiB`, `64KiB`, `200GB`, `1.5GiB` or a bare number of bytes: the
/// binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) units, as
/// people write them.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => {
            return Err("expected a size such as 500MiB, 64KiB, 200GB or a number of bytes".into())
        }
    };
    let number: f64 = number.parse().map_err(|_| {
        "expected a size such as 500MiB, 64KiB, 200GB or a number of bytes".to_owned()
    })?;
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err("size out of range".into());
    }
    Ok(bytes as u64)
}

fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    parse_duration(value).and_then(|d| {
        if d.is_zero() {
            Err("must be greater than zero".into())
        } else {
            Ok(d)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = Config::load(&Sources::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(
            config.data_dir,
            std::env::current_dir().unwrap().join("modvault-data")
        );
        assert_eq!(config.upstream.len(), 2);
        assert_eq!(config.list_ttl, Duration::from_secs(60));
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("modvault.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\nlist_ttl = 5\ndata_dir = \"/from/file\"\nlog_format = \"json\"\n").unwrap();
        let sources = Sources {
            flags: vec![("listen".into(), "127.0.0.1:3".into())],
            env: env(&[
                ("MODVAULT_LISTEN", "127.0.0.1:2"),
                ("MODVAULT_DATA_DIR", "/from/env"),
                ("PATH", "/bin"),
            ]),
            config_file: Some(file),
            working_dir: None,
        };
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.listen.port(), 3);
        assert_eq!(config.data_dir, PathBuf::from("/from/env"));
        assert_eq!(config.list_ttl, Duration::from_secs(5));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn config_file_from_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "upstream = \"off\"\n").unwrap();
        let sources = Sources {
            env: env(&[("MODVAULT_CONFIG", file.to_str().unwrap())]),
            ..Sources::default()
        };
        assert_eq!(Config::load(&sources).unwrap().upstream_list, "off");
    }

    #[test]
    fn errors_name_the_key_and_its_origin() {
        let bad_env = Sources {
            env: env(&[("MODVAULT_LIST_TTL", "fast")]),
            ..Sources::default()
        };
        assert_eq!(
            Config::load(&bad_env).unwrap_err().to_string(),
            "invalid value \"fast\" for list_ttl (from environment variable MODVAULT_LIST_TTL): expected a duration such as 60s or 5m"
        );
        let typo = Sources {
            env: env(&[("MODVAULT_LISTN", "x")]),
            ..Sources::default()
        };
        assert_eq!(
            Config::load(&typo).unwrap_err().to_string(),
            "unknown setting MODVAULT_LISTN (from environment variable MODVAULT_LISTN)"
        );
        let bad_flag = Sources {
            flags: vec![("upstream".into(), "ftp://x".into())],
            ..Sources::default()
        };
        let message = Config::load(&bad_flag).unwrap_err().to_string();
        assert!(
            message.starts_with("invalid value \"ftp://x\" for upstream (from flag --upstream): "),
            "{message}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "lissten = \"x\"\n").unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            message,
            format!(
                "unknown setting lissten (from config file {})",
                file.display()
            )
        );
        std::fs::write(&file, "listen = [1]\n").unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("for listen (from config file"),
            "{message}"
        );
        std::fs::write(&file, "listen = \n").unwrap();
        assert!(matches!(
            Config::load(&Sources {
                config_file: Some(file),
                ..Sources::default()
            }),
            Err(ConfigError::File { .. })
        ));
    }

    #[test]
    fn sumdb_settings_from_a_table_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let (skey, vkey) = modvault_sumdb::note::generate_key("sum.corp.example", [7; 32]);
        let key_file = dir.path().join("sumdb.key");
        std::fs::write(&key_file, &skey).unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            format!(
                "[sumdb]\nupstream = [\"sum.golang.org\", \"{vkey} http://127.0.0.1:9/sumdb/sum.corp.example\"]\n\
                 nosumdb = [\"git.corp.example/*\"]\nname = \"sum.corp.example\"\nsigner_key_file = \"{}\"\n\
                 [[go_import]]\nprefix = \"golang.org/x/mod\"\nvcs = \"git\"\nrepo = \"https://go.googlesource.com/mod\"\n",
                key_file.display()
            ),
        )
        .unwrap();
        let sources = Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        };
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.sumdb.upstream.len(), 2);
        assert_eq!(config.sumdb.upstream[0].name, "sum.golang.org");
        assert_eq!(config.sumdb.upstream[0].url, "https://sum.golang.org");
        assert_eq!(
            config.sumdb.upstream[1].url,
            "http://127.0.0.1:9/sumdb/sum.corp.example"
        );
        assert_eq!(config.sumdb.nosumdb, ["git.corp.example/*"]);
        assert_eq!(config.sumdb.own.as_ref().unwrap().name, "sum.corp.example");
        assert_eq!(config.go_imports[0].repo, "https://go.googlesource.com/mod");

        let off = Sources {
            env: env(&[("MODVAULT_SUMDB_UPSTREAM", "off")]),
            ..Sources::default()
        };
        assert!(Config::load(&off).unwrap().sumdb.upstream.is_empty());
        assert_eq!(
            Config::load(&Sources::default()).unwrap().sumdb.upstream[0].name,
            "sum.golang.org"
        );

        let wrong_name = Sources {
            env: env(&[
                ("MODVAULT_SUMDB_NAME", "other.example"),
                ("MODVAULT_SUMDB_SIGNER_KEY_FILE", key_file.to_str().unwrap()),
            ]),
            ..Sources::default()
        };
        let message = Config::load(&wrong_name).unwrap_err().to_string();
        assert!(message.contains("for sumdb.signer_key_file (from environment variable MODVAULT_SUMDB_SIGNER_KEY_FILE)"), "{message}");
        let tls = Sources {
            flags: vec![("tls_key_file".into(), "/nonexistent.key".into())],
            ..Sources::default()
        };
        assert_eq!(
            Config::load(&tls).unwrap_err().to_string(),
            "invalid value \"/nonexistent.key\" for tls_key_file (from flag --tls-key-file): tls_cert_file must be set too"
        );
        let half = Sources {
            env: env(&[("MODVAULT_SUMDB_NAME", "x.example")]),
            ..Sources::default()
        };
        assert!(Config::load(&half)
            .unwrap_err()
            .to_string()
            .contains("sumdb.signer_key_file must be set too"));
        let bad_key = Sources {
            flags: vec![("sumdb.upstream".into(), "sum.example+00000000+AAAA".into())],
            ..Sources::default()
        };
        assert!(Config::load(&bad_key)
            .unwrap_err()
            .to_string()
            .contains("for sumdb.upstream (from flag --sumdb-upstream)"));

        std::fs::write(&file, "[[rule]]\nmatch = \"git.corp.example/*\"\nsource = \"direct\"\nsumdb = false\n[auth]\nanonymous_read = []\n").unwrap();
        let config = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(
            config.rules.route("git.corp.example/x").source,
            modvault_rules::Source::Direct
        );
        assert!(config.anonymous_read.is_empty());
        std::fs::write(&file, "[[rule]]\nmatch = \"[\"\n").unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(message.contains("for rule[0].match"), "{message}");
        std::fs::write(
            &file,
            "[[rule]]\nmatch = \"x.example\"\nsource = \"nowhere\"\n",
        )
        .unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("for rule") && message.contains("nowhere"),
            "{message}"
        );
        std::fs::write(&file, "[sumdb]\nnosumbd = \"x\"\n").unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file.clone()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with("unknown setting sumdb.nosumbd"),
            "{message}"
        );
        std::fs::write(
            &file,
            "[[go_import]]\nprefix = \"example.com/x\"\nvcs = \"svn\"\nrepo = \"https://x\"\n",
        )
        .unwrap();
        let message = Config::load(&Sources {
            config_file: Some(file),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(message.contains("for go_import[0].vcs"), "{message}");
    }

    #[test]
    fn path_settings_are_made_absolute_against_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (skey, _) = modvault_sumdb::note::generate_key("sum.corp.example", [7; 32]);
        std::fs::write(dir.path().join("sumdb.key"), &skey).unwrap();
        for name in ["cert.pem", "key.pem"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let sources = Sources {
            env: env(&[
                ("MODVAULT_DATA_DIR", "mvdata"),
                ("MODVAULT_TLS_CERT_FILE", "./cert.pem"),
                ("MODVAULT_TLS_KEY_FILE", "key.pem"),
                ("MODVAULT_SUMDB_NAME", "sum.corp.example"),
                ("MODVAULT_SUMDB_SIGNER_KEY_FILE", "sumdb.key"),
            ]),
            working_dir: Some(dir.path().to_owned()),
            ..Sources::default()
        };
        // The files are only found relative to the working directory given,
        // not the test process's own.
        let config = Config::load(&sources).unwrap();
        assert_eq!(config.data_dir, dir.path().join("mvdata"));
        let tls = config.tls.unwrap();
        assert_eq!(
            (tls.cert_file, tls.key_file),
            (dir.path().join("cert.pem"), dir.path().join("key.pem"))
        );
        assert_eq!(
            config.sumdb.own.unwrap().signer_key_file,
            dir.path().join("sumdb.key")
        );
        let absolute = Sources {
            env: env(&[("MODVAULT_DATA_DIR", "/srv/mv")]),
            ..Sources::default()
        };
        assert_eq!(
            Config::load(&absolute).unwrap().data_dir,
            PathBuf::from("/srv/mv")
        );
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("200GB"), Ok(200_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("10 parsecs").is_err());
        let big = Sources {
            env: env(&[("MODVAULT_MAX_UPLOAD_BYTES", "1GiB")]),
            ..Sources::default()
        };
        assert!(Config::load(&big)
            .unwrap_err()
            .to_string()
            .contains("for max_upload_bytes"));
        let metrics = Sources {
            env: env(&[("MODVAULT_AUTH_METRICS", "everyone")]),
            ..Sources::default()
        };
        assert!(Config::load(&metrics)
            .unwrap_err()
            .to_string()
            .contains("expected loopback, token or public"));
    }

    #[test]
    fn a_bad_log_level_stops_start_up() {
        let bad = Sources {
            env: env(&[("MODVAULT_LOG_LEVEL", "info,=")]),
            ..Sources::default()
        };
        let message = Config::load(&bad).unwrap_err().to_string();
        assert!(
            message
                .starts_with("invalid value \"info,=\" for log_level (from environment variable"),
            "{message}"
        );
        let good = Sources {
            env: env(&[("MODVAULT_LOG_LEVEL", "warn,modvault_proxy=debug")]),
            ..Sources::default()
        };
        assert_eq!(
            Config::load(&good).unwrap().log_level,
            "warn,modvault_proxy=debug"
        );
    }

    #[test]
    fn git_credentials_are_validated_and_their_files_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = |name: &str, mode: u32| {
            let path = dir.path().join(name);
            std::fs::write(&path, "tok-123\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        secret("gitlab.token", 0o600);
        secret("group.password", 0o640);
        secret("open.token", 0o644);
        let file = dir.path().join("m.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            Config::load(&Sources {
                config_file: Some(file.clone()),
                working_dir: Some(dir.path().to_owned()),
                ..Sources::default()
            })
        };
        let config = load(
            "[[git_credential]]\nhost = \"GitLab.Corp.Example:8443\"\nusername = \"oauth2\"\ntoken_file = \"gitlab.token\"\n\n\
             [[git_credential]]\nurl = \"https://git.corp.example/group/\"\nusername = \"bob\"\npassword_file = \"group.password\"\n\n\
             [[go_import]]\nprefix = \"git.corp.example/x\"\nvcs = \"git\"\nrepo = \"git@git.corp.example:group/x.git\"\n",
        )
        .unwrap();
        assert_eq!(
            config.git_credentials,
            [
                GitCredential {
                    url_prefix: "https://gitlab.corp.example:8443".into(),
                    username: "oauth2".into(),
                    secret_file: dir.path().join("gitlab.token"),
                },
                GitCredential {
                    url_prefix: "https://git.corp.example/group".into(),
                    username: "bob".into(),
                    secret_file: dir.path().join("group.password"),
                },
            ]
        );
        assert_eq!(
            config.go_imports[0].repo,
            "git@git.corp.example:group/x.git"
        );

        let message = |text: &str| load(text).unwrap_err().to_string();
        let open = message("[[git_credential]]\nhost = \"h.example\"\nusername = \"u\"\ntoken_file = \"open.token\"\n");
        assert!(
            open.starts_with(
                "invalid value \"open.token\" for git_credential[0].token_file (from config file"
            ) && open.contains(&format!(
                "{} is readable by everyone (mode 644)",
                dir.path().join("open.token").display()
            )),
            "{open}"
        );
        for (text, expected) in [
            ("url = \"http://h.example/\"\nusername = \"u\"\ntoken_file = \"gitlab.token\"", "git_credential[0].url"),
            ("url = \"https://u:p@h.example/\"\nusername = \"u\"\ntoken_file = \"gitlab.token\"", "must not hold credentials"),
            ("host = \"h.example\"\nurl = \"https://h.example\"\nusername = \"u\"\ntoken_file = \"gitlab.token\"", "not both"),
            ("host = \"h.example/path\"\nusername = \"u\"\ntoken_file = \"gitlab.token\"", "git_credential[0].host"),
            ("username = \"u\"\ntoken_file = \"gitlab.token\"", "host or url is required"),
            ("host = \"h.example\"\ntoken_file = \"gitlab.token\"", "git_credential[0].username"),
            ("host = \"h.example\"\nusername = \"u\"", "password_file or token_file is required"),
            ("host = \"h.example\"\nusername = \"u\"\ntoken_file = \"missing\"", "git_credential[0].token_file"),
            ("host = \"h.example\"\nusername = \"u\"\npasword_file = \"x\"", "pasword_file"),
        ] {
            let got = message(&format!("[[git_credential]]\n{text}\n"));
            assert!(got.contains(expected), "{text}: {got}");
        }
        let injected = message("[[go_import]]\nprefix = \"h.example/x\"\nvcs = \"git\"\nrepo = \"-oProxyCommand=x:y\"\n");
        assert!(injected.contains("go_import[0].repo"), "{injected}");
    }

    #[test]
    fn flags_and_env_names_derive_from_keys() {
        let setting = lookup("not_found_ttl").unwrap();
        assert_eq!(
            (setting.flag(), setting.env()),
            ("not-found-ttl".into(), "MODVAULT_NOT_FOUND_TTL".into())
        );
        let setting = lookup("sumdb.signer_key_file").unwrap();
        assert_eq!(
            (setting.flag(), setting.env()),
            (
                "sumdb-signer-key-file".into(),
                "MODVAULT_SUMDB_SIGNER_KEY_FILE".into()
            )
        );
    }

    fn s3_of(config: &Config) -> &S3Storage {
        match &config.storage {
            Storage::S3(s3) => s3,
            Storage::DataDir => panic!("expected S3 storage"),
        }
    }

    #[test]
    fn storage_is_the_data_dir_unless_a_bucket_is_named() {
        let config = Config::load(&Sources::default()).unwrap();
        assert_eq!(config.storage, Storage::DataDir);
        // AWS variables for other programs are no reason to fail.
        let aws_only = Sources {
            env: env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_REGION", "eu-west-1"),
            ]),
            ..Sources::default()
        };
        assert_eq!(Config::load(&aws_only).unwrap().storage, Storage::DataDir);
    }

    #[test]
    fn s3_settings_come_from_aws_variables_overridden_by_the_s3_table() {
        let from_env = Sources {
            flags: vec![("storage".into(), "s3://modules/go/mods/".into())],
            env: env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:8333/"),
                ("AWS_DEFAULT_REGION", "eu-central-1"),
                ("AWS_ACCESS_KEY_ID", "AKIDENV"),
                ("AWS_SECRET_ACCESS_KEY", "secret-from-env"),
                ("AWS_SESSION_TOKEN", "token-from-env"),
                ("AWS_ALLOW_HTTP", "true"),
            ]),
            ..Sources::default()
        };
        let config = Config::load(&from_env).unwrap();
        let s3 = s3_of(&config);
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("modules", "go/mods")
        );
        assert_eq!(s3.url(), "s3://modules/go/mods");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert_eq!(s3.endpoint_origin, Origin::Env("AWS_ENDPOINT_URL".into()));
        assert_eq!(s3.region, "eu-central-1");
        assert_eq!(s3.access_key_id.as_deref(), Some("AKIDENV"));
        assert_eq!(
            s3.secret_access_key.as_ref().unwrap().expose(),
            "secret-from-env"
        );
        assert_eq!(
            s3.session_token.as_ref().unwrap().expose(),
            "token-from-env"
        );
        assert!(s3.allow_http);
        assert!(!s3.virtual_hosted_style, "path style with an endpoint");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("secret-from-env") && !shown.contains("token-from-env"),
            "{shown}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("modvault.toml");
        std::fs::write(
            &file,
            "storage = \"s3://modules\"\n[s3]\nendpoint = \"https://s3.internal.example\"\nregion = \"us-west-2\"\n\
             access_key_id = \"AKIDFILE\"\nsecret_access_key = \"secret-from-file\"\nvirtual_hosted_style = true\n",
        )
        .unwrap();
        let from_file = Sources {
            env: from_env.env.clone(),
            config_file: Some(file),
            ..Sources::default()
        };
        let config = Config::load(&from_file).unwrap();
        let s3 = s3_of(&config);
        assert_eq!(s3.prefix, "");
        assert_eq!(s3.endpoint.as_deref(), Some("https://s3.internal.example"));
        assert_eq!(s3.region, "us-west-2");
        assert_eq!(s3.access_key_id.as_deref(), Some("AKIDFILE"));
        assert_eq!(
            s3.secret_access_key.as_ref().unwrap().expose(),
            "secret-from-file"
        );
        assert_eq!(
            s3.session_token, None,
            "the token belongs to the environment's key"
        );
        assert!(s3.virtual_hosted_style);

        let aws = Sources {
            flags: vec![("storage".into(), "s3://modules".into())],
            ..Sources::default()
        };
        let config = Config::load(&aws).unwrap();
        let s3 = s3_of(&config);
        assert_eq!(
            (s3.endpoint.as_deref(), s3.region.as_str()),
            (None, "us-east-1")
        );
        assert!(s3.virtual_hosted_style, "AWS itself: virtual-hosted style");
        assert_eq!(s3.access_key_id, None);
    }

    #[test]
    fn database_url_flag_over_env_and_never_shown() {
        let sources = |flags: Vec<(String, String)>| Sources {
            flags,
            env: env(&[(
                "MODVAULT_DATABASE_URL",
                "postgres://mv:env-secret@db:5432/modvault",
            )]),
            ..Sources::default()
        };
        let config = Config::load(&sources(vec![])).unwrap();
        let database = config.database.as_ref().expect("set from the environment");
        assert_eq!(
            database.url.expose(),
            "postgres://mv:env-secret@db:5432/modvault"
        );
        assert_eq!(database.origin, Origin::Env("MODVAULT_DATABASE_URL".into()));
        assert!(
            !format!("{config:?}").contains("env-secret"),
            "Debug hides the URL"
        );
        let flagged = Config::load(&sources(vec![(
            "database_url".into(),
            "postgresql://mv:flag-secret@db/modvault".into(),
        )]))
        .unwrap();
        assert_eq!(
            flagged.database.unwrap().url.expose(),
            "postgresql://mv:flag-secret@db/modvault"
        );
        assert_eq!(Config::load(&Sources::default()).unwrap().database, None);
        let message = Config::load(&sources(vec![(
            "database_url".into(),
            "mysql://mv:flag-secret@db/modvault".into(),
        )]))
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("for database_url (from flag --database-url)"),
            "{message}"
        );
        assert!(!message.contains("flag-secret"), "{message}");
    }

    #[test]
    fn bad_storage_settings_name_the_key_and_never_the_secret() {
        let load = |flags: &[(&str, &str)], vars: &[(&str, &str)]| {
            let sources = Sources {
                flags: flags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                env: env(vars),
                ..Sources::default()
            };
            Config::load(&sources).unwrap_err().to_string()
        };
        let message = load(&[("storage", "gs://modules")], &[]);
        assert!(
            message.contains("for storage (from flag --storage)"),
            "{message}"
        );
        assert!(message.contains("s3://BUCKET[/PREFIX]"), "{message}");
        let message = load(&[("storage", "s3://Modules_1")], &[]);
        assert!(message.contains("invalid bucket name"), "{message}");
        let message = load(&[("storage", "s3://modules/a/../b")], &[]);
        assert!(message.contains("invalid prefix"), "{message}");
        let message = load(
            &[("storage", "s3://modules")],
            &[("AWS_ENDPOINT_URL", "http://127.0.0.1:8333")],
        );
        assert!(
            message.contains("for s3.endpoint (from environment variable AWS_ENDPOINT_URL)")
                && message.contains("s3.allow_http"),
            "{message}"
        );
        let message = load(
            &[
                ("storage", "s3://modules"),
                ("s3.secret_access_key", "hunter2-secret"),
            ],
            &[],
        );
        assert!(message.contains("s3.secret_access_key"), "{message}");
        assert!(!message.contains("hunter2-secret"), "{message}");
        let message = load(&[("s3.secret_access_key", "hunter2-secret")], &[]);
        assert!(
            message.contains("s3.secret_access_key")
                && message.contains("storage is not an s3:// bucket"),
            "{message}"
        );
        assert!(!message.contains("hunter2-secret"), "{message}");
        let message = load(
            &[("storage", "s3://modules"), ("s3.allow_http", "maybe")],
            &[],
        );
        assert!(message.contains("for s3.allow_http"), "{message}");
    }
}
