//! `modvault verify [PATTERN] [--repair]`: every stored version's files
//! hashed again and compared with everything that recorded them.
//!
//! What is walked: the catalog and the store listing (module files only:
//! `<module>/@v/<version>.{info,mod,zip,ziphash}`; `list`, `@latest` and
//! relayed checksum-database files are not module versions), limited to the
//! module paths PATTERN matches (`module.MatchPrefixPatterns`, as
//! GOPRIVATE: `golang.org/x/tools` is that module and every module below
//! it; `example.com/*` every module of that host).
//!
//! What a version is compared with (every record there is, no network):
//! - its `.ziphash`, written when the zip was stored;
//! - its catalog entry (the zip's size, and that the version is catalogued);
//! - modvault's own checksum log, when it runs one (zip and go.mod `h1:`);
//! - every relayed checksum database's lookup answer that the verifier
//!   authenticated when the version was fetched (kept in the store).
//!
//! A version is `corrupt` when a file differs from a record, the zip is
//! not a valid module zip or the `.info` is not the version's; `missing`
//! when the catalog lists it and a file is gone; `unrecorded` when files
//! are in the store but the catalog does not list the version (or a file
//! under `@v/` is no module file).
//!
//! `--repair`: a corrupt or missing version that the configured upstreams
//! can serve again (the rules of eviction: origin `upstream` or `git`
//! while the upstream list can fetch it, public route) is moved aside and
//! fetched again through the proxy's own fetch path (verified against the
//! checksum database as any fetch is), then checked again against the
//! records it had; the copy moved aside is deleted only once the new one
//! is clean. What cannot be fetched again (published here, private, of
//! unknown origin, upstream off, the fetch failed, or the new copy still
//! differs from the records) is quarantined: its files moved under
//! `.modvault/quarantine/` in the same store (never served, never listed as
//! module files, and on every store backend) with a `.reason` file, and its
//! catalog entry removed; nothing is ever deleted that is the only copy.
//! An unrecorded version whose files match their records is catalogued
//! again (origin unknown, so never evicted); other unrecorded files are
//! quarantined.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use indicatif::HumanBytes;
use serde::{Deserialize, Serialize};

use modvault_core::dirhash::hash_go_mod;
use modvault_core::escape::{escape_path, escape_version, unescape_path, unescape_version};
use modvault_core::pattern::{is_valid_glob, match_prefix_patterns};
use modvault_proxy::{verify_zip_file, ModVersion, Module};
use modvault_rules::RuleSet;
use modvault_state::{Catalog, CatalogEntry, CatalogQuery, ChecksumLog, Match, StateError};
use modvault_store::{layout, read_to_bytes, PutBody, PutMode, Store, StoreError};
use modvault_sumdb::lookup::parse_lookup_response;

use crate::gc::Refetchable;
use crate::mirror::{fetch_version, Ops, Progress};

/// Where quarantined files go: a private key prefix, so every store
/// backend holds them and nothing serves them.
pub const QUARANTINE: &str = ".modvault/quarantine/";
/// Catalog entries read per page.
const PAGE: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("invalid PATTERN {0:?}: a comma-separated list of module path globs")]
    Pattern(String),
    #[error("catalog: {0}")]
    State(#[from] StateError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("scratch space: {0}")]
    Io(#[from] std::io::Error),
}

/// What one run reads and (with `repair`) changes.
pub struct Verify {
    pub store: Arc<dyn Store>,
    pub catalog: Arc<dyn Catalog>,
    /// modvault's own checksum log, if it runs one.
    pub own_log: Option<Arc<dyn ChecksumLog>>,
    /// Names of the relayed checksum databases (`sumdb.upstream`).
    pub relayed: Vec<String>,
    pub rules: Arc<RuleSet>,
    pub refetchable: Refetchable,
    /// A local directory in which a private scratch directory is made for
    /// zips being hashed (they are streamed to disk, never held in memory).
    pub scratch_dir: PathBuf,
    /// Versions checked at once.
    pub jobs: usize,
    /// `Some` with `--repair`: fetching again goes through this proxy.
    pub repair: Option<Ops>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Corrupt,
    Missing,
    Unrecorded,
    Repaired,
    Quarantined,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Corrupt => "corrupt",
            Kind::Missing => "missing",
            Kind::Unrecorded => "unrecorded",
            Kind::Repaired => "repaired",
            Kind::Quarantined => "quarantined",
        }
    }
}

/// One problem (or what repairing it did).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// `module@version`, or the store key of a file that is no module file.
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub versions: u64,
    pub bytes_hashed: u64,
    /// Catalogued versions with no recorded `h1:` at all: checked as valid
    /// module zips only.
    pub without_hash: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn count(&self, kind: Kind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }

    /// Whether anything is damaged still: a problem not repaired, or
    /// anything quarantined (lost to clients until dealt with).
    pub fn damaged(&self) -> bool {
        let repaired: std::collections::HashSet<&str> = self
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Repaired)
            .map(|f| f.what.as_str())
            .collect();
        self.findings.iter().any(|f| match f.kind {
            Kind::Repaired => false,
            Kind::Quarantined => true,
            _ => !repaired.contains(f.what.as_str()),
        })
    }

    pub fn print(&self, repair: bool) {
        for f in &self.findings {
            println!("{}\t{}\t{}", f.kind.as_str(), f.what, f.reason);
        }
        let mut summary = format!(
            "verify: {} versions checked ({} hashed): {} corrupt, {} missing, {} unrecorded",
            self.versions,
            HumanBytes(self.bytes_hashed),
            self.count(Kind::Corrupt),
            self.count(Kind::Missing),
            self.count(Kind::Unrecorded),
        );
        if repair {
            summary.push_str(&format!(", {} repaired", self.count(Kind::Repaired)));
        }
        summary.push_str(&format!(", {} quarantined", self.count(Kind::Quarantined)));
        println!("{summary}");
        if self.without_hash > 0 {
            println!(
                "{} versions have no recorded h1: (no .ziphash, no checksum record): checked as valid module zips only",
                self.without_hash
            );
        }
        if self.count(Kind::Quarantined) > 0 {
            println!("quarantined files are under {QUARANTINE} in the store; delete a version's files there once it is dealt with (published again, or given up)");
        }
    }
}

/// A `.reason` file in the quarantine.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Quarantined {
    what: String,
    module: String,
    reason: String,
    time: String,
}

/// The `h1:` hashes one record holds for a version.
#[derive(Clone, Debug)]
struct Record {
    source: String,
    zip: Option<String>,
    go_mod: Option<String>,
}

/// One version, checked.
#[derive(Clone, Debug)]
struct Checked {
    module: String,
    version: String,
    entry: Option<CatalogEntry>,
    problems: Vec<(Kind, String)>,
    hashed: u64,
    records: Vec<Record>,
    zip_h1: Option<String>,
}

impl Checked {
    fn finding(&self) -> Option<Finding> {
        let kind = self.problems.iter().map(|(k, _)| *k).min()?;
        let reason = self
            .problems
            .iter()
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Some(Finding {
            kind,
            what: format!("{}@{}", self.module, self.version),
            reason,
        })
    }
}

impl Verify {
    /// Checks (and with `repair` set, repairs) every version PATTERN
    /// matches; `None` is every version.
    pub async fn run(&self, pattern: Option<&str>) -> Result<Report, VerifyError> {
        if let Some(p) = pattern {
            if p.split(',').any(|g| g.is_empty() || !is_valid_glob(g)) {
                return Err(VerifyError::Pattern(p.to_owned()));
            }
        }
        let matches = |module: &str| pattern.is_none_or(|p| match_prefix_patterns(p, module));
        let literal = pattern.map(literal_prefix).unwrap_or_default();

        let mut versions: BTreeMap<(String, String), Option<CatalogEntry>> = BTreeMap::new();
        let mut offset = 0;
        loop {
            let page = self
                .catalog
                .search(&CatalogQuery {
                    text: literal.clone(),
                    matching: Match::Prefix,
                    limit: PAGE,
                    offset,
                })
                .await?;
            offset += page.len();
            let last = page.len() < PAGE;
            for entry in page.into_iter().filter(|e| matches(&e.module)) {
                versions.insert((entry.module.clone(), entry.version.clone()), Some(entry));
            }
            if last {
                break;
            }
        }
        let list_prefix = if literal.is_empty() {
            String::new()
        } else {
            escape_path(&literal)
                .map(|p| format!("{p}/"))
                .unwrap_or_default()
        };
        let mut strays = Vec::new();
        for key in self.store.list(&list_prefix).await? {
            match version_of_key(&key) {
                KeyKind::Version(module, version) if matches(&module) => {
                    versions.entry((module, version)).or_insert(None);
                }
                KeyKind::Stray(module) if matches(&module) => strays.push(key),
                _ => {}
            }
        }
        strays.sort();

        let mut report = Report {
            versions: versions.len() as u64,
            ..Report::default()
        };
        // Quarantined earlier: still lost to clients.
        for q in self.quarantined().await? {
            if matches(&q.module) {
                report.findings.push(Finding {
                    kind: Kind::Quarantined,
                    what: q.what,
                    reason: format!("(since {}) {}", q.time, q.reason),
                });
            }
        }

        std::fs::create_dir_all(&self.scratch_dir)?;
        let scratch = tempfile::Builder::new()
            .prefix("verify-")
            .tempdir_in(&self.scratch_dir)?;
        let progress = Progress::versions("verify", versions.len() as u64);
        let shared = Mutex::new(report);
        let scratch_path = scratch.path();
        let outcomes = futures::stream::iter(versions)
            .map(|((module, version), entry)| {
                let (progress, shared) = (&progress, &shared);
                async move {
                    let checked = self.check(scratch_path, &module, &version, entry).await?;
                    let mut findings = Vec::new();
                    if let Some(finding) = checked.finding() {
                        findings.push(finding.clone());
                        if self.repair.is_some() {
                            findings
                                .push(self.repair(scratch_path, checked.clone(), finding).await?);
                        }
                    }
                    let line = match findings.last() {
                        Some(f) => format!("{module}@{version} {}: {}", f.kind.as_str(), f.reason),
                        None => format!("{module}@{version} ok"),
                    };
                    progress.version_done(&line, checked.hashed);
                    let mut report = shared.lock().expect("report lock");
                    report.bytes_hashed += checked.hashed;
                    if checked.problems.is_empty()
                        && checked.entry.is_some()
                        && checked.records.iter().all(|r| r.zip.is_none())
                    {
                        report.without_hash += 1;
                    }
                    report.findings.extend(findings);
                    Ok::<(), VerifyError>(())
                }
            })
            .buffer_unordered(self.jobs.max(1))
            .collect::<Vec<_>>()
            .await;
        progress.finish();
        outcomes.into_iter().collect::<Result<(), _>>()?;
        let mut report = shared.into_inner().expect("report lock");

        for key in strays {
            let module = key
                .split_once("/@v/")
                .and_then(|(p, _)| unescape_path(p).ok())
                .unwrap_or_default();
            let finding = Finding {
                kind: Kind::Unrecorded,
                what: key.clone(),
                reason: "not a module file".into(),
            };
            report.findings.push(finding.clone());
            if self.repair.is_some() {
                self.move_to_quarantine(scratch_path, &key).await?;
                report.findings.push(
                    self.quarantine_note(&key, &module, &key, "not a module file")
                        .await?,
                );
            }
        }
        // Problems first, then what repairing did, each sorted.
        report.findings.sort_by(|a, b| {
            (a.kind >= Kind::Repaired, &a.what, a.kind).cmp(&(
                b.kind >= Kind::Repaired,
                &b.what,
                b.kind,
            ))
        });
        Ok(report)
    }

    /// Hashes one version's files and compares them with its records.
    async fn check(
        &self,
        scratch: &Path,
        module: &str,
        version: &str,
        entry: Option<CatalogEntry>,
    ) -> Result<Checked, VerifyError> {
        let mut checked = Checked {
            module: module.to_owned(),
            version: version.to_owned(),
            entry,
            problems: Vec::new(),
            hashed: 0,
            records: Vec::new(),
            zip_h1: None,
        };
        let mv = match Module::new(module).and_then(|m| ModVersion::new(&m, version)) {
            Ok(mv) => mv,
            Err(e) => {
                checked
                    .problems
                    .push((Kind::Corrupt, format!("not a module version: {e}")));
                return Ok(checked);
            }
        };
        checked.records = self.records(&mv).await?;
        if checked.entry.is_none() {
            // Stored by a running server after the catalog was walked?
            checked.entry = self.entry(module, version).await?;
        }
        if checked.entry.is_none() {
            checked
                .problems
                .push((Kind::Unrecorded, "not in the catalog".into()));
        }

        match spool_object(self.store.as_ref(), &mv.zip_key(), scratch).await? {
            None => checked
                .problems
                .push((Kind::Missing, "no .zip in the store".into())),
            Some((spool, size)) => {
                checked.hashed = size;
                if let Some(entry) = &checked.entry {
                    if entry.size != size {
                        checked.problems.push((
                            Kind::Corrupt,
                            format!(
                                "the zip is {size} bytes, the catalog records {}",
                                entry.size
                            ),
                        ));
                    }
                }
                match hash_zip_file(spool.path(), &mv).await? {
                    Err(reason) => checked
                        .problems
                        .push((Kind::Corrupt, format!("the zip is invalid: {reason}"))),
                    Ok(h1) => {
                        let wanted = checked.records.iter().map(|r| (r, r.zip.as_ref()));
                        if let Some(reason) = mismatch("zip", &h1, wanted) {
                            checked.problems.push((Kind::Corrupt, reason));
                        }
                        checked.zip_h1 = Some(h1);
                    }
                }
            }
        }

        match read_to_bytes(self.store.as_ref(), &mv.mod_key()).await? {
            None => checked
                .problems
                .push((Kind::Missing, "no .mod in the store".into())),
            Some((_, go_mod)) => {
                let h1 = hash_go_mod(&go_mod);
                let wanted = checked.records.iter().map(|r| (r, r.go_mod.as_ref()));
                if let Some(reason) = mismatch("go.mod", &h1, wanted) {
                    checked.problems.push((Kind::Corrupt, reason));
                }
            }
        }

        match read_to_bytes(self.store.as_ref(), &mv.info_key()).await? {
            None => checked
                .problems
                .push((Kind::Missing, "no .info in the store".into())),
            Some((_, info)) => match modvault_upstream::RevInfo::parse(info) {
                Err(e) => checked
                    .problems
                    .push((Kind::Corrupt, format!("the .info is unreadable: {e}"))),
                Ok(info) if info.version != version => checked.problems.push((
                    Kind::Corrupt,
                    format!("the .info names version {}", info.version),
                )),
                Ok(_) => {}
            },
        }
        let all_gone = checked
            .problems
            .iter()
            .filter(|(kind, _)| *kind == Kind::Missing)
            .count()
            == 3;
        if all_gone && checked.entry.is_some() && self.entry(module, version).await?.is_none() {
            // Evicted by a running server while this run walked: gone on
            // purpose, nothing is damaged.
            checked.problems.clear();
        }
        Ok(checked)
    }

    /// The catalog entry of a version now.
    async fn entry(
        &self,
        module: &str,
        version: &str,
    ) -> Result<Option<CatalogEntry>, VerifyError> {
        Ok(self
            .catalog
            .search(&CatalogQuery::module(module))
            .await?
            .into_iter()
            .find(|e| e.version == version))
    }

    /// Every record of a version's hashes that is kept here.
    async fn records(&self, mv: &ModVersion) -> Result<Vec<Record>, VerifyError> {
        let mut records = Vec::new();
        if let Some((_, hash)) = read_to_bytes(self.store.as_ref(), &mv.zip_hash_key()).await? {
            records.push(Record {
                source: "its .ziphash".into(),
                zip: Some(String::from_utf8_lossy(&hash).trim().to_owned()),
                go_mod: None,
            });
        }
        if let Some(log) = &self.own_log {
            if let Some(id) = log.find(mv.path(), &mv.version).await? {
                if let Some(text) = log.read_records(id, 1).await?.first() {
                    let (zip, go_mod) =
                        record_lines(&String::from_utf8_lossy(text), mv.path(), &mv.version);
                    records.push(Record {
                        source: "our checksum database".into(),
                        zip,
                        go_mod,
                    });
                }
            }
        }
        let key = format!("{}@{}", mv.module.escaped, escaped_version(mv));
        for name in &self.relayed {
            let lookup = layout::verified_lookup(name, &key);
            if let Some((_, body)) = read_to_bytes(self.store.as_ref(), &lookup).await? {
                if let Ok(response) = parse_lookup_response(&body) {
                    let (zip, go_mod) = record_lines(response.text, mv.path(), &mv.version);
                    records.push(Record {
                        source: format!("checksum database {name}"),
                        zip,
                        go_mod,
                    });
                }
            }
        }
        Ok(records)
    }

    /// Fetches a damaged version again, or quarantines it.
    async fn repair(
        &self,
        scratch: &Path,
        checked: Checked,
        finding: Finding,
    ) -> Result<Finding, VerifyError> {
        let ops = self.repair.as_ref().expect("repairing");
        let (module, version) = (checked.module.as_str(), checked.version.as_str());
        let mv = match Module::new(module).and_then(|m| ModVersion::new(&m, version)) {
            Ok(mv) => mv,
            Err(_) => return self.quarantine(scratch, &checked, &finding.reason).await,
        };
        let only_uncatalogued = checked.problems.iter().all(|(k, _)| *k == Kind::Unrecorded);
        if only_uncatalogued && checked.zip_h1.is_some() {
            if checked.records.iter().all(|r| r.zip.is_none()) {
                return self
                    .quarantine(
                        scratch,
                        &checked,
                        "not in the catalog and no h1: is recorded for it",
                    )
                    .await;
            }
            // Its files match what recorded them: catalogued again, as
            // the start-up backfill would.
            let meta = self.store.head(&mv.zip_key()).await?;
            let (size, stored_at) = meta.map_or((0, SystemTime::now()), |m| (m.size, m.modified));
            self.catalog
                .record(CatalogEntry {
                    module: module.to_owned(),
                    version: version.to_owned(),
                    origin: modvault_state::Origin::Unknown,
                    size,
                    stored_at,
                    last_served: None,
                })
                .await?;
            return Ok(self.repaired(
                &finding.what,
                "catalogued again as of unknown origin: its files match their records".into(),
            ));
        }
        let why_not = match &checked.entry {
            None => Some("not in the catalog, so its origin is unknown".to_owned()),
            Some(entry) if !self.refetchable.covers(entry.origin) => Some(format!(
                "{} version that the configured upstream cannot serve again",
                entry.origin.as_str()
            )),
            Some(_) if self.rules.route(module).is_private() => Some("private module".into()),
            Some(_) => None,
        };
        if let Some(why_not) = why_not {
            return self
                .quarantine(scratch, &checked, &format!("{why_not}: {}", finding.reason))
                .await;
        }
        // The damaged copy stays aside until the new one is clean.
        let moved = self.move_version_to_quarantine(scratch, &mv).await?;
        let fetched = fetch_version(ops, module, version).await;
        let outcome = match fetched {
            Err(e) => Err(format!("cannot fetch it again: {e}")),
            Ok(_) => {
                let entry = self.entry(module, version).await?;
                let again = self.check(scratch, module, version, entry).await?;
                // The .ziphash is rewritten by the fetch: the old one
                // counts when nothing else recorded the zip.
                let authenticated: Vec<&Record> = checked
                    .records
                    .iter()
                    .filter(|r| r.source != "its .ziphash")
                    .collect();
                let old_zip_hash = checked
                    .records
                    .iter()
                    .find(|r| r.source == "its .ziphash")
                    .and_then(|r| r.zip.clone());
                let differs_from_old = authenticated.iter().all(|r| r.zip.is_none())
                    && old_zip_hash.is_some()
                    && again.zip_h1 != old_zip_hash;
                match again.finding() {
                    Some(f) => Err(format!("fetched again, but: {}", f.reason)),
                    None if differs_from_old => Err(format!(
                        "fetched again, but the zip hashes to {}, its .ziphash recorded {}",
                        again.zip_h1.unwrap_or_default(),
                        old_zip_hash.unwrap_or_default()
                    )),
                    None => Ok(()),
                }
            }
        };
        match outcome {
            Ok(()) => {
                for key in &moved {
                    self.store.delete(&quarantine_key(key)).await?;
                }
                Ok(self.repaired(
                    &finding.what,
                    format!("fetched again and verified (was: {})", finding.reason),
                ))
            }
            Err(why) => {
                // The new copy is no better: out of serving too (the
                // upstream still has it); the old one stays aside.
                for key in [mv.zip_key(), mv.zip_hash_key(), mv.mod_key(), mv.info_key()] {
                    self.store.delete(&key).await?;
                }
                self.catalog.remove(module, version).await?;
                self.quarantine_note(
                    &finding.what,
                    module,
                    &version_base(&mv),
                    &format!("{why} (was: {})", finding.reason),
                )
                .await
            }
        }
    }

    fn repaired(&self, what: &str, reason: String) -> Finding {
        audit("verify_repair", what, &reason);
        metrics::counter!("modvault_verify_repaired_total").increment(1);
        Finding {
            kind: Kind::Repaired,
            what: what.to_owned(),
            reason,
        }
    }

    /// Moves a version out of serving and out of the catalog.
    async fn quarantine(
        &self,
        scratch: &Path,
        checked: &Checked,
        reason: &str,
    ) -> Result<Finding, VerifyError> {
        let what = format!("{}@{}", checked.module, checked.version);
        let base = match Module::new(&checked.module)
            .and_then(|m| ModVersion::new(&m, &checked.version))
        {
            Ok(mv) => {
                self.move_version_to_quarantine(scratch, &mv).await?;
                version_base(&mv)
            }
            Err(_) => what.clone(),
        };
        self.catalog
            .remove(&checked.module, &checked.version)
            .await?;
        self.quarantine_note(&what, &checked.module, &base, reason)
            .await
    }

    /// Moves whichever of a version's files exist; returns their keys.
    async fn move_version_to_quarantine(
        &self,
        scratch: &Path,
        mv: &ModVersion,
    ) -> Result<Vec<String>, VerifyError> {
        let mut moved = Vec::new();
        for key in [mv.zip_key(), mv.zip_hash_key(), mv.mod_key(), mv.info_key()] {
            if self.move_to_quarantine(scratch, &key).await? {
                moved.push(key);
            }
        }
        Ok(moved)
    }

    /// Copies a file under [`QUARANTINE`], streamed through local disk,
    /// then deletes it where it was: a failure in between leaves two
    /// copies, never none.
    async fn move_to_quarantine(&self, scratch: &Path, key: &str) -> Result<bool, VerifyError> {
        let Some((spool, _)) = spool_object(self.store.as_ref(), key, scratch).await? else {
            return Ok(false);
        };
        tokio::fs::File::open(spool.path())
            .await?
            .sync_all()
            .await?;
        self.store
            .put(
                &quarantine_key(key),
                PutBody::File(spool.path().to_owned()),
                PutMode::Overwrite,
            )
            .await?;
        self.store.delete(key).await?;
        Ok(true)
    }

    /// Writes why something is in quarantine (next to its files) and
    /// reports it.
    async fn quarantine_note(
        &self,
        what: &str,
        module: &str,
        base: &str,
        reason: &str,
    ) -> Result<Finding, VerifyError> {
        let note = Quarantined {
            what: what.to_owned(),
            module: module.to_owned(),
            reason: reason.to_owned(),
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        };
        let body = serde_json::to_vec(&note).map_err(std::io::Error::other)?;
        self.store
            .put(
                &quarantine_key(&format!("{base}.reason")),
                PutBody::Bytes(Bytes::from(body)),
                PutMode::Overwrite,
            )
            .await?;
        audit("quarantine", what, reason);
        metrics::counter!("modvault_verify_quarantined_total").increment(1);
        Ok(Finding {
            kind: Kind::Quarantined,
            what: what.to_owned(),
            reason: reason.to_owned(),
        })
    }

    /// What the quarantine holds, from its `.reason` files.
    async fn quarantined(&self) -> Result<Vec<Quarantined>, VerifyError> {
        let mut out = Vec::new();
        let mut keys = self.store.list(QUARANTINE).await?;
        keys.sort();
        for key in keys.iter().filter(|k| k.ends_with(".reason")) {
            if let Some((_, body)) = read_to_bytes(self.store.as_ref(), key).await? {
                match serde_json::from_slice::<Quarantined>(&body) {
                    Ok(note) => out.push(note),
                    Err(e) => tracing::warn!(%key, error = %e, "unreadable quarantine note"),
                }
            }
        }
        Ok(out)
    }
}

/// A stored object copied to a scratch file in `dir`, streamed (never
/// whole in memory): the file (removed when dropped) and its size; `None`
/// when nothing is stored under `key`.
pub(crate) async fn spool_object(
    store: &dyn Store,
    key: &str,
    dir: &Path,
) -> Result<Option<(tempfile::NamedTempFile, u64)>, VerifyError> {
    let Some(object) = store.get(key, None).await? else {
        return Ok(None);
    };
    let spool = tempfile::NamedTempFile::new_in(dir)?;
    let mut file = tokio::fs::File::create(spool.path()).await?;
    let mut body = tokio_util::io::StreamReader::new(object.body);
    let size = tokio::io::copy(&mut body, &mut file).await?;
    Ok(Some((spool, size)))
}

/// The `h1:` of a module zip on local disk, or the one-line reason it is
/// not a valid zip of `mv` (the checks of every fetch and upload).
pub(crate) async fn hash_zip_file(
    path: &Path,
    mv: &ModVersion,
) -> Result<Result<String, String>, VerifyError> {
    let (path, target) = (path.to_owned(), mv.target());
    Ok(
        tokio::task::spawn_blocking(move || verify_zip_file(&path, &target))
            .await
            .map_err(std::io::Error::other)?,
    )
}

fn quarantine_key(key: &str) -> String {
    format!("{QUARANTINE}{key}")
}

/// `<escaped module>/@v/<escaped version>`: a version's files without
/// their extension.
fn version_base(mv: &ModVersion) -> String {
    format!("{}/@v/{}", mv.module.escaped, escaped_version(mv))
}

/// "the zip hashes to h1:X, but its .ziphash and checksum database D
/// record h1:Y": every record that differs, grouped by what it records.
fn mismatch<'a>(
    file: &str,
    h1: &str,
    wanted: impl Iterator<Item = (&'a Record, Option<&'a String>)>,
) -> Option<String> {
    let mut differing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (record, want) in wanted {
        if let Some(want) = want.filter(|want| *want != h1) {
            differing.entry(want).or_default().push(&record.source);
        }
    }
    if differing.is_empty() {
        return None;
    }
    let records: Vec<String> = differing
        .into_iter()
        .map(|(want, sources)| {
            let verb = if sources.len() == 1 {
                "records"
            } else {
                "record"
            };
            format!("{} {verb} {want}", sources.join(" and "))
        })
        .collect();
    Some(format!(
        "the {file} hashes to {h1}, but {}",
        records.join(", ")
    ))
}

/// A valid version (checked by `ModVersion::new`) always escapes.
fn escaped_version(mv: &ModVersion) -> String {
    escape_version(&mv.version).unwrap_or_else(|_| mv.version.clone())
}

/// The zip and go.mod `h1:` a checksum record (go.sum lines) holds for
/// `module@version`.
fn record_lines(text: &str, module: &str, version: &str) -> (Option<String>, Option<String>) {
    let (mut zip, mut go_mod) = (None, None);
    let go_mod_version = format!("{version}/go.mod");
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [path, v, hash] = fields[..] {
            if path != module {
                continue;
            }
            if v == version {
                zip = Some(hash.to_owned());
            } else if v == go_mod_version {
                go_mod = Some(hash.to_owned());
            }
        }
    }
    (zip, go_mod)
}

/// The path elements of PATTERN before the first one with a glob
/// character: every match is below them (empty for a list of patterns).
fn literal_prefix(pattern: &str) -> String {
    if pattern.contains(',') {
        return String::new();
    }
    pattern
        .trim_end_matches('/')
        .split('/')
        .take_while(|elem| !elem.contains(['*', '?', '[', '\\']))
        .collect::<Vec<_>>()
        .join("/")
}

enum KeyKind {
    /// A file of a module version.
    Version(String, String),
    /// Under a module's `@v/`, but no module file (module path, if known).
    Stray(String),
    /// Not under `@v/`, or a `list`: not a version's.
    Other,
}

fn version_of_key(key: &str) -> KeyKind {
    let Some((escaped_path, file)) = key.split_once("/@v/") else {
        return KeyKind::Other;
    };
    if file == "list" {
        return KeyKind::Other;
    }
    let module = unescape_path(escaped_path).unwrap_or_default();
    let stem = [".info", ".mod", ".zip", ".ziphash"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext));
    let parsed = stem.and_then(|stem| {
        let version = unescape_version(stem).ok()?;
        let m = Module::new(&module).ok()?;
        ModVersion::new(&m, &version).ok()?;
        Some(version)
    });
    match parsed {
        Some(version) => KeyKind::Version(module, version),
        None => KeyKind::Stray(module),
    }
}

/// An audit event about `module@version`.
fn audit(event: &str, what: &str, reason: &str) {
    let (module, version) = what.split_once('@').unwrap_or((what, ""));
    tracing::info!(
        target: "modvault::audit",
        event,
        module = %module,
        version = %version,
        reason = %reason,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_prefix_stops_at_the_first_glob() {
        assert_eq!(literal_prefix("golang.org/x/tools"), "golang.org/x/tools");
        assert_eq!(literal_prefix("example.com/*"), "example.com");
        assert_eq!(literal_prefix("*.corp/x"), "");
        assert_eq!(literal_prefix("a.com,b.com"), "");
    }

    #[test]
    fn records_give_the_zip_and_go_mod_lines_of_the_version() {
        let text = "m.example/a v1.0.0 h1:zip=\nm.example/a v1.0.0/go.mod h1:mod=\n";
        assert_eq!(
            record_lines(text, "m.example/a", "v1.0.0"),
            (Some("h1:zip=".into()), Some("h1:mod=".into()))
        );
        assert_eq!(record_lines(text, "m.example/b", "v1.0.0"), (None, None));
    }

    #[test]
    fn store_keys_are_versions_strays_or_neither() {
        assert!(matches!(
            version_of_key("m.example/!a/@v/v1.0.0.zip"),
            KeyKind::Version(m, v) if m == "m.example/A" && v == "v1.0.0"
        ));
        assert!(matches!(
            version_of_key("m.example/a/@v/junk.txt"),
            KeyKind::Stray(m) if m == "m.example/a"
        ));
        assert!(matches!(
            version_of_key("m.example/a/@v/list"),
            KeyKind::Other
        ));
        assert!(matches!(
            version_of_key("m.example/a/@latest"),
            KeyKind::Other
        ));
        assert!(matches!(version_of_key("sumdb/x/latest"), KeyKind::Other));
    }
}
