//! `modvault mirror SOURCE...`: fetch into the store everything the go
//! command needs to build some modules, through the proxy's own fetch path
//! (upstream chain, rules, checksum verification, catalog), so the store
//! is what serving those builds would have left.
//!
//! For a go.mod this is the module graph as the go command loads it
//! (`modload.readModGraph`): the main module's requirements, each loaded
//! module's requirements, and, where a module's go.mod says `go 1.17` or
//! later, *not* its requirements' requirements (graph pruning), unless the
//! path to it was unpruned. Minimal version selection picks the highest
//! version of each path; what is fetched is every version whose go.mod the
//! go command reads plus every selected version (`go mod download all`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use modvault_checksum::Relay;
use modvault_core::gomod::lang_at_least;
use modvault_core::semver;
use modvault_proxy::{
    Body, FetchPolicy, FileRequest, ModVersion, Module, ModuleProxy, Request, RuleSet,
};
use modvault_store::read_to_bytes;

/// `module@version`.
pub type ModVer = (String, String);

/// What every operation works through.
#[derive(Clone)]
pub struct Ops {
    pub proxy: ModuleProxy,
    pub rules: Arc<RuleSet>,
    /// Relayed upstream checksum databases, if any.
    pub relay: Option<Arc<Relay>>,
    /// Names and verifier keys of the relayed databases (`sumdb.upstream`).
    pub sumdb_keys: Vec<(String, String)>,
    /// Local scratch space (the proxy's spool directory).
    pub spool_dir: PathBuf,
    /// Versions fetched at once.
    pub jobs: usize,
    /// Whether each version was complete in the store when first touched:
    /// reading a go.mod starts its zip's fetch in the background (as for
    /// a client), so by the fetching phase it may be complete already.
    pub complete_before: Arc<Mutex<HashMap<ModVer, bool>>>,
}

/// What one run did, for the summary and the exit status.
#[derive(Debug, Default)]
pub struct Report {
    pub fetched: usize,
    pub fetched_bytes: u64,
    pub present: usize,
    /// `what`, and why it failed.
    pub failed: Vec<(String, String)>,
}

impl Report {
    pub fn print(&self, verb: &str) {
        println!(
            "{verb}: {} fetched ({}), {} already present, {} failed",
            self.fetched,
            HumanBytes(self.fetched_bytes),
            self.present,
            self.failed.len()
        );
        for (what, why) in &self.failed {
            println!("failed: {what}: {why}");
        }
    }
}

/// Progress on the terminal (a bar), or plain lines when stderr is not one.
pub struct Progress {
    bar: Option<ProgressBar>,
    what: &'static str,
    total: u64,
    done: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
}

impl Progress {
    /// Counting versions (and the bytes they carry).
    pub fn versions(what: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} versions, {msg}, eta {eta}",
                )
                .expect("valid template"),
            );
            bar.set_prefix(what);
            bar
        });
        Progress::with(bar, what, total)
    }

    /// Counting bytes of a file read through.
    pub fn bytes(what: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
                )
                .expect("valid template"),
            );
            bar.set_prefix(what);
            bar
        });
        Progress::with(bar, what, total)
    }

    fn with(bar: Option<ProgressBar>, what: &'static str, total: u64) -> Progress {
        Progress {
            bar,
            what,
            total,
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// One version done, having moved `bytes`.
    pub fn version_done(&self, line: &str, bytes: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total_bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = HumanBytes((total_bytes as f64 / seconds) as u64);
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} ({rate}/s)", HumanBytes(total_bytes)));
                bar.inc(1);
            }
            None => eprintln!("{} [{done}/{}] {line}", self.what, self.total),
        }
    }

    /// The position in bytes (for [`Progress::bytes`]).
    pub fn set_position(&self, position: u64, line: Option<&str>) {
        match &self.bar {
            Some(bar) => bar.set_position(position),
            None => {
                if let Some(line) = line {
                    eprintln!(
                        "{} [{}/{}] {line}",
                        self.what,
                        HumanBytes(position),
                        HumanBytes(self.total)
                    );
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `modvault mirror SOURCE...`.
pub async fn mirror(ops: &Ops, sources: &[String]) -> Report {
    let (plan, mut failed) = resolve(ops, sources).await;
    let mut report = fetch_all(ops, &plan, "mirror").await;
    failed.append(&mut report.failed);
    report.failed = failed;
    report
}

/// Every version the sources need, and what could not be resolved.
pub async fn resolve(ops: &Ops, sources: &[String]) -> (BTreeSet<ModVer>, Vec<(String, String)>) {
    let mut plan = BTreeSet::new();
    let mut failed = Vec::new();
    for source in sources {
        if let Err(e) = resolve_one(ops, source, &mut plan, &mut failed).await {
            failed.push((source.clone(), e));
        }
    }
    (plan, failed)
}

async fn resolve_one(
    ops: &Ops,
    source: &str,
    plan: &mut BTreeSet<ModVer>,
    failed: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let path = Path::new(source);
    if path.is_dir() {
        let (go_mod, go_sum) = (path.join("go.mod"), path.join("go.sum"));
        if !go_mod.exists() && !go_sum.exists() {
            return Err("holds neither go.mod nor go.sum".into());
        }
        if go_mod.exists() {
            main_go_mod(ops, &go_mod, plan, failed).await?;
        }
        if go_sum.exists() {
            plan.extend(go_sum_versions(&go_sum)?);
        }
        return Ok(());
    }
    if path.is_file() {
        if path.file_name().is_some_and(|n| n == "go.sum") {
            plan.extend(go_sum_versions(path)?);
        } else {
            main_go_mod(ops, path, plan, failed).await?;
        }
        return Ok(());
    }
    let Some((module, query)) = source.split_once('@') else {
        return Err("not a file, a directory or module@version".into());
    };
    // As `go install module@version`: the module is the main module.
    let info = read_small(ops, module, FileRequest::Info(query.to_owned())).await?;
    let version = modvault_upstream::RevInfo::parse(info)
        .map_err(|e| format!("{module}@{query}: {e}"))?
        .version;
    note_complete(ops, module, &version).await;
    let go_mod = read_small(ops, module, FileRequest::GoMod(version.clone())).await?;
    let file = GoModFile::parse(&go_mod);
    plan.insert((module.to_owned(), version));
    let main = GoModFile {
        replace: Vec::new(),
        exclude: HashSet::new(),
        ..file
    };
    graph(ops, &main, None, plan, failed).await;
    Ok(())
}

async fn main_go_mod(
    ops: &Ops,
    path: &Path,
    plan: &mut BTreeSet<ModVer>,
    failed: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let main = GoModFile::parse(&data);
    graph(ops, &main, path.parent(), plan, failed).await;
    Ok(())
}

fn go_sum_versions(path: &Path) -> Result<Vec<ModVer>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (module, version) = (fields.next()?, fields.next()?);
            let version = version.strip_suffix("/go.mod").unwrap_or(version);
            Some((module.to_owned(), version.to_owned()))
        })
        .collect())
}

/// Whether a module's requirements are loaded transitively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pruning {
    Pruned,
    Unpruned,
}

fn pruning_of(go: Option<&str>) -> Pruning {
    match go {
        Some(go) if lang_at_least(go, "1.17") => Pruning::Pruned,
        _ => Pruning::Unpruned,
    }
}

struct Summary {
    require: Vec<ModVer>,
    pruning: Pruning,
}

/// `modload.readModGraph` for a single main module, then MVS; adds what
/// the go command would download to `plan`.
async fn graph(
    ops: &Ops,
    main: &GoModFile,
    main_dir: Option<&Path>,
    plan: &mut BTreeSet<ModVer>,
    failed: &mut Vec<(String, String)>,
) {
    let main_pruning = pruning_of(main.go.as_deref());
    let roots: Vec<ModVer> = main
        .require
        .iter()
        .filter(|r| !main.exclude.contains(*r))
        .cloned()
        .collect();
    let mut nodes: HashSet<ModVer> = roots.iter().cloned().collect();
    let mut summaries: HashMap<ModVer, Option<Summary>> = HashMap::new();
    let mut enqueued: HashSet<(ModVer, Pruning)> = HashSet::new();
    let mut frontier: Vec<(ModVer, Pruning)> = Vec::new();
    for root in roots {
        if enqueued.insert((root.clone(), main_pruning)) {
            frontier.push((root, main_pruning));
        }
    }
    while !frontier.is_empty() {
        let to_load: BTreeSet<ModVer> = frontier
            .iter()
            .map(|(m, _)| m.clone())
            .filter(|m| !summaries.contains_key(m))
            .collect();
        let loaded: Vec<(ModVer, Result<Summary, String>)> = futures::stream::iter(to_load)
            .map(|m| async move {
                let summary = summary(ops, main, main_dir, &m).await;
                (m, summary)
            })
            .buffer_unordered(ops.jobs.max(1))
            .collect()
            .await;
        for (m, summary) in loaded {
            match summary {
                Ok(summary) => {
                    summaries.insert(m, Some(summary));
                }
                Err(e) => {
                    failed.push((format!("{}@{} (go.mod)", m.0, m.1), e));
                    summaries.insert(m, None);
                }
            }
        }
        let mut next = Vec::new();
        for (m, pruning) in frontier {
            let Some(Some(summary)) = summaries.get(&m) else {
                continue;
            };
            nodes.extend(summary.require.iter().cloned());
            let next_pruning = if pruning == Pruning::Unpruned {
                Pruning::Unpruned
            } else {
                summary.pruning
            };
            for r in &summary.require {
                if (pruning != Pruning::Pruned || summary.pruning == Pruning::Unpruned)
                    && enqueued.insert((r.clone(), next_pruning))
                {
                    next.push((r.clone(), next_pruning));
                }
            }
        }
        frontier = next;
        eprintln!(
            "resolve: {} go.mod files read, {} more to read",
            summaries.len(),
            frontier.len()
        );
    }
    // MVS: the highest version of each path anywhere in the graph.
    let mut selected: HashMap<&str, &str> = HashMap::new();
    for (path, version) in &nodes {
        let best = selected.entry(path).or_insert(version);
        if semver::compare(best, version).is_lt() {
            *best = version;
        }
    }
    let read_go_mods = summaries
        .iter()
        .filter(|(_, s)| s.is_some())
        .map(|(m, _)| m.clone());
    let chosen = selected
        .iter()
        .map(|(p, v)| ((*p).to_owned(), (*v).to_owned()));
    for m in read_go_mods.chain(chosen) {
        if let Some(Target::Module(path, version)) = main.replacement(&m) {
            plan.insert((path, version));
        } else if main.replacement(&m).is_none() {
            plan.insert(m);
        }
    }
}

/// The requirements of `m` as the main module sees them: through its
/// replacements, without its exclusions.
async fn summary(
    ops: &Ops,
    main: &GoModFile,
    main_dir: Option<&Path>,
    m: &ModVer,
) -> Result<Summary, String> {
    let data = match main.replacement(m) {
        Some(Target::Dir(dir)) => {
            let base = main_dir.ok_or("a directory replacement needs a go.mod on disk")?;
            let go_mod = base.join(dir).join("go.mod");
            Bytes::from(std::fs::read(&go_mod).map_err(|e| format!("{}: {e}", go_mod.display()))?)
        }
        Some(Target::Module(path, version)) => {
            read_small(ops, &path, FileRequest::GoMod(version)).await?
        }
        None => {
            note_complete(ops, &m.0, &m.1).await;
            read_small(ops, &m.0, FileRequest::GoMod(m.1.clone())).await?
        }
    };
    let file = GoModFile::parse(&data);
    Ok(Summary {
        pruning: pruning_of(file.go.as_deref()),
        require: file
            .require
            .into_iter()
            .filter(|r| !main.exclude.contains(r))
            .collect(),
    })
}

/// A small protocol file (`.info`, `.mod`) through the proxy.
pub(crate) async fn read_small(ops: &Ops, path: &str, file: FileRequest) -> Result<Bytes, String> {
    let module = Module::new(path).map_err(|e| e.to_string())?;
    let request = Request {
        route: ops.rules.route(path),
        module,
        file,
        policy: FetchPolicy::FetchOnMiss,
    };
    let answer = ops.proxy.serve(&request).await.map_err(|e| e.to_string())?;
    match answer.body {
        Body::Bytes(bytes) => Ok(bytes),
        Body::Stored { key, .. } => read_to_bytes(ops.proxy.store().as_ref(), &key)
            .await
            .map_err(|e| e.to_string())?
            .map(|(_, bytes)| bytes)
            .ok_or_else(|| format!("{key}: gone from the store")),
        Body::Streaming(mut stream) => {
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
            }
            Ok(Bytes::from(out))
        }
    }
}

/// Fetches every version of `plan` (`.info`, `.mod`, `.zip`), `ops.jobs`
/// at a time; what is stored already is skipped.
pub async fn fetch_all(ops: &Ops, plan: &BTreeSet<ModVer>, what: &'static str) -> Report {
    let progress = Progress::versions(what, plan.len() as u64);
    let report = Mutex::new(Report::default());
    futures::stream::iter(plan)
        .for_each_concurrent(ops.jobs.max(1), |(path, version)| {
            let (progress, report) = (&progress, &report);
            async move {
                let outcome = fetch_version(ops, path, version).await;
                let mut report = report.lock().expect("report lock");
                match outcome {
                    Ok(None) => {
                        report.present += 1;
                        progress.version_done(&format!("{path}@{version} already present"), 0);
                    }
                    Ok(Some(bytes)) => {
                        report.fetched += 1;
                        report.fetched_bytes += bytes;
                        progress.version_done(
                            &format!("{path}@{version} fetched ({})", HumanBytes(bytes)),
                            bytes,
                        );
                    }
                    Err(e) => {
                        progress.version_done(&format!("{path}@{version} failed: {e}"), 0);
                        report.failed.push((format!("{path}@{version}"), e));
                    }
                }
            }
        })
        .await;
    // A version found complete may still be cataloguing in the background.
    ops.proxy.settled().await;
    progress.finish();
    report.into_inner().expect("report lock")
}

/// Whether `path@version` has its `.info`, `.mod` and `.zip` stored.
async fn is_complete(ops: &Ops, mv: &ModVersion) -> Result<bool, String> {
    for key in [mv.info_key(), mv.mod_key(), mv.zip_key()] {
        if ops
            .proxy
            .store()
            .head(&key)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Remembers whether a version was complete before this run touched it.
async fn note_complete(ops: &Ops, path: &str, version: &str) {
    let key = (path.to_owned(), version.to_owned());
    if ops.complete_before.lock().expect("lock").contains_key(&key) {
        return;
    }
    let Ok(module) = Module::new(path) else {
        return;
    };
    let Ok(mv) = ModVersion::new(&module, version) else {
        return;
    };
    let complete = is_complete(ops, &mv).await.unwrap_or(false);
    ops.complete_before
        .lock()
        .expect("lock")
        .entry(key)
        .or_insert(complete);
}

/// `None` when the version was complete in the store before this run,
/// else the zip's size.
pub(crate) async fn fetch_version(
    ops: &Ops,
    path: &str,
    version: &str,
) -> Result<Option<u64>, String> {
    let module = Module::new(path).map_err(|e| e.to_string())?;
    let mv = ModVersion::new(&module, version).map_err(|e| e.to_string())?;
    let store = ops.proxy.store();
    let stored = |key: String| async move { store.head(&key).await.map(|m| m.is_some()) };
    let complete = is_complete(ops, &mv).await?;
    let before = ops
        .complete_before
        .lock()
        .expect("lock")
        .get(&(path.to_owned(), version.to_owned()))
        .copied();
    if complete && before.unwrap_or(true) {
        return Ok(None);
    }
    if complete {
        // Fetched by this run, in the background while resolving.
        let meta = store.head(&mv.zip_key()).await.map_err(|e| e.to_string())?;
        return Ok(Some(meta.map_or(0, |m| m.size)));
    }
    // The go.mod first: it stores .info and .mod, as a client's first
    // request does; then the zip, streamed through and dropped.
    read_small(ops, path, FileRequest::GoMod(version.to_owned())).await?;
    let request = Request {
        route: ops.rules.route(path),
        module,
        file: FileRequest::Zip(version.to_owned()),
        policy: FetchPolicy::FetchOnMiss,
    };
    let answer = ops.proxy.serve(&request).await.map_err(|e| e.to_string())?;
    let size = match answer.body {
        Body::Stored { meta, .. } => meta.size,
        Body::Bytes(bytes) => bytes.len() as u64,
        Body::Streaming(mut stream) => {
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                size += chunk.map_err(|e| e.to_string())?.len() as u64;
            }
            size
        }
    };
    for key in [mv.info_key(), mv.mod_key(), mv.zip_key()] {
        if !stored(key.clone()).await.map_err(|e| e.to_string())? {
            return Err(format!("{key} was fetched but could not be stored"));
        }
    }
    Ok(Some(size))
}

/// Where a replaced module's go.mod and files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Module(String, String),
    Dir(String),
}

/// The directives of a go.mod that decide its module graph.
#[derive(Clone, Debug, Default)]
struct GoModFile {
    go: Option<String>,
    require: Vec<ModVer>,
    exclude: HashSet<ModVer>,
    /// (old path, old version if given, target)
    replace: Vec<(String, Option<String>, Target)>,
}

impl GoModFile {
    /// A lenient reader of `go`, `require`, `exclude` and `replace` lines
    /// and blocks; anything else is ignored, as the module graph needs
    /// nothing more.
    fn parse(data: &[u8]) -> GoModFile {
        let text = String::from_utf8_lossy(data);
        let mut file = GoModFile::default();
        let mut block: Option<String> = None;
        for line in text.lines() {
            let line = line.split("//").next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let tokens: Vec<String> = line
                .split_whitespace()
                .map(|t| t.trim_matches(|c| c == '"' || c == '`').to_owned())
                .collect();
            if let Some(verb) = &block {
                if tokens[0] == ")" {
                    block = None;
                } else {
                    let verb = verb.clone();
                    file.directive(&verb, &tokens);
                }
                continue;
            }
            if tokens.len() == 2 && tokens[1] == "(" {
                block = Some(tokens[0].clone());
                continue;
            }
            file.directive(&tokens[0], &tokens[1..]);
        }
        file
    }

    fn directive(&mut self, verb: &str, args: &[String]) {
        match (verb, args) {
            ("go", [version, ..]) => self.go = Some(version.clone()),
            ("require", [path, version, ..]) => {
                self.require.push((path.clone(), version.clone()));
            }
            ("exclude", [path, version, ..]) => {
                self.exclude.insert((path.clone(), version.clone()));
            }
            ("replace", _) => {
                let Some(arrow) = args.iter().position(|a| a == "=>") else {
                    return;
                };
                let (old, new) = (&args[..arrow], &args[arrow + 1..]);
                let target = match new {
                    [path, version] => Target::Module(path.clone(), version.clone()),
                    [dir] => Target::Dir(dir.clone()),
                    _ => return,
                };
                match old {
                    [path] => self.replace.push((path.clone(), None, target)),
                    [path, version] => {
                        self.replace
                            .push((path.clone(), Some(version.clone()), target));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The replacement of `m`: one for its exact version wins over one
    /// for every version of its path.
    fn replacement(&self, m: &ModVer) -> Option<Target> {
        let exact = self
            .replace
            .iter()
            .find(|(path, version, _)| *path == m.0 && version.as_deref() == Some(&m.1));
        let any = || {
            self.replace
                .iter()
                .find(|(path, version, _)| *path == m.0 && version.is_none())
        };
        exact.or_else(any).map(|(_, _, target)| target.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mod_directives_are_read_in_lines_and_blocks() {
        let file = GoModFile::parse(
            b"module example.com/app // the app\n\ngo 1.21\n\nrequire example.com/a v1.0.0\nrequire (\n\texample.com/b v1.2.0 // indirect\n\t\"example.com/c\" v0.1.0\n)\nexclude example.com/b v1.1.0\nreplace (\n\texample.com/c => ../c\n\texample.com/a v1.0.0 => example.com/fork v1.0.1\n)\n",
        );
        assert_eq!(file.go.as_deref(), Some("1.21"));
        assert_eq!(
            file.require,
            vec![
                ("example.com/a".into(), "v1.0.0".into()),
                ("example.com/b".into(), "v1.2.0".into()),
                ("example.com/c".into(), "v0.1.0".into()),
            ]
        );
        assert!(file
            .exclude
            .contains(&("example.com/b".into(), "v1.1.0".into())));
        assert_eq!(
            file.replacement(&("example.com/c".into(), "v0.1.0".into())),
            Some(Target::Dir("../c".into()))
        );
        assert_eq!(
            file.replacement(&("example.com/a".into(), "v1.0.0".into())),
            Some(Target::Module("example.com/fork".into(), "v1.0.1".into()))
        );
        assert_eq!(
            file.replacement(&("example.com/a".into(), "v1.1.0".into())),
            None
        );
    }

    #[test]
    fn pruning_starts_at_go_1_17() {
        assert_eq!(pruning_of(Some("1.16")), Pruning::Unpruned);
        assert_eq!(pruning_of(None), Pruning::Unpruned);
        assert_eq!(pruning_of(Some("1.17")), Pruning::Pruned);
        assert_eq!(pruning_of(Some("1.21.3")), Pruning::Pruned);
    }
}
