//! `modvault mirror`, `export`, `import`, `gc` and `verify`: the command lines of
//! `modvault_ops`, on the data directory (or bucket) a server would use,
//! with the same settings and without a running server; and what `serve`
//! runs of them (eviction every `gc.interval`, webhook secrets).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command};

use modvault_config::Config;
use modvault_ops::bundle::{self, Selection};
use modvault_ops::gc::{Gc, Policy, Refetchable, Report};
use modvault_ops::mirror::{self, Ops};
use modvault_ops::verify::Verify;
use modvault_proxy::ModuleProxy;
use modvault_server::admin::{HookSecret, WebhookSettings};
use modvault_state::SharedState;
use modvault_store::layout::DataDir;

use crate::{load_config, wire_proxy};

fn jobs() -> Arg {
    Arg::new("jobs")
        .long("jobs")
        .value_name("N")
        .value_parser(clap::value_parser!(u16).range(1..=256))
        .default_value("16")
        .help("Versions fetched at once")
}

const SOURCE_HELP: &str =
    "a go.mod, a go.sum, a directory holding them, or module@version (a query such as @latest works too)";

/// The five subcommands, each with every setting flag (`with_settings`).
pub fn commands(with_settings: fn(Command) -> Command) -> Vec<Command> {
    vec![
        with_settings(
            Command::new("mirror")
                .about("Fetch into the store everything the go command needs to build SOURCEs (go mod download all)")
                .arg(Arg::new("sources").value_name("SOURCE").num_args(1..).required(true).help(SOURCE_HELP))
                .arg(jobs()),
        ),
        with_settings(
            Command::new("export")
                .about("Write stored versions, their catalog entries and checksum-database proofs into one air-gap bundle (.tar.gz)")
                .arg(Arg::new("output").long("output").short('o').value_name("FILE").required(true))
                .arg(
                    Arg::new("since")
                        .long("since")
                        .value_name("TIME")
                        .conflicts_with("sources")
                        .help("Only versions stored since TIME (RFC 3339, a date 2026-01-02, or a duration back: 24h)"),
                )
                .arg(
                    Arg::new("sources")
                        .value_name("SOURCE")
                        .num_args(0..)
                        .action(ArgAction::Append)
                        .help(format!("Only what mirroring these needs (fetched if missing): {SOURCE_HELP}; none: every stored version")),
                )
                .arg(jobs()),
        ),
        with_settings(
            Command::new("import")
                .about("Verify an air-gap bundle offline and load it into the store")
                .arg(Arg::new("file").value_name("FILE").required(true))
                .arg(jobs()),
        ),
        with_settings(
            Command::new("gc")
                .about("Evict refetchable versions by the [gc] policy once, listing what goes and why")
                .arg(
                    Arg::new("dry-run")
                        .long("dry-run")
                        .action(ArgAction::SetTrue)
                        .help("List what would be evicted; change nothing"),
                ),
        ),
        with_settings(
            Command::new("verify")
                .about("Hash every stored .zip and .mod again and compare them with every record of them; report corrupt, missing and unrecorded files (exit 1 on damage)")
                .arg(
                    Arg::new("repair")
                        .long("repair")
                        .action(ArgAction::SetTrue)
                        .help("Fetch corrupt or missing public versions again; quarantine what cannot be fetched again"),
                )
                .arg(
                    Arg::new("pattern")
                        .value_name("PATTERN")
                        .help("Only modules matching these comma-separated path globs, as GOPRIVATE (golang.org/x/tools, example.com/*); none: every module"),
                )
                .arg(jobs().default_value("4").help("Versions checked at once")),
        ),
    ]
}

/// What mirror, export, import and `verify --repair` work with: the
/// proxy wired as `serve` wires it, and the checksum databases' keys.
fn ops_of(
    config: &Config,
    data: &DataDir,
    proxy: ModuleProxy,
    relay: Option<Arc<modvault_checksum::Relay>>,
    jobs: usize,
) -> Ops {
    Ops {
        proxy,
        rules: Arc::new(config.rules.clone()),
        relay,
        sumdb_keys: config
            .sumdb
            .upstream
            .iter()
            .map(|db| (db.name.clone(), db.verifier_key.clone()))
            .collect(),
        spool_dir: data.spool(),
        jobs,
        complete_before: Default::default(),
    }
}

pub fn run(name: &str, args: &ArgMatches) -> ExitCode {
    let config = match load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let (_observe, runtime) = match crate::start(&config) {
        Ok(started) => started,
        Err(code) => return code,
    };
    match runtime.block_on(operate(name, args, &config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modvault {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn operate(name: &str, args: &ArgMatches, config: &Config) -> anyhow::Result<ExitCode> {
    if name == "gc" {
        let dry_run = args.get_flag("dry-run");
        let report = run_gc(config, dry_run).await?;
        print_report(&report, config, dry_run);
        return Ok(ExitCode::SUCCESS);
    }
    if name == "verify" {
        // 1 is for damage: a check that could not be done is 2.
        return Ok(run_verify(args, config).await.unwrap_or_else(|e| {
            eprintln!("modvault verify: {e:#}");
            ExitCode::from(2)
        }));
    }
    let data = DataDir::new(&config.data_dir);
    // One process per data directory: a running server holds it too.
    let _lock = data
        .lock()
        .with_context(|| format!("cannot lock data_dir {}", data.root().display()))?;
    let (proxy, relay, _) = wire_proxy(config, &data).await?;
    let jobs = usize::from(*args.get_one::<u16>("jobs").expect("defaulted"));
    let ops = ops_of(config, &data, proxy, relay, jobs);
    let sources: Vec<String> = args
        .try_get_many::<String>("sources")
        .ok()
        .flatten()
        .map(|s| s.cloned().collect())
        .unwrap_or_default();
    let report = match name {
        "mirror" => {
            let report = mirror::mirror(&ops, &sources).await;
            report.print("mirror");
            report
        }
        "export" => {
            let output = PathBuf::from(args.get_one::<String>("output").expect("required"));
            let selection = if let Some(since) = args.get_one::<String>("since") {
                Selection::Since(bundle::parse_since(since).map_err(anyhow::Error::msg)?)
            } else if sources.is_empty() {
                Selection::All
            } else {
                Selection::Sources(sources)
            };
            let report = bundle::export(&ops, &output, selection).await?;
            if report.failed.is_empty() {
                println!(
                    "export: {} versions ({}) written to {}",
                    report.fetched,
                    indicatif::HumanBytes(report.fetched_bytes),
                    output.display()
                );
            } else {
                report.print("export (nothing written)");
            }
            report
        }
        "import" => {
            let file = PathBuf::from(args.get_one::<String>("file").expect("required"));
            let report = bundle::import(&ops, &file).await?;
            if report.failed.is_empty() {
                println!(
                    "import: {} versions stored ({}), {} already present",
                    report.fetched,
                    indicatif::HumanBytes(report.fetched_bytes),
                    report.present
                );
            } else {
                report.print("import refused (nothing stored)");
            }
            report
        }
        _ => unreachable!("clap knows the subcommands"),
    };
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_gc(config: &Config, dry_run: bool) -> anyhow::Result<Report> {
    let data = DataDir::new(&config.data_dir);
    // Changing the store and the git mirrors needs the data directory to
    // itself (a running server evicts by gc.interval instead); a dry run
    // only reads.
    let _lock = if dry_run {
        None
    } else {
        Some(data.lock().map_err(|e| {
            anyhow::anyhow!("{e} (a running server evicts by itself every gc.interval)")
        })?)
    };
    if config.gc.max_size.is_none() {
        anyhow::bail!("gc.max_size is not set (--gc-max-size, MODVAULT_GC_MAX_SIZE or [gc] max_size): nothing to evict to");
    }
    let store = crate::open_store(config).await?;
    let shared = crate::shared_state(config).await?;
    let gc = Gc {
        store,
        catalog: shared.catalog.clone(),
        own_log: shared.log.clone(),
        rules: Arc::new(config.rules.clone()),
        refetchable: Refetchable::of(&config.upstream),
        policy: policy(config),
        mirror_root: Some(data.git_mirrors()),
    };
    Ok(gc.run(dry_run).await?)
}

/// `modvault verify`: read-only without `--repair` (so it may run beside
/// a server, as `gc --dry-run`); repairing takes the data directory and
/// fetches through the proxy as serving would.
async fn run_verify(args: &ArgMatches, config: &Config) -> anyhow::Result<ExitCode> {
    let repair = args.get_flag("repair");
    let jobs = usize::from(*args.get_one::<u16>("jobs").expect("defaulted"));
    let data = DataDir::new(&config.data_dir);
    let _lock = if repair {
        Some(
            data.lock()
                .with_context(|| format!("cannot lock data_dir {}", data.root().display()))?,
        )
    } else {
        None
    };
    let relayed: Vec<String> = config
        .sumdb
        .upstream
        .iter()
        .map(|db| db.name.clone())
        .collect();
    let (store, shared, ops) = if repair {
        let (proxy, relay, shared) = wire_proxy(config, &data).await?;
        let ops = ops_of(config, &data, proxy.clone(), relay, jobs);
        (proxy.store().clone(), shared, Some(ops))
    } else {
        (
            crate::open_store(config).await?,
            crate::shared_state(config).await?,
            None,
        )
    };
    let verify = Verify {
        store,
        catalog: shared.catalog.clone(),
        own_log: shared.log.clone(),
        relayed,
        rules: Arc::new(config.rules.clone()),
        refetchable: Refetchable::of(&config.upstream),
        scratch_dir: data.root().join(modvault_store::layout::PRIVATE),
        jobs,
        repair: ops,
    };
    let pattern = args.get_one::<String>("pattern").map(String::as_str);
    let report = verify.run(pattern).await?;
    report.print(repair);
    Ok(if report.damaged() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn policy(config: &Config) -> Policy {
    Policy {
        max_size: config.gc.max_size,
        min_idle: config.gc.min_idle,
    }
}

fn print_report(report: &Report, config: &Config, dry_run: bool) {
    let verb = if dry_run { "would evict" } else { "evicted" };
    for e in &report.evicted {
        println!(
            "{verb}\t{}@{}\t{} bytes\t{}",
            e.module, e.version, e.size, e.reason
        );
    }
    for mirror in &report.mirrors_pruned {
        println!("pruned git mirror\t{}", mirror.display());
    }
    let freed: u64 = report.evicted.iter().map(|e| e.size).sum();
    println!(
        "{verb} {} versions ({freed} bytes); stored {} -> {} bytes (gc.max_size {})",
        report.evicted.len(),
        report.stored_before,
        report.stored_after,
        config.gc.max_size.unwrap_or_default()
    );
    let kept = [
        ("published", report.kept_published),
        ("private", report.kept_private),
        ("of unknown origin", report.kept_unknown),
        ("in our checksum database", report.kept_own_log),
        (
            "not refetchable with this upstream",
            report.kept_not_refetchable,
        ),
    ];
    for (why, n) in kept {
        if n > 0 {
            println!("kept {n} idle versions {why}");
        }
    }
    if report.stored_after > config.gc.max_size.unwrap_or(u64::MAX) {
        println!("the store is still over gc.max_size: what is left may not be evicted or was used within gc.min_idle");
    }
}

/// Eviction inside `serve`, every `gc.interval`, when `gc.max_size` is
/// set. The server's git mirrors are left alone (it may be using them).
pub fn spawn_gc(config: &Config, proxy: &ModuleProxy, shared: &SharedState) {
    if config.gc.max_size.is_none() {
        return;
    }
    let gc = Gc {
        store: proxy.store().clone(),
        catalog: shared.catalog.clone(),
        own_log: shared.log.clone(),
        rules: Arc::new(config.rules.clone()),
        refetchable: Refetchable::of(&config.upstream),
        policy: policy(config),
        mirror_root: None,
    };
    let interval = config.gc.interval;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match gc.run(false).await {
                Ok(report) if !report.evicted.is_empty() => tracing::info!(
                    versions = report.evicted.len(),
                    stored_before = report.stored_before,
                    stored_after = report.stored_after,
                    "eviction"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %modvault_error::chain(&e), "eviction failed"),
            }
        }
    });
}

/// The webhook secrets and the `[[go_import]]` mappings for `/hooks/`.
pub fn webhook_settings(config: &Config) -> WebhookSettings {
    let secret = |s: &Option<modvault_config::Secret>| {
        s.as_ref().map(|s| HookSecret::new(s.expose().as_bytes()))
    };
    WebhookSettings {
        github: secret(&config.webhook.github),
        gitlab: secret(&config.webhook.gitlab),
        gitea: secret(&config.webhook.gitea),
        go_imports: config
            .go_imports
            .iter()
            .filter(|g| g.vcs == "git")
            .map(|g| (g.prefix.clone(), g.repo.clone()))
            .collect(),
    }
}
