//! The configuration of a modvault server.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modvault_upstream::{parse_proxy_list, ChainEntry};

/// Environment variables with this prefix are settings; an unknown one is an
/// error rather than a silently ignored typo.
pub const ENV_PREFIX: &str = "MODVAULT_";
/// Names the configuration file; not a setting itself.
pub const CONFIG_FILE_ENV: &str = "MODVAULT_CONFIG";

/// One setting: its key (TOML key; the flag and environment variable are
/// derived from it), its default, and what it means.
pub struct Setting {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

impl Setting {
    pub fn flag(&self) -> String {
        self.key.replace('_', "-")
    }
    pub fn env(&self) -> String {
        format!("{ENV_PREFIX}{}", self.key.to_ascii_uppercase())
    }
}

pub const SETTINGS: &[Setting] = &[
    Setting { key: "listen", default: "127.0.0.1:3000", help: "Address and port to listen on" },
    Setting { key: "data_dir", default: "./modvault-data", help: "Directory of the store; itself a valid GOPROXY file tree" },
    Setting {
        key: "upstream",
        default: "https://proxy.golang.org,direct",
        help: "Where misses are fetched, in GOPROXY list syntax (`,` falls through on not-found, `|` on any error; off, direct)",
    },
    Setting { key: "list_ttl", default: "60s", help: "How long list, @latest and query .info answers stay fresh" },
    Setting { key: "not_found_ttl", default: "60s", help: "How long a not-found answer from upstream is remembered" },
    Setting { key: "upstream_connect_timeout", default: "10s", help: "Connect timeout for upstream requests" },
    Setting { key: "upstream_timeout", default: "60s", help: "Whole-request timeout for upstream list/.info/.mod/@latest" },
    Setting { key: "upstream_idle_timeout", default: "60s", help: "Longest silence while reading an upstream body (zips included)" },
    Setting { key: "upstream_retries", default: "2", help: "Retries after an upstream connection error, 429 or 5xx" },
    Setting { key: "max_concurrent_fetches", default: "64", help: "Upper bound on concurrent upstream fetches" },
    Setting { key: "shutdown_timeout", default: "60s", help: "On SIGTERM, how long in-flight requests may take to finish" },
    Setting { key: "log_format", default: "text", help: "Log format: text or json" },
    Setting { key: "log_level", default: "info", help: "Log filter, in RUST_LOG syntax (e.g. info, modvault=debug)" },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything a running server needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
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
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
}

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
    InvalidValue { key: String, value: String, origin: Origin, reason: String },
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
}

impl Config {
    /// Layers flags over environment over file over defaults, then parses
    /// and validates every value.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let mut values: BTreeMap<&'static str, (String, Origin)> =
            SETTINGS.iter().map(|s| (s.key, (s.default.to_owned(), Origin::Default))).collect();

        let config_file = sources.config_file.clone().or_else(|| {
            sources.env.iter().find(|(k, _)| k == CONFIG_FILE_ENV).map(|(_, v)| PathBuf::from(v))
        });
        if let Some(path) = &config_file {
            for (key, value) in read_file(path)? {
                let setting = lookup(&key).ok_or_else(|| ConfigError::UnknownKey { name: key.clone(), origin: Origin::File(path.clone()) })?;
                values.insert(setting.key, (value, Origin::File(path.clone())));
            }
        }
        for (name, value) in &sources.env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            if name == CONFIG_FILE_ENV {
                continue;
            }
            let setting = SETTINGS
                .iter()
                .find(|s| s.key.eq_ignore_ascii_case(rest) && rest == rest.to_ascii_uppercase())
                .ok_or_else(|| ConfigError::UnknownKey { name: name.clone(), origin: Origin::Env(name.clone()) })?;
            values.insert(setting.key, (value.clone(), Origin::Env(name.clone())));
        }
        for (key, value) in &sources.flags {
            let setting = lookup(key).ok_or_else(|| ConfigError::UnknownKey { name: key.clone(), origin: Origin::Flag(key.clone()) })?;
            values.insert(setting.key, (value.clone(), Origin::Flag(setting.flag())));
        }

        let layered = Layered { values };
        let upstream_list = layered.get("upstream").0.clone();
        Ok(Config {
            listen: layered.parse("listen", |v| v.parse::<SocketAddr>().map_err(|e| e.to_string()))?,
            data_dir: layered.parse("data_dir", |v| {
                if v.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(PathBuf::from(v))
                }
            })?,
            upstream: layered.parse("upstream", |v| parse_proxy_list(v).map_err(|e| e.to_string()))?,
            upstream_list,
            list_ttl: layered.parse("list_ttl", parse_duration)?,
            not_found_ttl: layered.parse("not_found_ttl", parse_duration)?,
            upstream_connect_timeout: layered.parse("upstream_connect_timeout", parse_positive_duration)?,
            upstream_timeout: layered.parse("upstream_timeout", parse_positive_duration)?,
            upstream_idle_timeout: layered.parse("upstream_idle_timeout", parse_positive_duration)?,
            upstream_retries: layered.parse("upstream_retries", |v| {
                v.parse::<u32>().ok().filter(|n| *n <= 10).ok_or_else(|| "expected a whole number from 0 to 10".to_owned())
            })?,
            max_concurrent_fetches: layered.parse("max_concurrent_fetches", |v| {
                v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| "expected a whole number of at least 1".to_owned())
            })?,
            shutdown_timeout: layered.parse("shutdown_timeout", parse_duration)?,
            log_format: layered.parse("log_format", |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected text or json".into()),
            })?,
            log_level: layered.parse("log_level", |v| Ok(v.to_owned()))?,
        })
    }
}

fn lookup(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

struct Layered {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Layered {
    fn get(&self, key: &str) -> &(String, Origin) {
        self.values.get(key).expect("every setting has a default")
    }

    fn parse<T>(&self, key: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        let (value, origin) = self.get(key);
        parse(value.trim()).map_err(|reason| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.clone(),
            origin: origin.clone(),
            reason,
        })
    }
}

/// Reads the top-level scalar settings of a TOML file as text.
fn read_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let file_error = |reason: String| ConfigError::File { path: path.to_owned(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| file_error(e.to_string()))?;
    let mut values = Vec::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                if lookup(&key).is_none() {
                    return Err(ConfigError::UnknownKey { name: key, origin: Origin::File(path.to_owned()) });
                }
                return Err(ConfigError::InvalidValue {
                    key,
                    value: other.to_string(),
                    origin: Origin::File(path.to_owned()),
                    reason: format!("expected a string or number, not a {}", other.type_str()),
                });
            }
        };
        values.push((key, text));
    }
    Ok(values)
}

/// `60s`, `5m`, `1h30m`, `250ms`, or a bare number of seconds.
fn parse_duration(value: &str) -> Result<Duration, String> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(value).map_err(|_| "expected a duration such as 60s or 5m".to_owned())
}

fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    parse_duration(value).and_then(|d| if d.is_zero() { Err("must be greater than zero".into()) } else { Ok(d) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = Config::load(&Sources::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./modvault-data"));
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
            env: env(&[("MODVAULT_LISTEN", "127.0.0.1:2"), ("MODVAULT_DATA_DIR", "/from/env"), ("PATH", "/bin")]),
            config_file: Some(file),
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
        let sources = Sources { env: env(&[("MODVAULT_CONFIG", file.to_str().unwrap())]), ..Sources::default() };
        assert_eq!(Config::load(&sources).unwrap().upstream_list, "off");
    }

    #[test]
    fn errors_name_the_key_and_its_origin() {
        let bad_env = Sources { env: env(&[("MODVAULT_LIST_TTL", "fast")]), ..Sources::default() };
        assert_eq!(
            Config::load(&bad_env).unwrap_err().to_string(),
            "invalid value \"fast\" for list_ttl (from environment variable MODVAULT_LIST_TTL): expected a duration such as 60s or 5m"
        );
        let typo = Sources { env: env(&[("MODVAULT_LISTN", "x")]), ..Sources::default() };
        assert_eq!(
            Config::load(&typo).unwrap_err().to_string(),
            "unknown setting MODVAULT_LISTN (from environment variable MODVAULT_LISTN)"
        );
        let bad_flag = Sources { flags: vec![("upstream".into(), "ftp://x".into())], ..Sources::default() };
        let message = Config::load(&bad_flag).unwrap_err().to_string();
        assert!(message.starts_with("invalid value \"ftp://x\" for upstream (from flag --upstream): "), "{message}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "lissten = \"x\"\n").unwrap();
        let message = Config::load(&Sources { config_file: Some(file.clone()), ..Sources::default() }).unwrap_err().to_string();
        assert_eq!(message, format!("unknown setting lissten (from config file {})", file.display()));
        std::fs::write(&file, "listen = [1]\n").unwrap();
        let message = Config::load(&Sources { config_file: Some(file.clone()), ..Sources::default() }).unwrap_err().to_string();
        assert!(message.contains("for listen (from config file"), "{message}");
        std::fs::write(&file, "listen = \n").unwrap();
        assert!(matches!(
            Config::load(&Sources { config_file: Some(file), ..Sources::default() }),
            Err(ConfigError::File { .. })
        ));
    }

    #[test]
    fn flags_and_env_names_derive_from_keys() {
        let setting = lookup("not_found_ttl").unwrap();
        assert_eq!((setting.flag(), setting.env()), ("not-found-ttl".into(), "MODVAULT_NOT_FOUND_TTL".into()));
    }
}
