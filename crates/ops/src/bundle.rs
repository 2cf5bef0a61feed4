//! Air-gap bundles: `modvault export` writes selected versions, their
//! catalog entries and the checksum-database records and tiles that prove
//! them into one `.tar.gz`; `modvault import` verifies all of it offline
//! and only then stores it.
//!
//! Layout of the tar (in this order):
//!
//! | entry | what |
//! |---|---|
//! | `bundle.json` | the manifest: every version with its origin, size and both `h1:` hashes; every checksum database with its signed tree note |
//! | `sumdb/<name>/latest` | that note |
//! | `sumdb/<name>/lookup/<path>@<version>` | lookup answers, all carrying that one note |
//! | `sumdb/<name>/tile/…` | the tiles that prove each record in that tree (the go command reads exactly these) |
//! | `files/<path>/@v/<version>.{info,mod,zip}` | the module files, escaped as in the store |
//!
//! Every lookup carries the same tree, so a client with no tree of its own
//! needs no consistency proof, only the record proofs the bundle holds.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{bail, Context};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use modvault_checksum::{OwnSumdb, Relay};
use modvault_core::dirhash::hash_go_mod;
use modvault_core::escape::{escape_path, escape_version, unescape_path, unescape_version};
use modvault_core::path::is_canonical_version;
use modvault_core::pseudo::is_pseudo_version;
use modvault_proxy::{verify_zip_file, ModVersion, Module};
use modvault_state::{CatalogEntry, CatalogQuery, Origin};
use modvault_store::{layout, read_to_bytes, PutBody, PutMode, Store};
use modvault_sumdb::lookup::{
    authenticate_record, format_lookup_response, parse_lookup_response, record_has_line,
    verify_lookup,
};
use modvault_sumdb::note::Verifier;
use modvault_sumdb::tlog::{parse_tree, Error as TlogError, Tile, TileReader, Tree};

use crate::mirror::{fetch_all, resolve, ModVer, Ops, Progress, Report};
use crate::verify::{hash_zip_file, spool_object};

const FORMAT: u32 = 1;
const MANIFEST: &str = "bundle.json";
const TILE_HEIGHT: i64 = 8;

/// Which versions `export` writes.
#[derive(Clone, Debug)]
pub enum Selection {
    All,
    /// Versions stored at or after this time.
    Since(SystemTime),
    /// What `mirror` of these sources fetches (fetched first if missing).
    Sources(Vec<String>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    created: String,
    versions: Vec<VersionEntry>,
    sumdbs: Vec<SumdbEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct VersionEntry {
    module: String,
    version: String,
    origin: String,
    size: u64,
    stored_at: String,
    zip_hash: String,
    go_mod_hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SumdbEntry {
    name: String,
    /// The signed tree note every lookup in the bundle carries.
    note: String,
    /// `<escaped path>@<escaped version>` of every lookup answer.
    lookups: Vec<String>,
    /// Paths (`tile/8/0/000`) of every tile.
    tiles: Vec<String>,
}

/// One entry of the tar and where its bytes come from.
enum Source {
    Bytes(Bytes),
    StoreKey(String),
}

/// `modvault export --output FILE [SELECTION]`.
pub async fn export(ops: &Ops, output: &Path, selection: Selection) -> anyhow::Result<Report> {
    let store = ops.proxy.store().clone();
    let mut report = Report::default();
    let chosen: Vec<ModVer> = match &selection {
        Selection::Sources(sources) => {
            let (plan, failed) = resolve(ops, sources).await;
            let fetched = fetch_all(ops, &plan, "fetch").await;
            report.failed.extend(failed);
            report.failed.extend(fetched.failed);
            plan.into_iter().collect()
        }
        Selection::All | Selection::Since(_) => stored_versions(store.as_ref()).await?,
    };
    if !report.failed.is_empty() {
        return Ok(report);
    }
    let since = match selection {
        Selection::Since(since) => Some(since),
        _ => None,
    };

    let mut catalog: HashMap<String, Vec<CatalogEntry>> = HashMap::new();
    let mut versions = Vec::new();
    let mut files = Vec::new();
    for (path, version) in chosen {
        let what = format!("{path}@{version}");
        match describe(ops, &mut catalog, &path, &version).await {
            Ok(Some((entry, stored_at))) => {
                if since.is_some_and(|since| stored_at < since) {
                    continue;
                }
                let mv = ModVersion::new(&Module::new(&path)?, &version)?;
                let base = files_base(&mv);
                files.push((format!("{base}.info"), Source::StoreKey(mv.info_key())));
                files.push((format!("{base}.mod"), Source::StoreKey(mv.mod_key())));
                files.push((format!("{base}.zip"), Source::StoreKey(mv.zip_key())));
                versions.push(entry);
            }
            Ok(None) => report
                .failed
                .push((what, "not complete in the store".into())),
            Err(e) => report.failed.push((what, format!("{e:#}"))),
        }
    }
    let (sumdbs, sumdb_files) = checksum_records(ops, &versions, &mut report).await;
    if !report.failed.is_empty() {
        return Ok(report);
    }
    let manifest = Manifest {
        format: FORMAT,
        created: rfc3339(SystemTime::now()),
        versions,
        sumdbs,
    };
    let mut entries = vec![(
        MANIFEST.to_owned(),
        Source::Bytes(Bytes::from(serde_json::to_vec_pretty(&manifest)?)),
    )];
    entries.extend(sumdb_files);
    entries.extend(files);
    let total: u64 = manifest.versions.iter().map(|v| v.size).sum();
    write_tar(store, output, entries, manifest.versions.len() as u64).await?;
    report.fetched = manifest.versions.len();
    report.fetched_bytes = total;
    Ok(report)
}

/// Every version with a zip in the store.
async fn stored_versions(store: &dyn Store) -> anyhow::Result<Vec<ModVer>> {
    let mut out = BTreeSet::new();
    for key in store.list("").await? {
        let Some((escaped_path, file)) = key.split_once("/@v/") else {
            continue;
        };
        let Some(escaped_version) = file.strip_suffix(".zip") else {
            continue;
        };
        let (Ok(path), Ok(version)) = (
            unescape_path(escaped_path),
            unescape_version(escaped_version),
        ) else {
            continue;
        };
        let Ok(module) = Module::new(&path) else {
            continue;
        };
        if ModVersion::new(&module, &version).is_ok() {
            out.insert((path, version));
        }
    }
    Ok(out.into_iter().collect())
}

/// The manifest entry of a stored version and when it was stored; `None`
/// when one of its files is missing.
async fn describe(
    ops: &Ops,
    catalog: &mut HashMap<String, Vec<CatalogEntry>>,
    path: &str,
    version: &str,
) -> anyhow::Result<Option<(VersionEntry, SystemTime)>> {
    let store = ops.proxy.store();
    let mv = ModVersion::new(&Module::new(path)?, version)?;
    let (Some(zip), Some(_), Some((_, go_mod))) = (
        store.head(&mv.zip_key()).await?,
        store.head(&mv.info_key()).await?,
        read_to_bytes(store.as_ref(), &mv.mod_key()).await?,
    ) else {
        return Ok(None);
    };
    if !catalog.contains_key(path) {
        let entries = ops
            .proxy
            .catalog()
            .search(&CatalogQuery::module(path))
            .await?;
        catalog.insert(path.to_owned(), entries);
    }
    let entry = catalog[path].iter().find(|e| e.version == version);
    let (origin, stored_at) = match entry {
        Some(entry) => (entry.origin, entry.stored_at),
        None => (Origin::Unknown, zip.modified),
    };
    let zip_hash = match read_to_bytes(store.as_ref(), &mv.zip_hash_key()).await? {
        Some((_, hash)) => String::from_utf8_lossy(&hash).trim().to_owned(),
        None => rehash(ops, &mv).await?,
    };
    Ok(Some((
        VersionEntry {
            module: path.to_owned(),
            version: version.to_owned(),
            origin: origin.as_str().to_owned(),
            size: zip.size,
            stored_at: rfc3339(stored_at),
            zip_hash,
            go_mod_hash: hash_go_mod(&go_mod),
        },
        stored_at,
    )))
}

/// The `h1:` of a stored zip without a `.ziphash`: spooled and checked.
async fn rehash(ops: &Ops, mv: &ModVersion) -> anyhow::Result<String> {
    let (spool, _) = spool_object(ops.proxy.store().as_ref(), &mv.zip_key(), &ops.spool_dir)
        .await?
        .context("zip gone from the store")?;
    hash_zip_file(spool.path(), mv)
        .await?
        .map_err(anyhow::Error::msg)
}

/// Where records and tiles of one database come from at export.
#[derive(Clone)]
enum Database {
    Relayed(Arc<Relay>, String),
    Own(Arc<OwnSumdb>),
}

impl Database {
    fn name(&self) -> &str {
        match self {
            Database::Relayed(_, name) => name,
            Database::Own(own) => own.name(),
        }
    }

    async fn latest(&self) -> Option<Bytes> {
        match self {
            Database::Relayed(relay, name) => relay.get(name, "latest").await.ok().map(|f| f.body),
            Database::Own(own) => own.signed_tree().await.ok(),
        }
    }

    /// A lookup answer: what the verifier authenticated, else the relay's
    /// (cached or fetched); `None` for a version the database has no
    /// record of (ours records only what is stored).
    async fn lookup(
        &self,
        store: &dyn Store,
        path: &str,
        version: &str,
    ) -> Result<Option<Bytes>, String> {
        let key = format!(
            "{}@{}",
            escape_path(path).map_err(|e| e.to_string())?,
            escape_version(version).map_err(|e| e.to_string())?
        );
        match self {
            Database::Relayed(relay, name) => {
                if let Ok(Some((_, body))) =
                    read_to_bytes(store, &layout::verified_lookup(name, &key)).await
                {
                    return Ok(Some(body));
                }
                let file = relay
                    .get(name, &format!("lookup/{key}"))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Some(file.body))
            }
            Database::Own(own) => own.lookup(path, version).await.map_err(|e| e.to_string()),
        }
    }

    async fn tile(&self, store: &dyn Store, tile_path: &str) -> Result<Bytes, String> {
        match self {
            Database::Relayed(relay, name) => {
                if let Ok(Some((_, body))) =
                    read_to_bytes(store, &layout::verified_tile(name, tile_path)).await
                {
                    return Ok(body);
                }
                relay
                    .get(name, tile_path)
                    .await
                    .map(|f| f.body)
                    .map_err(|e| e.to_string())
            }
            Database::Own(own) => own
                .serve_static(tile_path)
                .await
                .map(|f| f.body)
                .map_err(|e| e.to_string()),
        }
    }
}

/// For every database relayed or run here: one tree note, the lookups of
/// the exported versions re-issued with it, and the tiles proving them.
async fn checksum_records(
    ops: &Ops,
    versions: &[VersionEntry],
    report: &mut Report,
) -> (Vec<SumdbEntry>, Vec<(String, Source)>) {
    let mut databases = Vec::new();
    if let Some(relay) = &ops.relay {
        for (name, _) in &ops.sumdb_keys {
            databases.push(Database::Relayed(relay.clone(), name.clone()));
        }
    }
    if let Some(own) = ops.proxy.own_sumdb() {
        databases.push(Database::Own(own.clone()));
    }
    let store = ops.proxy.store().clone();
    let mut entries = Vec::new();
    let mut files = Vec::new();
    for db in databases {
        let name = db.name().to_owned();
        let mut lookups: Vec<(String, Bytes)> = Vec::new();
        for v in versions {
            let relayed = matches!(db, Database::Relayed(..));
            if relayed && !ops.rules.route(&v.module).sumdb {
                continue; // private: never looked up in a public database
            }
            match db.lookup(store.as_ref(), &v.module, &v.version).await {
                Ok(Some(body)) => lookups.push((
                    format!(
                        "{}@{}",
                        escape_path(&v.module).unwrap_or_default(),
                        escape_version(&v.version).unwrap_or_default()
                    ),
                    body,
                )),
                Ok(None) => {}
                Err(e) => report.failed.push((
                    format!("{}@{}", v.module, v.version),
                    format!("no record from checksum database {name}: {e}"),
                )),
            }
        }
        if lookups.is_empty() {
            continue;
        }
        // The largest tree known: the database's latest, else the largest
        // any lookup carried.
        let mut notes: Vec<Bytes> = lookups
            .iter()
            .filter_map(|(_, body)| {
                parse_lookup_response(body)
                    .ok()
                    .map(|r| Bytes::copy_from_slice(r.note))
            })
            .collect();
        notes.extend(db.latest().await);
        let Some((note, tree)) = notes
            .into_iter()
            .filter_map(|note| note_tree(&note).map(|tree| (note, tree)))
            .max_by_key(|(_, tree)| tree.n)
        else {
            report
                .failed
                .push((name.clone(), "no signed tree note".into()));
            continue;
        };
        let records: Vec<(String, i64, String)> = lookups
            .iter()
            .filter_map(|(key, body)| {
                let r = parse_lookup_response(body).ok()?;
                Some((key.clone(), r.id, r.text.to_owned()))
            })
            .collect();
        let reader = Recorder {
            handle: Handle::current(),
            db: db.clone(),
            store: store.clone(),
            seen: Mutex::new(BTreeMap::new()),
        };
        let proven = tokio::task::spawn_blocking(move || {
            let mut failures = Vec::new();
            for (key, id, text) in &records {
                if let Err(e) = authenticate_record(&tree, *id, text.as_bytes(), &reader) {
                    failures.push((key.clone(), e.to_string()));
                }
            }
            (
                records,
                reader.seen.into_inner().expect("tile lock"),
                failures,
            )
        })
        .await;
        let Ok((records, tiles, failures)) = proven else {
            report
                .failed
                .push((name.clone(), "proving records failed".into()));
            continue;
        };
        for (key, e) in failures {
            report
                .failed
                .push((key, format!("{name}: cannot prove the record: {e}")));
        }
        let mut entry = SumdbEntry {
            name: name.clone(),
            note: String::from_utf8_lossy(&note).into_owned(),
            lookups: Vec::new(),
            tiles: Vec::new(),
        };
        files.push((format!("sumdb/{name}/latest"), Source::Bytes(note.clone())));
        for (key, id, text) in records {
            match format_lookup_response(id, text.as_bytes(), &note) {
                Ok(body) => {
                    files.push((
                        format!("sumdb/{name}/lookup/{key}"),
                        Source::Bytes(Bytes::from(body)),
                    ));
                    entry.lookups.push(key);
                }
                Err(e) => report.failed.push((key, e.to_string())),
            }
        }
        for (path, data) in tiles {
            files.push((
                format!("sumdb/{name}/{path}"),
                Source::Bytes(Bytes::from(data)),
            ));
            entry.tiles.push(path);
        }
        entries.push(entry);
    }
    (entries, files)
}

fn note_tree(note: &[u8]) -> Option<Tree> {
    let text = std::str::from_utf8(note).ok()?;
    let head = text.split("\n\n").next()?;
    parse_tree(format!("{head}\n").as_bytes()).ok()
}

/// Reads tiles from a database at export and keeps every one read: they
/// are exactly what a client needs to check the same records.
struct Recorder {
    handle: Handle,
    db: Database,
    store: Arc<dyn Store>,
    seen: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl TileReader for Recorder {
    fn height(&self) -> i64 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        let mut out = Vec::with_capacity(tiles.len());
        for tile in tiles {
            let path = tile.path();
            let exact = self
                .handle
                .block_on(self.db.tile(self.store.as_ref(), &path));
            let data = match exact {
                Ok(data) => data.to_vec(),
                Err(e) => {
                    // A partial tile may be gone once completed: the full
                    // tile's prefix holds the same hashes.
                    let full = Tile {
                        w: 1 << tile.h,
                        ..*tile
                    };
                    if full == *tile {
                        return Err(TlogError::Storage(e.into()));
                    }
                    let data = self
                        .handle
                        .block_on(self.db.tile(self.store.as_ref(), &full.path()))
                        .map_err(|e| TlogError::Storage(e.into()))?;
                    let want = (tile.w as usize) * 32;
                    data.get(..want)
                        .ok_or_else(|| TlogError::Storage(format!("{path}: short tile").into()))?
                        .to_vec()
                }
            };
            self.seen
                .lock()
                .expect("tile lock")
                .insert(path, data.clone());
            out.push(data);
        }
        Ok(out)
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// Writes the tar.gz beside `output` and renames it into place when
/// complete, so a reader never sees half a bundle. Zips stream from the
/// store through the compressor.
async fn write_tar(
    store: Arc<dyn Store>,
    output: &Path,
    entries: Vec<(String, Source)>,
    versions: u64,
) -> anyhow::Result<()> {
    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".modvault-export-")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let output = output.to_owned();
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let progress = Progress::versions("export", versions);
        let encoder = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(temp.as_file()),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(encoder);
        for (name, source) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            match source {
                Source::Bytes(bytes) => {
                    header.set_size(bytes.len() as u64);
                    tar.append_data(&mut header, &name, &bytes[..])?;
                }
                Source::StoreKey(key) => {
                    let object = handle
                        .block_on(store.get(&key, None))?
                        .with_context(|| format!("{key}: gone from the store"))?;
                    let size = object.meta.size;
                    header.set_size(size);
                    let reader = tokio_util::io::SyncIoBridge::new_with_handle(
                        tokio_util::io::StreamReader::new(object.body),
                        handle.clone(),
                    );
                    // A store that changes size under us would corrupt the tar.
                    tar.append_data(&mut header, &name, reader.take(size))?;
                    if name.ends_with(".zip") {
                        progress.version_done(&name, size);
                    }
                }
            }
        }
        let encoder = tar.into_inner()?;
        let mut writer = encoder.finish()?;
        writer.flush()?;
        drop(writer);
        temp.as_file().sync_all()?;
        temp.persist(&output)
            .with_context(|| format!("cannot write {}", output.display()))?;
        progress.finish();
        Ok(())
    })
    .await?
}

/// `modvault import FILE`: unpacks into the spool directory, verifies every
/// version (zip rules, both `h1:`, and the records of every checksum
/// database this server knows a key for, proven with the bundle's tiles),
/// and stores nothing unless all of it holds.
pub async fn import(ops: &Ops, file: &Path) -> anyhow::Result<Report> {
    let unpacked = tempfile::Builder::new()
        .prefix("import-")
        .tempdir_in(&ops.spool_dir)
        .context("cannot create a directory in the spool")?;
    let (source, dir) = (file.to_owned(), unpacked.path().to_owned());
    tokio::task::spawn_blocking(move || unpack(&source, &dir))
        .await?
        .with_context(|| format!("cannot read bundle {}", file.display()))?;
    let dir = unpacked.path().to_owned();
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join(MANIFEST)).context("the bundle has no bundle.json")?,
    )
    .context("bundle.json")?;
    if manifest.format != FORMAT {
        bail!("bundle format {} is not {FORMAT}", manifest.format);
    }
    let mut report = Report::default();
    let mut to_store = Vec::new();
    // (database, lookup key) of every record in the bundle.
    let recorded: HashSet<(&str, &str)> = manifest
        .sumdbs
        .iter()
        .flat_map(|db| {
            db.lookups
                .iter()
                .map(|key| (db.name.as_str(), key.as_str()))
        })
        .collect();
    let progress = Progress::versions("verify", manifest.versions.len() as u64);
    for entry in &manifest.versions {
        let what = format!("{}@{}", entry.module, entry.version);
        match check(ops, &dir, &recorded, entry).await {
            Ok(true) => {
                report.present += 1;
                progress.version_done(&format!("{what} already present"), 0);
            }
            Ok(false) => {
                progress.version_done(&format!("{what} verified"), entry.size);
                to_store.push(entry);
            }
            Err(e) => {
                progress.version_done(&format!("{what} refused: {e}"), 0);
                report.failed.push((what, e));
            }
        }
    }
    progress.finish();
    if !report.failed.is_empty() {
        // Nothing is stored from a bundle that does not verify whole.
        report.present = 0;
        return Ok(report);
    }
    let store = ops.proxy.store().clone();
    // Records and tiles first: once a version is visible, so is its proof.
    for db in &manifest.sumdbs {
        commit_sumdb(store.as_ref(), &dir, db).await?;
    }
    let mut modules = BTreeSet::new();
    for entry in to_store {
        commit_version(ops, &dir, entry).await?;
        report.fetched += 1;
        report.fetched_bytes += entry.size;
        modules.insert(entry.module.clone());
    }
    for module in modules {
        refresh_module(store.as_ref(), &module).await?;
    }
    Ok(report)
}

/// Unpacks the bundle, accepting only regular files at the names a bundle
/// has, so that nothing lands outside `dir`.
fn unpack(file: &Path, dir: &Path) -> anyhow::Result<()> {
    let raw = std::fs::File::open(file)?;
    let total = raw.metadata()?.len();
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: raw,
        read: read.clone(),
    };
    let progress = Progress::bytes("import", total);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(
        counting,
    )));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        let allowed = name.components().all(|c| matches!(c, Component::Normal(_)))
            && matches!(
                name.components().next(),
                Some(Component::Normal(first)) if first == "files" || first == "sumdb" || first == MANIFEST
            );
        let kind = entry.header().entry_type();
        if !allowed || !(kind.is_file() || kind.is_dir()) {
            bail!("unexpected entry {} in the bundle", name.display());
        }
        if kind.is_dir() {
            continue;
        }
        let target = dir.join(&name);
        std::fs::create_dir_all(target.parent().unwrap_or(dir))?;
        let mut out = std::fs::File::create(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        let line = name
            .to_string_lossy()
            .ends_with(".zip")
            .then(|| name.to_string_lossy().into_owned());
        progress.set_position(read.load(Ordering::Relaxed), line.as_deref());
    }
    progress.finish();
    Ok(())
}

struct Counting {
    inner: std::fs::File,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn files_base(mv: &ModVersion) -> String {
    format!("files/{}", mv.zip_key().trim_end_matches(".zip"))
}

/// `<dir>/files/<path>/@v/<version>.<ext>` (not `with_extension`: versions
/// contain dots).
fn bundle_file(dir: &Path, mv: &ModVersion, ext: &str) -> PathBuf {
    dir.join(format!("{}.{ext}", files_base(mv)))
}

/// Verifies one version of the bundle: `Ok(true)` when the store has it
/// already (with the same zip), `Ok(false)` when it may be stored.
async fn check(
    ops: &Ops,
    dir: &Path,
    recorded: &HashSet<(&str, &str)>,
    entry: &VersionEntry,
) -> Result<bool, String> {
    let module = Module::new(&entry.module).map_err(|e| e.to_string())?;
    let mv = ModVersion::new(&module, &entry.version).map_err(|e| e.to_string())?;
    let read = |ext: &str| {
        let path = bundle_file(dir, &mv, ext);
        std::fs::read(&path).map_err(|_| format!("the bundle lacks its .{ext}"))
    };
    let info = modvault_upstream::RevInfo::parse(Bytes::from(read("info")?))?;
    if info.version != entry.version {
        return Err(format!(".info names {}", info.version));
    }
    let go_mod_hash = hash_go_mod(&read("mod")?);
    if go_mod_hash != entry.go_mod_hash {
        return Err(format!(
            "go.mod is {go_mod_hash}, the manifest says {}",
            entry.go_mod_hash
        ));
    }
    let (zip, target) = (bundle_file(dir, &mv, "zip"), mv.target());
    let zip_hash = tokio::task::spawn_blocking(move || verify_zip_file(&zip, &target))
        .await
        .map_err(|e| e.to_string())??;
    if zip_hash != entry.zip_hash {
        return Err(format!(
            "zip is {zip_hash}, the manifest says {}",
            entry.zip_hash
        ));
    }

    let key = format!(
        "{}@{}",
        module.escaped,
        escape_version(&entry.version).map_err(|e| e.to_string())?
    );
    let public = ops.rules.route(&entry.module).sumdb;
    for (i, (name, vkey)) in ops.sumdb_keys.iter().enumerate() {
        if !recorded.contains(&(name.as_str(), key.as_str())) {
            // The first database verifies everything public that is fetched;
            // an import is held to the same rule.
            if i == 0 && public {
                return Err(format!("the bundle has no record of it from {name}"));
            }
            continue;
        }
        let verifier = Verifier::new(vkey).map_err(|e| format!("{name}: {e}"))?;
        let body = std::fs::read(dir.join(format!("sumdb/{name}/lookup/{key}")))
            .map_err(|e| e.to_string())?;
        let tiles = BundleTiles {
            dir: dir.join(format!("sumdb/{name}")),
        };
        let (path, version) = (entry.module.clone(), entry.version.clone());
        let (zip_hash, go_mod_hash) = (zip_hash.clone(), go_mod_hash.clone());
        let name = name.clone();
        tokio::task::spawn_blocking(move || {
            let verified = verify_lookup(&body, &[verifier], &tiles)
                .map_err(|e| format!("SECURITY ERROR: {name}: {e}"))?;
            let go_mod_version = format!("{version}/go.mod");
            if !record_has_line(verified.text, &path, &version, &zip_hash)
                || !record_has_line(verified.text, &path, &go_mod_version, &go_mod_hash)
            {
                return Err(format!(
                    "SECURITY ERROR: checksum mismatch: {name} records\n{}",
                    verified.text.trim_end()
                ));
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())??;
    }

    let store = ops.proxy.store();
    for key in [mv.zip_key(), mv.info_key(), mv.mod_key()] {
        if store.head(&key).await.map_err(|e| e.to_string())?.is_none() {
            // Stored create-only below: a file already there stays.
            return Ok(false);
        }
    }
    let stored = read_to_bytes(store.as_ref(), &mv.zip_hash_key())
        .await
        .map_err(|e| e.to_string())?
        .map(|(_, hash)| String::from_utf8_lossy(&hash).trim().to_owned());
    match stored {
        Some(hash) if hash == zip_hash => Ok(true),
        Some(hash) => Err(format!(
            "stored already with another zip ({hash}); versions are immutable"
        )),
        None => Ok(true),
    }
}

/// The bundle's tiles of one database, read as the go command would.
struct BundleTiles {
    dir: PathBuf,
}

impl TileReader for BundleTiles {
    fn height(&self) -> i64 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, TlogError> {
        tiles
            .iter()
            .map(|tile| {
                std::fs::read(self.dir.join(tile.path())).map_err(|_| {
                    TlogError::Storage(format!("the bundle lacks {}", tile.path()).into())
                })
            })
            .collect()
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// Stores the bundle's records and tiles where the relay keeps them, so a
/// server relaying that database answers the go command from them.
async fn commit_sumdb(store: &dyn Store, dir: &Path, db: &SumdbEntry) -> anyhow::Result<()> {
    let name = &db.name;
    let read = |rest: &str| std::fs::read(dir.join(format!("sumdb/{name}/{rest}")));
    for tile in &db.tiles {
        let data = Bytes::from(read(tile)?);
        store
            .put(
                &layout::relayed_sumdb(name, tile),
                PutBody::Bytes(data),
                PutMode::CreateOnly,
            )
            .await?;
    }
    for key in &db.lookups {
        let rest = format!("lookup/{key}");
        let data = Bytes::from(read(&rest)?);
        store
            .put(
                &layout::relayed_sumdb(name, &rest),
                PutBody::Bytes(data),
                PutMode::Overwrite,
            )
            .await?;
    }
    // Never replace a larger tree with a smaller one.
    let latest_key = layout::relayed_sumdb(name, "latest");
    let ours = note_tree(db.note.as_bytes()).map(|t| t.n).unwrap_or(0);
    let theirs = read_to_bytes(store, &latest_key)
        .await?
        .and_then(|(_, note)| note_tree(&note))
        .map(|t| t.n);
    if theirs.is_none_or(|n| n < ours) {
        store
            .put(
                &latest_key,
                PutBody::Bytes(Bytes::from(db.note.clone())),
                PutMode::Overwrite,
            )
            .await?;
    }
    Ok(())
}

/// Stores one verified version: the zip first and the `.mod` last, since a
/// stored `.mod` is what lists a version.
async fn commit_version(ops: &Ops, dir: &Path, entry: &VersionEntry) -> anyhow::Result<()> {
    let store = ops.proxy.store();
    let mv = ModVersion::new(&Module::new(&entry.module)?, &entry.version)?;
    store
        .put(
            &mv.zip_key(),
            PutBody::File(bundle_file(dir, &mv, "zip")),
            PutMode::CreateOnly,
        )
        .await?;
    let hash_file = Bytes::from(format!("{}\n", entry.zip_hash));
    store
        .put(
            &mv.zip_hash_key(),
            PutBody::Bytes(hash_file),
            PutMode::CreateOnly,
        )
        .await?;
    let info = Bytes::from(std::fs::read(bundle_file(dir, &mv, "info"))?);
    store
        .put(&mv.info_key(), PutBody::Bytes(info), PutMode::CreateOnly)
        .await?;
    let go_mod = Bytes::from(std::fs::read(bundle_file(dir, &mv, "mod"))?);
    store
        .put(&mv.mod_key(), PutBody::Bytes(go_mod), PutMode::CreateOnly)
        .await?;
    if let Some(own) = ops.proxy.own_sumdb() {
        own.append(
            &entry.module,
            &entry.version,
            &entry.zip_hash,
            &entry.go_mod_hash,
        )
        .await?;
    }
    ops.proxy
        .catalog()
        .record(CatalogEntry {
            module: entry.module.clone(),
            version: entry.version.clone(),
            origin: Origin::parse(&entry.origin),
            size: entry.size,
            stored_at: SystemTime::now(),
            last_served: None,
        })
        .await?;
    Ok(())
}

/// The module's `list` with every stored version, and no stored `@latest`,
/// so both answer from what is held now rather than after `list_ttl`.
async fn refresh_module(store: &dyn Store, module: &str) -> anyhow::Result<()> {
    let escaped = escape_path(module)?;
    let prefix = layout::versions_prefix(&escaped);
    let mut versions: BTreeSet<String> = BTreeSet::new();
    let list_key = layout::list(&escaped);
    if let Some((_, list)) = read_to_bytes(store, &list_key).await? {
        versions.extend(
            String::from_utf8_lossy(&list)
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned),
        );
    }
    for key in store.list(&prefix).await? {
        let Some(escaped_version) = key
            .strip_prefix(&prefix)
            .and_then(|f| f.strip_suffix(".mod"))
        else {
            continue;
        };
        if let Ok(version) = unescape_version(escaped_version) {
            if is_canonical_version(&version) && !is_pseudo_version(&version) {
                versions.insert(version);
            }
        }
    }
    let mut sorted: Vec<String> = versions.into_iter().collect();
    modvault_core::semver::sort(&mut sorted);
    let text: String = sorted.iter().map(|v| format!("{v}\n")).collect();
    store
        .put(
            &list_key,
            PutBody::Bytes(Bytes::from(text)),
            PutMode::Overwrite,
        )
        .await?;
    store.delete(&layout::latest(&escaped)).await?;
    Ok(())
}

fn rfc3339(time: SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Parses `--since`: RFC 3339 (`2026-01-02T15:04:05Z`), a date
/// (`2026-01-02`, midnight UTC), or a duration back from now (`24h`).
pub fn parse_since(text: &str) -> Result<SystemTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.into());
    }
    if let Ok(t) = time::OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339) {
        return Ok(t.into());
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!("--since {text:?}: expected RFC 3339 time, a date (2026-01-02) or a duration (24h)")
    })?;
    Ok(SystemTime::now() - ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_and_durations() {
        assert_eq!(
            parse_since("2026-01-02T00:00:00Z").unwrap(),
            parse_since("2026-01-02").unwrap()
        );
        let before = SystemTime::now();
        let day = parse_since("24h").unwrap();
        let after = SystemTime::now();
        let hours = std::time::Duration::from_secs(3600);
        assert!(before - 24 * hours <= day && day <= after - 24 * hours);
        assert!(parse_since("yesterday").is_err());
    }
}
