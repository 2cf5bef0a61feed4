//! The operations commands' wiring (`modvault gc`) and what `serve` runs
//! of them (eviction every `gc.interval`, webhook secrets); the work
//! itself is in `modvault_ops`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};

use modvault_config::{Config, SETTINGS};
use modvault_ops::gc::{Gc, Policy, Refetchable, Report};
use modvault_proxy::ModuleProxy;
use modvault_server::admin::{HookSecret, WebhookSettings};
use modvault_state::SharedState;
use modvault_store::layout::DataDir;

/// Every setting as a flag, as for `serve`.
fn with_settings(mut command: Command) -> Command {
    command = command.arg(
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
                .help(format!("{} [env: {}]", setting.help, setting.env())),
        );
    }
    command
}

pub fn gc_command() -> Command {
    with_settings(
        Command::new("gc")
            .about("Evict refetchable versions by the [gc] policy once, listing what goes and why")
            .args_override_self(true)
            .arg(
                Arg::new("dry-run")
                    .long("dry-run")
                    .action(ArgAction::SetTrue)
                    .help("List what would be evicted; change nothing"),
            ),
    )
}

/// `modvault gc [settings] [--dry-run]`.
pub fn gc(args: &ArgMatches) -> ExitCode {
    let config = match crate::load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Err(code) = crate::init_audit(&config) {
        return code;
    }
    let dry_run = args.get_flag("dry-run");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run_gc(&config, dry_run)) {
        Ok(report) => {
            print_report(&report, &config, dry_run);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("modvault: {e:#}");
            ExitCode::FAILURE
        }
    }
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
