//! `modvault`: a Go module proxy and private module registry.

mod ops;
mod tls_client;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use clap::{Arg, ArgMatches, Command};

use modvault_access::{AccessPolicy, Scope};
use modvault_checksum::{OwnSumdb, Relay, RelayTarget, SumdbVerifier};
use modvault_config::{Config, LogFormat, Sources as ConfigSources, Storage, TlsFiles, SETTINGS};
use modvault_git::{GitSource, GitSourceOptions};
use modvault_proxy::{Integrity, ModuleProxy, ProxySettings, ProxyState, Sources};
use modvault_server::listen::{self, Limits};
use modvault_server::{Access, AppState, EdgeSettings, FailedAuth};
use modvault_state::embedded::EmbeddedPaths;
use modvault_state::postgres::PgSettings;
use modvault_state::SharedState;
use modvault_store::layout::DataDir;
use modvault_store::{FsStore, HotCache, Store, Traced};
use modvault_store_s3::{S3Settings, S3Store};
use modvault_upstream::{Chain, Fetcher, HttpOptions, Observed};

/// `command` with `--config` and a flag for every setting, as `serve` has.
fn with_settings(command: Command) -> Command {
    let mut command = command.args_override_self(true).arg(
        Arg::new("config")
            .long("config")
            .value_name("FILE")
            .help("TOML configuration file [env: MODVAULT_CONFIG]"),
    );
    for setting in SETTINGS {
        command = command.arg(
            Arg::new(setting.key)
                .long(setting.flag())
                .value_name("VALUE")
                .help(format!(
                    "{} [env: {}] [default: {}]",
                    setting.help,
                    setting.env(),
                    setting.default
                )),
        );
    }
    command
}

fn cli() -> Command {
    let serve = with_settings(Command::new("serve").about("Run the module proxy"));
    let sumdb = Command::new("sumdb")
        .about("modvault's own checksum database")
        .subcommand_required(true)
        .subcommand(
            Command::new("keygen")
                .about("Write a new signer key file and print the verifier key for GOSUMDB")
                .arg(
                    Arg::new("name")
                        .required(true)
                        .help("Database name, e.g. sum.corp.example"),
                )
                .arg(
                    Arg::new("key-file")
                        .long("key-file")
                        .value_name("FILE")
                        .required(true)
                        .help("Where to write the signer key (mode 0600, never overwritten)"),
                ),
        );
    let server_settings = |command: Command| {
        command
            .arg(
                Arg::new("config")
                    .long("config")
                    .value_name("FILE")
                    .help("TOML configuration file [env: MODVAULT_CONFIG]"),
            )
            .arg(
                Arg::new("data_dir")
                    .long("data-dir")
                    .value_name("DIR")
                    .help("The server's data directory [env: MODVAULT_DATA_DIR]"),
            )
            .arg(
                Arg::new("database_url")
                    .long("database-url")
                    .value_name("URL")
                    .help("The replicas' PostgreSQL, as the servers use it [env: MODVAULT_DATABASE_URL]"),
            )
    };
    let token = Command::new("token")
        .about("Client tokens: stored hashed in the data directory (or the replicas' database), seen by every running server within a second")
        .subcommand_required(true)
        .subcommand(server_settings(
            Command::new("create")
                .about("Create a token and print it (it is shown only once)")
                .arg(Arg::new("name").long("name").required(true).help("Unique name, shown in logs instead of the token"))
                .arg(Arg::new("scope").long("scope").required(true).value_parser(["read", "publish", "admin"]))
                .arg(
                    Arg::new("match")
                        .long("match")
                        .value_name("PATTERN")
                        .action(clap::ArgAction::Append)
                        .help("Module pattern (GOPRIVATE syntax) the token covers; repeatable; none: every module"),
                ),
        ))
        .subcommand(server_settings(Command::new("list").about("List tokens (names, scopes, patterns; never the tokens)")))
        .subcommand(server_settings(
            Command::new("revoke").about("Revoke a token").arg(Arg::new("name").required(true)),
        ));
    let publish = Command::new("publish")
        .about("Zip a module directory as the go command would and publish it as VERSION")
        .arg(
            Arg::new("server")
                .long("server")
                .value_name("URL")
                .help("modvault's URL [env: MODVAULT_SERVER] [default: http://127.0.0.1:3000]"),
        )
        .arg(
            Arg::new("token")
                .long("token")
                .value_name("TOKEN")
                .help("A token with publish scope [env: MODVAULT_TOKEN]"),
        )
        .arg(
            Arg::new("args")
                .num_args(1..=2)
                .required(true)
                .value_names(["DIR", "VERSION"])
                .help("[DIR] VERSION (DIR defaults to .)"),
        );
    Command::new("modvault")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A Go module proxy and private module registry")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(serve)
        .subcommand(sumdb)
        .subcommand(token)
        .subcommand(publish)
        .subcommands(ops::commands(with_settings))
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    match matches.subcommand() {
        Some(("serve", args)) => serve(args),
        Some(("token", args)) => token_command(args),
        Some(("publish", args)) => publish_command(args),
        Some((name @ ("mirror" | "export" | "import" | "gc" | "verify"), args)) => {
            ops::run(name, args)
        }
        Some(("sumdb", args)) => match args.subcommand() {
            Some(("keygen", args)) => sumdb_keygen(args),
            _ => unreachable!("clap requires a subcommand"),
        },
        _ => unreachable!("clap requires a subcommand"),
    }
}

/// The configuration from whichever setting flags `args` defines (all of
/// them for `serve`, `--config`/`--data-dir` for `token`), the environment
/// and the file; a bad setting is reported and exits with status 2.
pub(crate) fn load_config(args: &ArgMatches) -> Result<Config, ExitCode> {
    let sources = ConfigSources {
        flags: SETTINGS
            .iter()
            .filter_map(|s| {
                args.try_get_one::<String>(s.key)
                    .ok()
                    .flatten()
                    .map(|v| (s.key.to_owned(), v.clone()))
            })
            .collect(),
        env: std::env::vars().collect(),
        config_file: args.get_one::<String>("config").map(PathBuf::from),
        working_dir: None,
    };
    Config::load(&sources).map_err(|e| {
        eprintln!("modvault: {e}");
        ExitCode::from(2)
    })
}

fn serve(args: &ArgMatches) -> ExitCode {
    let config = match load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let (_observe, runtime) = match start(&config) {
        Ok(started) => started,
        Err(code) => return code,
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("modvault: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `modvault publish [--server URL] [--token TOKEN] [DIR] VERSION`.
fn publish_command(args: &ArgMatches) -> ExitCode {
    let positional: Vec<&String> = args.get_many::<String>("args").expect("required").collect();
    let (dir, version) = match positional.as_slice() {
        [version] => (PathBuf::from("."), (*version).clone()),
        [dir, version] => (PathBuf::from(dir), (*version).clone()),
        _ => unreachable!("clap allows one or two"),
    };
    let server = args
        .get_one::<String>("server")
        .cloned()
        .or_else(|| std::env::var("MODVAULT_SERVER").ok())
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let token = args
        .get_one::<String>("token")
        .cloned()
        .or_else(|| std::env::var("MODVAULT_TOKEN").ok());
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(publish(&dir, &version, &server, token.as_deref())) {
        Ok(lines) => {
            print!("{lines}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("modvault: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn publish(
    dir: &std::path::Path,
    version: &str,
    server: &str,
    token: Option<&str>,
) -> anyhow::Result<String> {
    let module = modvault_publish::module_path_from_dir(dir)?;
    let mut zip = tempfile::tempfile().context("cannot create a temporary file")?;
    let summary = modvault_publish::zip_dir(dir, &module, version, &mut zip)?;
    let url = format!(
        "{}/{}/@v/{}.zip",
        server.trim_end_matches('/'),
        modvault_core::escape::escape_path(&module)?,
        modvault_core::escape::escape_version(version)?
    );
    use std::io::Seek;
    let length = zip.seek(std::io::SeekFrom::End(0))?;
    zip.rewind()?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(zip),
    ));
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls_client::client_config()?)
        .build()?;
    let mut request = client
        .put(&url)
        .header(reqwest::header::CONTENT_LENGTH, length)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("{module}@{version}: {status}: {}", text.trim());
    }
    let expected = format!(
        "{module} {version} {}\n{module} {version}/go.mod {}\n",
        summary.zip_hash, summary.go_mod_hash
    );
    if text != expected {
        anyhow::bail!(
            "the server stored other hashes than were uploaded:\n{text}expected:\n{expected}"
        );
    }
    Ok(expected)
}

/// `modvault token create|list|revoke`, against the token store of the
/// data directory the server uses (same --config/--data-dir rules).
fn token_command(args: &ArgMatches) -> ExitCode {
    let (name, args) = args.subcommand().expect("clap requires a subcommand");
    let config = match load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Err(code) = init_audit(&config) {
        return code;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(token(name, args, &config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modvault: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn token(command: &str, args: &ArgMatches, config: &Config) -> anyhow::Result<ExitCode> {
    let tokens = shared_state(config).await?.tokens;
    match command {
        "create" => {
            let scope: Scope = args
                .get_one::<String>("scope")
                .expect("required")
                .parse()
                .expect("clap checked the scope");
            let matches: Vec<String> = args
                .get_many::<String>("match")
                .map(|m| m.cloned().collect())
                .unwrap_or_default();
            let name = args.get_one::<String>("name").expect("required");
            let patterns = matches.join(",");
            let token = tokens.create(name, scope, matches).await?;
            tracing::info!(target: "modvault::audit", event = "token_create", token_name = %name, scope = %scope, matches = %patterns, via = "cli");
            println!("{}", token.expose_secret());
        }
        "list" => {
            for token in tokens.list().await? {
                let matches = if token.matches.is_empty() {
                    "*".to_owned()
                } else {
                    token.matches.join(",")
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    token.name, token.scope, matches, token.created
                );
            }
        }
        "revoke" => {
            let name = args.get_one::<String>("name").expect("required");
            if !tokens.revoke(name).await? {
                eprintln!("modvault: no token named {name:?}");
                return Ok(ExitCode::FAILURE);
            }
            tracing::info!(target: "modvault::audit", event = "token_revoke", token_name = %name, via = "cli");
        }
        _ => unreachable!("clap knows the subcommands"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `modvault sumdb keygen NAME --key-file FILE`.
fn sumdb_keygen(args: &ArgMatches) -> ExitCode {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = args.get_one::<String>("name").expect("required");
    let key_file = PathBuf::from(args.get_one::<String>("key-file").expect("required"));
    if !modvault_sumdb::note::is_valid_name(name) {
        eprintln!("modvault: invalid checksum database name {name:?}: it must be non-empty, without spaces or '+'");
        return ExitCode::from(2);
    }
    let mut seed = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut seed) {
        eprintln!("modvault: no randomness for a key: {e}");
        return ExitCode::FAILURE;
    }
    let (signer_key, verifier_key) = modvault_sumdb::note::generate_key(name, seed);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_file)
        .and_then(|mut file| {
            file.write_all(format!("{signer_key}\n").as_bytes())
                .and_then(|()| file.sync_all())
        });
    match written {
        Ok(()) => {
            println!("{verifier_key}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("modvault: cannot write {}: {e}", key_file.display());
            ExitCode::FAILURE
        }
    }
}

/// Logs on stderr, the audit log and OTLP traces; the guard flushes the
/// traces still queued when it is dropped.
/// For commands that change state without serving: their audit events
/// (token changes, evictions) still reach the audit log.
pub(crate) fn init_audit(config: &Config) -> Result<(), ExitCode> {
    modvault_observe::init_audit_only(config.audit_log.as_deref()).map_err(|e| {
        eprintln!("modvault: {e}");
        ExitCode::from(2)
    })
}

/// Logging, traces and the audit log, then the async runtime: what every
/// command that works on the store starts with.
pub(crate) fn start(
    config: &Config,
) -> Result<(modvault_observe::Guard, tokio::runtime::Runtime), ExitCode> {
    let guard = init_logging(config).map_err(|e| {
        eprintln!("modvault: {e}");
        ExitCode::from(2)
    })?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("modvault: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })?;
    Ok((guard, runtime))
}

fn init_logging(config: &Config) -> Result<modvault_observe::Guard, String> {
    modvault_observe::init(&modvault_observe::Options {
        log_filter: config.log_level.clone(),
        json: config.log_format == LogFormat::Json,
        audit_log: config.audit_log.clone(),
        otlp_endpoint: config.otlp_endpoint.clone(),
    })
}

async fn run(config: Config) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    // First: nothing in the data directory is touched before this.
    let _lock = data
        .lock()
        .with_context(|| format!("cannot lock data_dir {}", data.root().display()))?;
    let (proxy, sumdb_relay, shared) = wire_proxy(&config, &data).await?;
    let access = Arc::new(Access {
        failures: FailedAuth::new(config.auth_failure_limit, config.auth_failure_delay),
        tokens: shared.tokens.clone(),
        policy: AccessPolicy::new(config.anonymous_read.clone())
            .context("invalid auth.anonymous_read")?,
    });
    let backfill = proxy.clone();
    tokio::spawn(async move {
        match backfill.backfill_catalog().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(versions = n, "catalog filled from the store"),
            Err(e) => {
                tracing::error!(error = %modvault_error::chain(&e), "could not fill the catalog from the store")
            }
        }
    });
    let limits = Limits {
        max_connections: usable_connections(config.max_connections),
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
        max_header_bytes: usize::try_from(config.max_header_bytes).unwrap_or(usize::MAX),
    };
    let edge = EdgeSettings {
        metrics: config.metrics_access,
        body_timeout: config.body_timeout,
        max_upload_bytes: config.max_upload_bytes,
        max_path_bytes: usize::try_from(config.max_path_bytes).unwrap_or(usize::MAX),
        webhooks: ops::webhook_settings(&config),
    };
    ops::spawn_gc(&config, &proxy, &shared);
    let flights = proxy.clone();
    let app_state = AppState {
        proxy,
        sumdb_relay,
        access,
        rules: Arc::new(config.rules.clone()),
        edge,
    };
    // The web UI and JSON API beside the protocol (crates/web).
    let web = modvault_web::WebSettings {
        audit_log: config.audit_log.clone(),
        tls: config.tls.is_some(),
    };
    let app = modvault_server::router_with(app_state.clone(), modvault_web::routes(app_state, web));

    // A bad certificate stops start-up before anything says "listening".
    let tls = match &config.tls {
        Some(files) => Some((files.clone(), load_tls(files).await?)),
        None => None,
    };
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        data_dir = %config.data_dir.display(),
        storage = %storage_name(&config),
        state = if config.database.is_some() { "database_url" } else { "data_dir" },
        upstream = %modvault_error::redact_urls(&config.upstream_list),
        max_connections = limits.max_connections,
        "listening on {scheme}://{address}"
    );

    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let grace = config.shutdown_timeout;
    let deadline = Arc::new(std::sync::OnceLock::new());
    let signalled = deadline.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections; letting in-flight requests finish");
        let _ = signalled.set(tokio::time::Instant::now() + grace);
        stopper.graceful_shutdown(Some(grace));
    });
    let rustls = tls.as_ref().map(|(_, config)| config.clone());
    tokio::spawn(on_sighup(tls));
    listen::serve(listener, app, rustls, &limits, handle)
        .await
        .context("server failed")?;
    // Zips fetched in the background (started by a .mod request, or for a
    // client that went away) are stored a moment before they are
    // catalogued and recorded in our log: they finish within the same
    // grace, or `modvault verify` reports them as unrecorded.
    let deadline = deadline
        .get()
        .copied()
        .unwrap_or_else(|| tokio::time::Instant::now() + grace);
    if tokio::time::timeout_at(deadline, flights.settled())
        .await
        .is_err()
    {
        tracing::warn!(
            "stopped with zip fetches unfinished: `modvault verify` catalogues what they stored"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// The store, shared state, sources and checksum databases, wired into the
/// proxy: the server's, and the operations commands' (which must fill the
/// store exactly as serving would).
async fn wire_proxy(
    config: &Config,
    data: &DataDir,
) -> anyhow::Result<(ModuleProxy, Option<Arc<Relay>>, SharedState)> {
    let store = Traced::wrap(HotCache::wrap(
        open_store(config).await?,
        config.memory_cache,
    ));
    let shared = shared_state(config).await?;
    let http = HttpOptions {
        connect_timeout: config.upstream_connect_timeout,
        request_timeout: config.upstream_timeout,
        idle_timeout: config.upstream_idle_timeout,
        retries: config.upstream_retries,
        ..HttpOptions::default()
    };
    let direct = Observed::wrap(git_source(config, &http, data)?, "direct");
    let chain = Chain::new(&config.upstream, &http, direct.clone()).context("invalid upstream")?;
    let sources = Sources {
        upstream: Arc::new(chain),
        direct,
    };
    let (integrity, sumdb_relay) = checksum_databases(config, &http, &store, &shared)?;
    let settings = ProxySettings {
        list_ttl: config.list_ttl,
        not_found_ttl: config.not_found_ttl,
        failure_ttl: config.upstream_failure_ttl,
        spool_dir: data.spool(),
        max_concurrent_fetches: config.max_concurrent_fetches,
        max_concurrent_zip_fetches: config.max_concurrent_zip_fetches,
        // A request waits for a fetch slot no longer than for the fetch.
        fetch_slot_wait: config.upstream_timeout,
        zip_min_rate: config.upstream_min_rate,
        rate_window: std::time::Duration::from_secs(30),
    };
    let state = ProxyState {
        leases: shared.leases.clone(),
        catalog: shared.catalog.clone(),
        failures: shared.failures.clone(),
    };
    let proxy = ModuleProxy::new(store, sources, settings, integrity, state)
        .context("cannot prepare the spool directory")?;
    Ok((proxy, sumdb_relay, shared))
}

/// The store of module files: `data_dir`, or a bucket that must answer a
/// probe (reachable, writable, conditional writes) before anything starts.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let Storage::S3(s3) = &config.storage else {
        let fs = FsStore::open(&config.data_dir)
            .with_context(|| format!("cannot open data_dir {}", config.data_dir.display()))?;
        return Ok(Arc::new(fs));
    };
    // data_dir stays the working directory (spool files, git mirrors).
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let mut settings = S3Settings::new(&s3.bucket);
    settings.prefix = s3.prefix.clone();
    settings.endpoint = s3.endpoint.clone();
    settings.region = s3.region.clone();
    settings.allow_http = s3.allow_http;
    settings.virtual_hosted_style = s3.virtual_hosted_style;
    if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
        settings.credentials = Some(modvault_store_s3::Credentials {
            access_key_id: id.clone(),
            secret_access_key: modvault_store_s3::Secret::new(secret.expose()),
            session_token: s3
                .session_token
                .as_ref()
                .map(|t| modvault_store_s3::Secret::new(t.expose())),
        });
    }
    let endpoint = match &s3.endpoint {
        Some(endpoint) => format!("endpoint {endpoint} (from {})", s3.endpoint_origin),
        None => format!("AWS region {}", s3.region),
    };
    // The message is the whole chain already: no anyhow context, which
    // would print each cause twice.
    let store = S3Store::open(&settings).await.map_err(|e| {
        anyhow::anyhow!(
            "storage {} (from {}) is not usable: {e}; {endpoint}; check storage, the [s3] settings and AWS_* variables",
            s3.url(),
            s3.storage_origin
        )
    })?;
    Ok(Arc::new(store))
}

fn storage_name(config: &Config) -> String {
    match &config.storage {
        Storage::DataDir => "data_dir".into(),
        Storage::S3(s3) => s3.url(),
    }
}

async fn load_tls(tls: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    // One crypto provider for the whole process: ring, as reqwest uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
        .await
        .with_context(|| {
            format!(
                "cannot load TLS certificate {} and key {}",
                tls.cert_file.display(),
                tls.key_file.display()
            )
        })
}

/// SIGHUP re-reads the TLS certificate and key; new connections use them,
/// established ones are not dropped. A bad pair is logged and the old one
/// kept. Without TLS there is nothing to reload, but SIGHUP must still not
/// kill the server.
async fn on_sighup(tls: Option<(TlsFiles, RustlsConfig)>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot install the SIGHUP handler");
        return;
    };
    while hangup.recv().await.is_some() {
        let Some((files, config)) = &tls else {
            tracing::info!("SIGHUP: nothing to reload");
            continue;
        };
        match config
            .reload_from_pem_file(&files.cert_file, &files.key_file)
            .await
        {
            Ok(()) => tracing::info!(cert = %files.cert_file.display(), "TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "TLS reload failed; keeping the previous certificate")
            }
        }
    }
}

/// The verifying database (the first upstream), the relay for all upstream
/// databases, and modvault's own database.
fn checksum_databases(
    config: &Config,
    http: &HttpOptions,
    store: &Arc<dyn Store>,
    shared: &SharedState,
) -> anyhow::Result<(Integrity, Option<Arc<Relay>>)> {
    let client = http.client().map_err(anyhow::Error::msg)?;
    let verifier = match config.sumdb.upstream.first() {
        Some(db) => Some(Arc::new(
            SumdbVerifier::new(&db.verifier_key, &db.url, client.clone(), store.clone())
                .map_err(anyhow::Error::msg)?,
        )),
        None => None,
    };
    let relay = (!config.sumdb.upstream.is_empty()).then(|| {
        let targets = config
            .sumdb
            .upstream
            .iter()
            .map(|db| RelayTarget {
                name: db.name.clone(),
                url: db.url.clone(),
            })
            .collect();
        Arc::new(Relay::new(
            targets,
            store.clone(),
            client.clone(),
            config.list_ttl,
        ))
    });
    let own = match (&config.sumdb.own, &shared.log) {
        (Some(own), Some(log)) => {
            let key = std::fs::read_to_string(&own.signer_key_file).with_context(|| {
                format!(
                    "cannot read sumdb.signer_key_file {}",
                    own.signer_key_file.display()
                )
            })?;
            let db = OwnSumdb::new(&key, log.clone()).context("sumdb.signer_key_file")?;
            tracing::info!(name = %own.name, "serving our own checksum database at /sumdb/{}/", own.name);
            Some(Arc::new(db))
        }
        _ => None,
    };
    Ok((Integrity { verifier, own }, relay))
}

/// Tokens, the own checksum log, fetch leases and the catalog: in
/// PostgreSQL when `database_url` is set (several replicas), else the
/// embedded implementations in the data directory.
pub(crate) async fn shared_state(config: &Config) -> anyhow::Result<SharedState> {
    if let Some(database) = &config.database {
        let settings = PgSettings {
            url: database.url.expose(),
            log_name: config.sumdb.own.as_ref().map(|own| own.name.as_str()),
        };
        // The chain names the failure, never the URL (it holds a password).
        return SharedState::postgres(&settings).await.map_err(|e| {
            anyhow::anyhow!(
                "database_url (from {}) is not usable: {}",
                database.origin,
                modvault_error::chain(&e)
            )
        });
    }
    let data = DataDir::new(&config.data_dir);
    let paths = EmbeddedPaths {
        tokens_file: data.tokens(),
        log_dir: config
            .sumdb
            .own
            .as_ref()
            .map(|own| data.sumdb_log(&own.name)),
        catalog_file: data.catalog(),
    };
    SharedState::embedded(&paths).context("cannot open the state in data_dir")
}

/// The `direct` source: modules built from version control by modvault
/// itself, with mirrors kept in the data directory.
fn git_source(
    config: &Config,
    http: &HttpOptions,
    data: &DataDir,
) -> anyhow::Result<Arc<dyn Fetcher>> {
    let mut options = GitSourceOptions::new(data.git_mirrors(), data.git_scratch());
    options.go_imports = config.go_imports.clone();
    options.credentials = config.git_credentials.clone();
    options.refs_ttl = config.list_ttl;
    // A repository that failed (authentication, host key, timeout) is
    // remembered like any not-found.
    options.failure_ttl = config.not_found_ttl;
    options.command_timeout = config.vcs_timeout;
    options.max_concurrent_commands = config.max_concurrent_vcs;
    options.http = http.clone();
    Ok(Arc::new(
        GitSource::new(options).context("cannot prepare the git mirror directory")?,
    ))
}

/// `max_connections`, or fewer if the process may not open that many files
/// (the soft limit is first raised to the hard one, as the go runtime does).
fn usable_connections(wanted: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    let files = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return wanted;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
        limit.rlim_cur
    };
    // Keep room for the store, spool files, git and upstream connections.
    let usable = usize::try_from(files.saturating_sub(256))
        .unwrap_or(usize::MAX)
        .max(16);
    if usable < wanted {
        tracing::warn!(
            max_connections = wanted,
            usable,
            "the open-file limit allows fewer connections than max_connections"
        );
    }
    wanted.min(usable)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("cannot install SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
