//! `modvault mirror`, `export` and `import`: the command lines of
//! `modvault_ops`, on the data directory (or bucket) a server would use,
//! with the same settings and without a running server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command};

use modvault_ops::bundle::{self, Selection};
use modvault_ops::mirror::{self, Ops};
use modvault_store::layout::DataDir;

use crate::{init_logging, load_config, wire_proxy};

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

/// The three subcommands, each with every setting flag (`with_settings`).
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
    ]
}

pub fn run(name: &str, args: &ArgMatches) -> ExitCode {
    let config = match load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("modvault: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(operate(name, args, &config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("modvault {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn operate(
    name: &str,
    args: &ArgMatches,
    config: &modvault_config::Config,
) -> anyhow::Result<ExitCode> {
    let data = DataDir::new(&config.data_dir);
    // One process per data directory: a running server holds it too.
    let _lock = data
        .lock()
        .with_context(|| format!("cannot lock data_dir {}", data.root().display()))?;
    let (proxy, relay, _) = wire_proxy(config, &data).await?;
    let ops = Ops {
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
        jobs: usize::from(*args.get_one::<u16>("jobs").expect("defaulted")),
        complete_before: Default::default(),
    };
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
