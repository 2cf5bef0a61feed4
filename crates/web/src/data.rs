//! What the API and the pages show, gathered once for both: from the
//! catalog (which versions are stored, where from, when) and the store
//! (go.mod, `.info`, the zip's directory and README). Every list is
//! filtered by what the caller may read before it is counted or paged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use modvault_access::Principal;
use modvault_core::semver;
use modvault_error::ErrorKind;
use modvault_proxy::Module;
use modvault_server::HttpError;
use modvault_state::{CatalogEntry, CatalogQuery, Match};
use modvault_store::{layout, read_to_bytes};

use crate::{gomod, markdown, zipread, Web};

/// Catalog entries looked at per search: far above the modules of one
/// team's server, and a bound on the work a search can cause.
const SCAN: usize = 100_000;
/// READMEs and licenses are shown up to this size.
const MAX_TEXT: u64 = 256 << 10;

pub fn rfc3339(time: SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The same answer for a module that is not here and one the caller may
/// not read, so a page reveals nothing.
fn not_here(module: &str) -> HttpError {
    HttpError::not_found(&format!("{module}: no such module here"))
}

fn zip_error(e: zipread::ZipReadError) -> HttpError {
    tracing::error!(error = %e.0, "cannot read a stored zip");
    HttpError::of_kind(ErrorKind::Storage, &e.0)
}

/// The latest version as `go get` picks it: the highest release, else the
/// highest pre-release, else the highest pseudo-version.
pub fn latest(entries: &[CatalogEntry]) -> Option<String> {
    let best = |pick: &dyn Fn(&str) -> bool| {
        entries
            .iter()
            .map(|e| e.version.as_str())
            .filter(|v| pick(v))
            .max_by(|a, b| semver::compare(a, b))
            .map(str::to_owned)
    };
    let pseudo = |v: &str| modvault_core::pseudo::is_pseudo_version(v);
    best(&|v| semver::prerelease(v).is_empty() && !pseudo(v))
        .or_else(|| best(&|v| !pseudo(v)))
        .or_else(|| best(&|_| true))
}

/// The stored versions of a module the caller may read; 404 otherwise.
pub async fn module_versions(
    web: &Web,
    caller: Option<&Principal>,
    module: &str,
) -> Result<Vec<CatalogEntry>, HttpError> {
    if Module::new(module).is_err() || !web.may_read(caller, module) {
        return Err(not_here(module));
    }
    let entries = web
        .app
        .proxy
        .catalog()
        .search(&CatalogQuery::module(module))
        .await?;
    if entries.is_empty() {
        return Err(not_here(module));
    }
    Ok(entries)
}

#[derive(Clone, Debug, Serialize)]
pub struct ModuleSummary {
    pub path: String,
    pub latest: Option<String>,
    pub versions: usize,
    pub updated: String,
}

/// Modules whose path contains `q`, those starting with it first.
pub async fn search(
    web: &Web,
    caller: Option<&Principal>,
    q: &str,
) -> Result<Vec<ModuleSummary>, HttpError> {
    let entries = web
        .app
        .proxy
        .catalog()
        .search(&CatalogQuery {
            text: q.to_owned(),
            matching: Match::Substring,
            limit: SCAN,
            offset: 0,
        })
        .await?;
    let mut modules: BTreeMap<&str, Vec<CatalogEntry>> = BTreeMap::new();
    for entry in &entries {
        modules
            .entry(entry.module.as_str())
            .or_default()
            .push(entry.clone());
    }
    let mut found: Vec<ModuleSummary> = modules
        .into_iter()
        .filter(|(path, _)| web.may_read(caller, path))
        .map(|(path, versions)| ModuleSummary {
            path: path.to_owned(),
            latest: latest(&versions),
            versions: versions.len(),
            updated: rfc3339(
                versions
                    .iter()
                    .map(|v| v.stored_at)
                    .max()
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ),
        })
        .collect();
    found.sort_by_key(|m| !m.path.starts_with(q));
    Ok(found)
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionRow {
    pub version: String,
    pub origin: &'static str,
    pub stored: String,
    pub size: u64,
    pub retracted: bool,
    /// Zip downloads since it was stored.
    pub downloads: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModuleDetail {
    pub path: String,
    pub latest: Option<String>,
    /// Newest first.
    pub versions: Vec<VersionRow>,
    /// The `// Deprecated:` notice of the latest go.mod.
    pub deprecated: Option<String>,
    pub go_get: String,
    /// Zip downloads of every version held.
    pub downloads: u64,
}

pub async fn module_detail(
    web: &Web,
    caller: Option<&Principal>,
    module: &str,
) -> Result<ModuleDetail, HttpError> {
    let entries = module_versions(web, caller, module).await?;
    let latest = latest(&entries);
    let (mut retractions, mut deprecated) = (None, None);
    if let Some(latest) = &latest {
        if let Some(text) = go_mod(web, module, latest).await? {
            retractions = Some(modvault_core::gomod::parse_lax(text.as_bytes()));
            deprecated = gomod::parse(&text).deprecated;
        }
    }
    let downloads: std::collections::HashMap<String, u64> = web
        .app
        .proxy
        .catalog()
        .downloads(module)
        .await?
        .into_iter()
        .collect();
    let mut versions: Vec<VersionRow> = entries
        .iter()
        .map(|e| VersionRow {
            downloads: downloads.get(&e.version).copied().unwrap_or(0),
            version: e.version.clone(),
            origin: e.origin.as_str(),
            stored: rfc3339(e.stored_at),
            size: e.size,
            retracted: retractions
                .as_ref()
                .is_some_and(|r| r.is_retracted(&e.version)),
        })
        .collect();
    versions.sort_by(|a, b| semver::compare(&b.version, &a.version));
    Ok(ModuleDetail {
        downloads: versions.iter().map(|v| v.downloads).sum(),
        path: module.to_owned(),
        go_get: format!("go get {module}@{}", latest.as_deref().unwrap_or("latest")),
        latest,
        versions,
        deprecated,
    })
}

async fn go_mod(web: &Web, module: &str, version: &str) -> Result<Option<String>, HttpError> {
    let (Ok(m), Ok(v)) = (
        Module::new(module),
        modvault_core::escape::escape_version(version),
    ) else {
        return Ok(None);
    };
    let key = layout::go_mod(&m.escaped, &v);
    Ok(read_to_bytes(web.app.proxy.store().as_ref(), &key)
        .await?
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned()))
}

#[derive(Clone, Debug, Serialize)]
pub struct RequireRow {
    pub path: String,
    pub version: String,
    pub indirect: bool,
    /// Whether this server holds the module (and the caller may read it).
    pub held: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Retract {
    pub low: String,
    pub high: String,
    pub rationale: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GoModInfo {
    pub module: Option<String>,
    pub go: Option<String>,
    pub require: Vec<RequireRow>,
    pub replace: Vec<gomod::Replace>,
    pub retract: Vec<Retract>,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileRow {
    pub name: String,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Checksum {
    /// `own` (this server's checksum database), `public` (checked against
    /// the relayed upstream database) or `none` (a private module).
    pub database: &'static str,
    pub name: Option<String>,
    /// The record number in our own database.
    pub record: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TextFile {
    pub name: String,
    pub text: String,
    pub truncated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionDetail {
    pub path: String,
    pub version: String,
    pub origin: &'static str,
    pub time: Option<String>,
    pub stored: String,
    pub size: u64,
    pub retracted: bool,
    pub go_mod: Option<GoModInfo>,
    pub files: Vec<FileRow>,
    pub h1: Option<String>,
    pub go_mod_h1: Option<String>,
    pub checksum: Checksum,
    pub license: Option<TextFile>,
    /// The README rendered to sanitized HTML.
    pub readme_html: Option<String>,
    pub go_get: String,
}

fn root_file<'a>(
    entries: &'a [zipread::Entry],
    prefix: &str,
    pick: impl Fn(&str) -> bool,
) -> Option<&'a zipread::Entry> {
    let mut found: Vec<&zipread::Entry> = entries
        .iter()
        .filter(|e| {
            e.name
                .strip_prefix(prefix)
                .is_some_and(|rest| !rest.contains('/') && pick(&rest.to_ascii_uppercase()))
        })
        .collect();
    found.sort_by_key(|e| e.name.len());
    found.first().copied()
}

pub async fn version_detail(
    web: &Web,
    caller: Option<&Principal>,
    module: &str,
    version: &str,
) -> Result<VersionDetail, HttpError> {
    let entries = module_versions(web, caller, module).await?;
    let Some(entry) = entries.iter().find(|e| e.version == version) else {
        return Err(HttpError::not_found(&format!(
            "{module}@{version}: no such version here"
        )));
    };
    let m = Module::new(module).map_err(|_| not_here(module))?;
    let escaped_version = modvault_core::escape::escape_version(version)
        .map_err(|e| HttpError::not_found(&e.to_string()))?;
    let store = web.app.proxy.store().as_ref();

    let time = read_to_bytes(store, &layout::info(&m.escaped, &escaped_version))
        .await?
        .and_then(|(_, bytes)| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|info| info["Time"].as_str().map(str::to_owned));

    let go_mod_text = go_mod(web, module, version).await?;
    let go_mod_h1 = go_mod_text
        .as_ref()
        .map(|t| modvault_core::dirhash::hash_go_mod(t.as_bytes()));
    let mut go_mod_info = None;
    let mut retracted = false;
    if let Some(text) = &go_mod_text {
        let summary = modvault_core::gomod::parse_lax(text.as_bytes());
        let extra = gomod::parse(text);
        let mut require = Vec::new();
        for r in extra.requires {
            let held = web.may_read(caller, &r.path)
                && !web
                    .app
                    .proxy
                    .catalog()
                    .search(&CatalogQuery {
                        limit: 1,
                        ..CatalogQuery::module(&r.path)
                    })
                    .await?
                    .is_empty();
            require.push(RequireRow {
                path: r.path,
                version: r.version,
                indirect: r.indirect,
                held,
            });
        }
        // Retractions are read from the latest version's go.mod, as the go
        // command does.
        if let Some(latest) = latest(&entries) {
            if let Some(latest_text) = go_mod(web, module, &latest).await? {
                retracted =
                    modvault_core::gomod::parse_lax(latest_text.as_bytes()).is_retracted(version);
            }
        }
        go_mod_info = Some(GoModInfo {
            module: summary.module.clone(),
            go: summary.go.clone(),
            require,
            replace: extra.replaces,
            retract: summary
                .retract
                .iter()
                .map(|r| Retract {
                    low: r.low.clone(),
                    high: r.high.clone(),
                    rationale: r.rationale.clone(),
                })
                .collect(),
            text: text.clone(),
        });
    }

    let zip_key = layout::zip(&m.escaped, &escaped_version);
    let prefix = format!("{module}@{version}/");
    let zip = zip_texts(web, &zip_key, &prefix).await?;
    let zip_entries = &zip.entries;
    let files = zip_entries
        .iter()
        .map(|e| FileRow {
            name: e.name.strip_prefix(&prefix).unwrap_or(&e.name).to_owned(),
            size: e.size,
        })
        .collect();

    let mut checksum = Checksum {
        database: "none",
        name: None,
        record: None,
    };
    let mut h1 = None;
    if let Some(own) = web.app.proxy.own_sumdb() {
        if let Some(answer) = own
            .lookup(module, version)
            .await
            .map_err(|e| HttpError::from_error(&e))?
        {
            let text = String::from_utf8_lossy(&answer);
            checksum = Checksum {
                database: "own",
                name: Some(own.name().to_owned()),
                record: text.lines().next().and_then(|l| l.trim().parse().ok()),
            };
            h1 = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{module} {version} ")))
                .find(|rest| rest.starts_with("h1:"))
                .map(str::to_owned);
        }
    }
    if checksum.database == "none"
        && web.app.sumdb_relay.is_some()
        && web.app.rules.route(module).sumdb
    {
        checksum.database = "public";
    }
    if h1.is_none() && !zip_entries.is_empty() {
        h1 = Some(cached_hash(web, &zip_key, zip_entries).await?);
    }

    Ok(VersionDetail {
        path: module.to_owned(),
        version: version.to_owned(),
        origin: entry.origin.as_str(),
        time,
        stored: rfc3339(entry.stored_at),
        size: entry.size,
        retracted,
        go_mod: go_mod_info,
        files,
        h1,
        go_mod_h1,
        checksum,
        license: zip.license.clone(),
        readme_html: zip.readme_html.clone(),
        go_get: format!("go get {module}@{version}"),
    })
}

/// What a version's page shows from its zip, read and rendered once per
/// zip: the directory, the README as sanitized HTML, the license.
pub(crate) struct ZipTexts {
    entries: Vec<zipread::Entry>,
    readme_html: Option<String>,
    license: Option<TextFile>,
}

/// `prefix` is the zip's `module@version/`. A zip not (or no longer)
/// stored has an empty directory, and that is not kept.
async fn zip_texts(web: &Web, zip_key: &str, prefix: &str) -> Result<Arc<ZipTexts>, HttpError> {
    if let Some(known) = web.zip_texts.get(zip_key) {
        return Ok(known);
    }
    let store = web.app.proxy.store().as_ref();
    let Some(entries) = zipread::directory(store, zip_key)
        .await
        .map_err(zip_error)?
    else {
        return Ok(Arc::new(ZipTexts {
            entries: Vec::new(),
            readme_html: None,
            license: None,
        }));
    };
    let readme = root_file(&entries, prefix, |n| {
        matches!(n, "README.MD" | "README" | "README.MARKDOWN" | "README.TXT")
    });
    let readme_html = match readme {
        Some(e) => {
            let (bytes, _) = zipread::read(store, zip_key, e, MAX_TEXT)
                .await
                .map_err(zip_error)?;
            let text = String::from_utf8_lossy(&bytes);
            Some(
                if e.name.to_ascii_uppercase().ends_with(".TXT") || e.name.ends_with("README") {
                    format!("<pre>{}</pre>", markdown::escape(&text))
                } else {
                    markdown::render(&text)
                },
            )
        }
        None => None,
    };
    let license = match root_file(&entries, prefix, |n| {
        n.starts_with("LICENSE") || n.starts_with("LICENCE") || n.starts_with("COPYING")
    }) {
        Some(e) => {
            let (bytes, whole) = zipread::read(store, zip_key, e, MAX_TEXT)
                .await
                .map_err(zip_error)?;
            Some(TextFile {
                name: e.name.strip_prefix(prefix).unwrap_or(&e.name).to_owned(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
                truncated: !whole,
            })
        }
        None => None,
    };

    let weight = entries.iter().map(|e| e.name.len() + 64).sum::<usize>()
        + readme_html.as_ref().map_or(0, String::len)
        + license.as_ref().map_or(0, |l| l.text.len());
    Ok(web.zip_texts.put(
        zip_key,
        ZipTexts {
            entries,
            readme_html,
            license,
        },
        weight,
    ))
}

/// A zip's `h1:` computed once per process: stored zips never change.
async fn cached_hash(
    web: &Web,
    key: &str,
    entries: &[zipread::Entry],
) -> Result<String, HttpError> {
    if let Some(hash) = web.hashes.get(key) {
        return Ok(hash.as_ref().clone());
    }
    let hash = zipread::hash1(web.app.proxy.store().as_ref(), key, entries)
        .await
        .map_err(zip_error)?;
    web.hashes.put(key, hash.clone(), key.len() + hash.len());
    Ok(hash)
}

#[derive(Clone, Debug, Serialize)]
pub struct Recent {
    pub path: String,
    pub version: String,
    pub origin: &'static str,
    pub stored: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DayCount {
    pub day: String,
    pub stored: u64,
    pub served: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DayDownloads {
    pub day: String,
    /// Served from the store.
    pub hits: u64,
    /// Fetched for the request.
    pub misses: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub modules: usize,
    pub versions: usize,
    pub bytes: u64,
    /// Versions served at least once since they were stored, per versions
    /// stored: how much of what is kept is used.
    pub served_ratio: f64,
    /// Versions stored, and versions last served, per day (UTC), the last
    /// 30 days with any.
    pub days: Vec<DayCount>,
    /// Zip downloads served from the store, per zip downloads, over the
    /// last 30 days, server-wide; `None` before the first download.
    pub hit_ratio: Option<f64>,
    /// Zip downloads per day (UTC) over the last 30 days, oldest first,
    /// server-wide: totals that name no module.
    pub downloads: Vec<DayDownloads>,
    /// The 20 most recently stored versions.
    pub recent: Vec<Recent>,
    /// The 20 most recently published versions.
    pub published: Vec<Recent>,
}

pub async fn stats(web: &Web, caller: Option<&Principal>) -> Result<Stats, HttpError> {
    let entries = web
        .app
        .proxy
        .catalog()
        .search(&CatalogQuery {
            text: String::new(),
            matching: Match::Prefix,
            limit: SCAN,
            offset: 0,
        })
        .await?;
    let mut visible: Vec<&CatalogEntry> = Vec::new();
    let mut last: Option<(&str, bool)> = None;
    let mut modules = 0;
    for e in &entries {
        let allowed = match last {
            Some((m, allowed)) if m == e.module => allowed,
            _ => {
                let allowed = web.may_read(caller, &e.module);
                modules += usize::from(allowed);
                last = Some((&e.module, allowed));
                allowed
            }
        };
        if allowed {
            visible.push(e);
        }
    }
    let daily = web.app.proxy.catalog().daily_downloads(30).await?;
    let (hits, misses) = daily
        .iter()
        .fold((0, 0), |(h, m), d| (h + d.hits, m + d.misses));
    let day = |t: SystemTime| rfc3339(t).chars().take(10).collect::<String>();
    let mut days: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &visible {
        days.entry(day(e.stored_at)).or_default().0 += 1;
        if let Some(served) = e.last_served {
            days.entry(day(served)).or_default().1 += 1;
        }
    }
    let served = visible.iter().filter(|e| e.last_served.is_some()).count();
    let mut by_time = visible.clone();
    by_time.sort_by_key(|e| std::cmp::Reverse(e.stored_at));
    let row = |e: &&CatalogEntry| Recent {
        path: e.module.clone(),
        version: e.version.clone(),
        origin: e.origin.as_str(),
        stored: rfc3339(e.stored_at),
    };
    Ok(Stats {
        modules,
        versions: visible.len(),
        bytes: visible.iter().map(|e| e.size).sum(),
        served_ratio: if visible.is_empty() {
            0.0
        } else {
            served as f64 / visible.len() as f64
        },
        days: days
            .into_iter()
            .rev()
            .take(30)
            .map(|(day, (stored, served))| DayCount {
                day,
                stored,
                served,
            })
            .collect(),
        hit_ratio: (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64),
        downloads: daily
            .iter()
            .map(|d| DayDownloads {
                day: day(d.day),
                hits: d.hits,
                misses: d.misses,
            })
            .collect(),
        recent: by_time.iter().take(20).map(row).collect(),
        published: by_time
            .iter()
            .filter(|e| e.origin == modvault_state::Origin::Published)
            .take(20)
            .map(row)
            .collect(),
    })
}
