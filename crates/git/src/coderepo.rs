//! From a repository to a module: a port of the go command's
//! `modfetch/coderepo.go` (`codeRepo`: `Versions`, `Stat`, `Latest`,
//! `convert`, `validatePseudoVersion`, `findDir`, `GoMod`, `Zip`,
//! `retractedVersions`) and of the `latest` query of
//! `modload/query.go` (`queryProxy`, `filterVersions`) with the retraction
//! filter of `modload.CheckRetractions`.
//!
//! Error texts follow Go's where they are user-visible.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use modvault_core::gomod::{module_path, parse_lax, GoModSummary};
use modvault_core::modzip::{MAX_GO_MOD, MAX_LICENSE};
use modvault_core::path::{
    canonical_version, match_path_major, path_major_prefix, split_path_version,
};
use modvault_core::pseudo::{
    is_pseudo_version, pseudo_version, pseudo_version_base, pseudo_version_rev, pseudo_version_time,
};
use modvault_core::{semver, ModuleVersion};

use crate::error::{RepoError, RepoResult};
use crate::mirror::{CommitInfo, Mirror};
use crate::paths::{has_path_prefix, join};
use crate::timefmt::pseudo_timestamp;
use crate::zipbuild;

/// A resolved module version: what `.info` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleRev {
    pub(crate) version: String,
    /// Committer time, Unix seconds.
    pub(crate) time: i64,
    /// The full commit hash.
    pub(crate) hash: String,
    /// The ref the lookup went through, for `Origin.Ref`.
    pub(crate) origin_ref: Option<String>,
}

/// A built module zip, in an anonymous temporary file positioned at 0.
pub(crate) struct BuiltZip {
    pub(crate) file: std::fs::File,
    pub(crate) len: u64,
}

/// A module inside a repository (Go's `codeRepo`).
pub(crate) struct CodeRepo {
    mod_path: String,
    code: Arc<Mirror>,
    /// The import path of the repository root.
    code_root: String,
    /// The module's directory in the repository, `""` at the root; also
    /// the tag prefix (`<code_dir>/`). Does not include a `vN`
    /// major-version subdirectory.
    code_dir: String,
    /// The module path without its major suffix.
    path_prefix: String,
    /// `""`, `/vN`, `.vN` or `.vN-unstable`.
    path_major: String,
    /// The major of pseudo-versions without a base (`""` means v0).
    pseudo_major: String,
    scratch_dir: PathBuf,
}

/// A file read at a revision.
enum Blob {
    Found(Vec<u8>),
    Missing,
}

/// Per-`convert` memo of Go's `incompatibleOk` map.
type IncompatibleMemo = HashMap<String, bool>;

impl CodeRepo {
    /// Go's `newCodeRepo`: `code_root` is the import path of the repository
    /// root and `subdir` the go-import subdirectory it maps to.
    pub(crate) fn new(
        code: Arc<Mirror>,
        code_root: &str,
        subdir: &str,
        path: &str,
        scratch_dir: PathBuf,
    ) -> RepoResult<CodeRepo> {
        if !has_path_prefix(path, code_root) {
            return Err(RepoError::not_found(format!(
                "mismatched repo: found {code_root} for {path}"
            )));
        }
        let Some((mut path_prefix, path_major)) = split_path_version(path) else {
            return Err(RepoError::not_found(format!(
                "invalid module path {path:?}"
            )));
        };
        if code_root == path {
            path_prefix = path;
        }
        let mut code_dir = String::new();
        if code_root != path {
            if !has_path_prefix(path_prefix, code_root) {
                return Err(RepoError::not_found(format!(
                    "repository rooted at {code_root} cannot contain module {path}"
                )));
            }
            code_dir = path_prefix[code_root.len()..].trim_matches('/').to_owned();
        }
        if !subdir.is_empty() {
            code_dir = join(&[&code_dir, subdir]);
        }
        Ok(CodeRepo {
            mod_path: path.to_owned(),
            code,
            code_root: code_root.to_owned(),
            code_dir,
            path_prefix: path_prefix.to_owned(),
            path_major: path_major.to_owned(),
            pseudo_major: path_major_prefix(path_major).to_owned(),
            scratch_dir,
        })
    }

    pub(crate) fn mirror(&self) -> &Mirror {
        &self.code
    }

    /// The module's directory in the repository (`Origin.Subdir`).
    pub(crate) fn code_dir(&self) -> &str {
        &self.code_dir
    }

    fn tag_prefix(&self) -> String {
        if self.code_dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.code_dir)
        }
    }

    fn invalid_version(&self, version: &str, why: impl std::fmt::Display) -> RepoError {
        RepoError::NotFound(format!(
            "{}@{version}: invalid version: {why}",
            self.mod_path
        ))
    }

    // -----------------------------------------------------------------
    // Versions

    /// Go's `Versions(prefix)`: the module's tagged versions starting with
    /// `prefix` (`""`, or a query's `v1.` or `v2.`), sorted, with the
    /// `+incompatible` ones that apply. The prefix matters beyond
    /// filtering: the `+incompatible` rule looks only at the versions it
    /// selects.
    pub(crate) async fn versions(&self, prefix: &str) -> RepoResult<Vec<String>> {
        // gopkg.in/macaroon-bakery.v2-unstable does not use the v2 tags
        // (those are for macaroon-bakery.v2): it has no tags at all.
        if self.mod_path.starts_with("gopkg.in/") && self.mod_path.ends_with("-unstable") {
            return Ok(Vec::new());
        }
        let tag_prefix = self.tag_prefix();
        let wanted = format!("{tag_prefix}{prefix}");
        let snapshot = self.code.snapshot().await?;
        let mut list = Vec::new();
        let mut incompatible = Vec::new();
        for (tag, _) in snapshot.tags_with_prefix(&wanted) {
            let v = &tag[tag_prefix.len()..];
            // Only canonical tags (v2.0.0+incompatible is not: revToRev
            // strips the suffix before looking up tags); no tags shaped
            // like pseudo-versions.
            if v.is_empty() || v != semver::canonical(v) || is_pseudo_version(v) {
                continue;
            }
            if !match_path_major(v, &self.path_major) {
                if self.code_dir.is_empty()
                    && self.path_major.is_empty()
                    && semver::major(v).as_str() > "v1"
                {
                    incompatible.push(v.to_owned());
                }
                continue;
            }
            list.push(v.to_owned());
        }
        semver::sort(&mut list);
        semver::sort(&mut incompatible);
        self.append_incompatible_versions(list, incompatible).await
    }

    /// Go's `appendIncompatibleVersions`: `+incompatible` versions are
    /// listed only if the latest compatible version has no go.mod, and per
    /// major only if that major's latest version has none either.
    async fn append_incompatible_versions(
        &self,
        mut list: Vec<String>,
        incompatible: Vec<String>,
    ) -> RepoResult<Vec<String>> {
        if incompatible.is_empty() || !self.path_major.is_empty() {
            return Ok(list);
        }
        if let Some(latest) = list.last() {
            if self.version_has_go_mod(latest).await? {
                // The author intends consumers to stay on v0/v1
                // (golang.org/issue/34189).
                return Ok(list);
            }
        }
        let mut last_major = String::new();
        let mut last_major_has_go_mod = false;
        for (i, v) in incompatible.iter().enumerate() {
            let major = semver::major(v);
            if major != last_major {
                let latest_at_major = incompatible[i..]
                    .iter()
                    .take_while(|w| semver::major(w) == major)
                    .last()
                    .unwrap_or(v);
                last_major_has_go_mod = self.version_has_go_mod(latest_at_major).await?;
                last_major = major;
            }
            if !last_major_has_go_mod {
                list.push(format!("{v}+incompatible"));
            }
        }
        Ok(list)
    }

    /// Whether the tag `v` has a go.mod at the repository root (Go reads
    /// `go.mod` at revision `v`; codeDir is empty here).
    async fn version_has_go_mod(&self, v: &str) -> RepoResult<bool> {
        let info = self
            .code
            .stat(v)
            .await
            .map_err(|e| e.context(&self.mod_path))?;
        self.code.blob_exists(&info.name, "go.mod").await
    }

    // -----------------------------------------------------------------
    // Stat, Latest, convert

    /// Go's `codeRepo.Stat`: resolves a version, tag, branch or commit.
    pub(crate) async fn stat(&self, rev: &str) -> RepoResult<ModuleRev> {
        if rev == "latest" {
            return self.latest().await;
        }
        let code_rev = self.rev_to_rev(rev);
        let info = match self.code.stat(&code_rev).await {
            Ok(info) => info,
            Err(RepoError::NotFound(why)) => return Err(self.invalid_version(rev, why)),
            Err(e) => return Err(e),
        };
        self.convert(&info, rev).await
    }

    /// Go's `codeRepo.Latest`: the default branch's HEAD, as a version.
    pub(crate) async fn latest(&self) -> RepoResult<ModuleRev> {
        let info = self
            .code
            .latest()
            .await
            .map_err(|e| e.context(&self.mod_path))?;
        self.convert(&info, "").await
    }

    /// Go's `convert`: the module version for a commit. `stat_vers` is what
    /// the caller asked for (`""` for Latest); if it is a valid version it
    /// is checked and kept, otherwise a tag or pseudo-version is derived.
    async fn convert(&self, info: &CommitInfo, stat_vers: &str) -> RepoResult<ModuleRev> {
        let mut memo = IncompatibleMemo::new();

        if is_pseudo_version(stat_vers) {
            // Check the go.mod location and major version first: cheap,
            // unlike the ancestry check.
            let rev = self
                .check_canonical(info, stat_vers, stat_vers, &mut memo)
                .await?;
            self.validate_pseudo_version(info, stat_vers).await?;
            return Ok(rev);
        }

        let tag_prefix = self.tag_prefix();
        let mut retractions: Option<Option<GoModSummary>> = None;

        // The tag the lookup went through, if it is canonical.
        if let (v, true) = tag_to_version(&tag_prefix, &info.version) {
            match self.check_canonical(info, &v, stat_vers, &mut memo).await {
                Ok(rev) => return Ok(rev),
                Err(RepoError::Failed(m)) => return Err(RepoError::Failed(m)),
                Err(RepoError::NotFound(_)) => {}
            }
        }

        // The tags on the commit: one equal to the request, or the highest
        // usable canonical one.
        let mut highest_canonical = String::new();
        let mut pseudo_base = String::new();
        for path_tag in &info.tags {
            let (v, canonical) = tag_to_version(&tag_prefix, path_tag);
            if !stat_vers.is_empty() && semver::compare(&v, stat_vers).is_eq() {
                if canonical {
                    return self.check_canonical(info, &v, stat_vers, &mut memo).await;
                }
                // Equivalent but not canonical (v1.2.3+meta): ambiguous as a
                // version, usable as a pseudo-version base.
                pseudo_base = v.clone();
            }
            if canonical
                && semver::compare(&highest_canonical, &v).is_lt()
                && !self.is_retracted(&mut retractions, &v).await?
                && (match_path_major(&v, &self.path_major)
                    || self
                        .can_use_incompatible(info, &v, stat_vers, &mut memo)
                        .await?)
            {
                highest_canonical = v;
            }
        }
        if !highest_canonical.is_empty() {
            return self
                .check_canonical(info, &highest_canonical, stat_vers, &mut memo)
                .await;
        }

        // A pseudo-version based on the highest allowed tag in the history
        // (Go's RecentTag with tagAllowed). A fresh go command holds only a
        // depth-1 fetch of a commit it reached through a ref, with the tags
        // that point at it: its first `for-each-ref --merged` sees just
        // those, and settles for the highest allowed one. Only when there is
        // none does it fetch the whole history and look again.
        if pseudo_base.is_empty() {
            let mut highest = String::new();
            if info.reached_through_ref {
                self.raise_to_recent_tags(
                    info,
                    &tag_prefix,
                    &info.tags,
                    stat_vers,
                    &mut memo,
                    &mut retractions,
                    &mut highest,
                )
                .await?;
            }
            // Go's RecentTag fetches the whole history only when some tag
            // could be a base (`Tags(prefix + "v")`).
            let plausible = self
                .code
                .snapshot()
                .await?
                .tags_with_prefix(&format!("{tag_prefix}v"))
                .next()
                .is_some();
            if highest.is_empty() && plausible {
                let merged = self.code.merged_tags(&info.name).await?;
                self.raise_to_recent_tags(
                    info,
                    &tag_prefix,
                    &merged,
                    stat_vers,
                    &mut memo,
                    &mut retractions,
                    &mut highest,
                )
                .await?;
            }
            if !highest.is_empty() {
                pseudo_base = tag_to_version(&tag_prefix, &format!("{tag_prefix}{highest}")).0;
            }
        }
        let timestamp = pseudo_timestamp(info.time)?;
        let pseudo = pseudo_version(&self.pseudo_major, &pseudo_base, &timestamp, &info.short);
        self.check_canonical(info, &pseudo, stat_vers, &mut memo)
            .await
    }

    /// Raises `highest` to the highest allowed version among `tags`
    /// (Go's `RecentTag` callback inside `convert`).
    #[allow(clippy::too_many_arguments)]
    async fn raise_to_recent_tags(
        &self,
        info: &CommitInfo,
        tag_prefix: &str,
        tags: &[String],
        stat_vers: &str,
        memo: &mut IncompatibleMemo,
        retractions: &mut Option<Option<GoModSummary>>,
        highest: &mut String,
    ) -> RepoResult<()> {
        for tag in tags {
            let Some(semtag) = tag.strip_prefix(tag_prefix) else {
                continue;
            };
            if self
                .tag_allowed(info, tag_prefix, tag, stat_vers, memo, retractions)
                .await?
                && semver::compare(semtag, highest).is_gt()
            {
                *highest = semtag.to_owned();
            }
        }
        Ok(())
    }

    /// Go's `tagAllowed` (inside `convert`).
    async fn tag_allowed(
        &self,
        info: &CommitInfo,
        tag_prefix: &str,
        tag: &str,
        stat_vers: &str,
        memo: &mut IncompatibleMemo,
        retractions: &mut Option<Option<GoModSummary>>,
    ) -> RepoResult<bool> {
        let (v, _) = tag_to_version(tag_prefix, tag);
        if v.is_empty() {
            return Ok(false);
        }
        if !match_path_major(&v, &self.path_major)
            && !self.can_use_incompatible(info, &v, stat_vers, memo).await?
        {
            return Ok(false);
        }
        Ok(!self.is_retracted(retractions, &v).await?)
    }

    /// Go's `canUseIncompatible` (inside `convert`): a root module without a
    /// major suffix and without a go.mod at this commit may use a v2+ tag
    /// as `+incompatible`, unless `vN/go.mod` exists and the caller did not
    /// ask for `+incompatible` explicitly (go.dev/issue/51324).
    async fn can_use_incompatible(
        &self,
        info: &CommitInfo,
        v: &str,
        stat_vers: &str,
        memo: &mut IncompatibleMemo,
    ) -> RepoResult<bool> {
        if !self.code_dir.is_empty() || !self.path_major.is_empty() {
            return Ok(false);
        }
        if !self.no_go_mod_at(info, "", memo).await? {
            return Ok(false);
        }
        if !v.is_empty() && !stat_vers.ends_with("+incompatible") {
            let major = semver::major(v);
            if !self.no_go_mod_at(info, &major, memo).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether `<dir>/go.mod` is absent at the commit, memoized by `dir`.
    async fn no_go_mod_at(
        &self,
        info: &CommitInfo,
        dir: &str,
        memo: &mut IncompatibleMemo,
    ) -> RepoResult<bool> {
        if let Some(&ok) = memo.get(dir) {
            return Ok(ok);
        }
        let ok = !self
            .code
            .blob_exists(&info.name, &join(&[dir, "go.mod"]))
            .await?;
        memo.insert(dir.to_owned(), ok);
        Ok(ok)
    }

    /// Go's `checkCanonical` (inside `convert`): the go.mod location and
    /// major version agree with `v`, adding `+incompatible` where needed.
    async fn check_canonical(
        &self,
        info: &CommitInfo,
        v: &str,
        stat_vers: &str,
        memo: &mut IncompatibleMemo,
    ) -> RepoResult<ModuleRev> {
        // The module author decides where the module is and what it is
        // called: findDir must accept the version.
        if let Err(e) = self.find_dir(v).await {
            return Err(match e {
                RepoError::NotFound(why) => self.invalid_version(v, why),
                failed => failed,
            });
        }

        let mut v = v.to_owned();
        if v == stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers) {
            v = stat_vers.to_owned();
        }
        let base = v.strip_suffix("+incompatible").unwrap_or(&v).to_owned();
        let mut incompatible_error = None;
        if !match_path_major(&base, &self.path_major) {
            if self
                .can_use_incompatible(info, &base, stat_vers, memo)
                .await?
            {
                v = format!("{base}+incompatible");
            } else if !self.path_major.is_empty() {
                incompatible_error = Some(
                    "module path includes a major version suffix, so major version must match"
                        .to_owned(),
                );
            } else {
                incompatible_error = Some(format!(
                    "module contains a go.mod file, so module path must match major version ({:?})",
                    join(&[&self.path_prefix, &semver::major(&v)])
                ));
            }
        } else if v.ends_with("+incompatible") {
            incompatible_error = Some(format!(
                "+incompatible suffix not allowed: major version {} is compatible",
                semver::major(&v)
            ));
        }

        if !stat_vers.is_empty() && stat_vers == canonical_version(stat_vers) {
            // A canonical request resolves to itself (perhaps with
            // +incompatible) or not at all.
            let stat_base = stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers);
            if stat_base != base {
                return Err(self.invalid_version(
                    stat_vers,
                    format!("resolves to version {v} ({stat_base} is not a tag)"),
                ));
            }
        }
        if let Some(why) = incompatible_error {
            return Err(self.invalid_version(&v, why));
        }
        Ok(ModuleRev {
            version: v,
            time: info.time,
            hash: info.name.clone(),
            origin_ref: info.origin_ref.clone(),
        })
    }

    /// Go's `validatePseudoVersion`: the revision, the timestamp and the
    /// base tag of a client-supplied pseudo-version agree with the commit.
    async fn validate_pseudo_version(&self, info: &CommitInfo, version: &str) -> RepoResult<()> {
        let invalid = |why: String| {
            RepoError::NotFound(format!(
                "{}@{version}: invalid pseudo-version: {why}",
                self.mod_path
            ))
        };
        let rev = pseudo_version_rev(version).map_err(|e| invalid(e.reason.to_string()))?;
        if rev != info.short {
            return Err(invalid(if rev.starts_with(&info.short) {
                format!(
                    "revision is longer than canonical (expected {})",
                    info.short
                )
            } else if info.short.starts_with(&rev) {
                format!(
                    "revision is shorter than canonical (expected {})",
                    info.short
                )
            } else {
                format!(
                    "does not match short name of revision (expected {})",
                    info.short
                )
            }));
        }
        let time = pseudo_version_time(version).map_err(|e| invalid(e.reason.to_string()))?;
        let expected = pseudo_timestamp(info.time)?;
        if time != expected {
            return Err(invalid(format!(
                "does not match version-control timestamp (expected {expected})"
            )));
        }

        let tag_prefix = self.tag_prefix();
        // The base must be an ancestor's tag, so that a pseudo-version sorts
        // just above its parents and no author can "pin" a higher one.
        let base = pseudo_version_base(version.strip_suffix("+incompatible").unwrap_or(version))
            .map_err(|e| invalid(e.reason.to_string()))?;
        if base.is_empty() {
            if self.pseudo_major.is_empty() && semver::major(version) == "v1" {
                return Err(invalid(
                    "major version without preceding tag must be v0, not v1".into(),
                ));
            }
            return Ok(());
        }
        for tag in &info.tags {
            if tag.strip_prefix(&tag_prefix).unwrap_or(tag) == base {
                return Err(invalid(format!(
                    "tag ({tag}) found on revision {rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag"
                )));
            }
        }
        let wanted = format!("{tag_prefix}{base}");
        let names_base = |tag: &str| {
            semver::compare(tag.strip_prefix(&tag_prefix).unwrap_or(tag), &base).is_eq()
        };
        let mut snapshot = self.code.snapshot().await?;
        // The commit may be in the mirror while its base tag was pushed
        // after the last fetch: stale refs are worth one more look.
        if !snapshot
            .tags_with_prefix(&wanted)
            .any(|(tag, _)| names_base(tag))
            && self.code.refresh_if_stale().await?
        {
            snapshot = self.code.snapshot().await?;
        }
        let mut last_tag = String::new();
        let mut ancestor_found = false;
        for (tag, _) in snapshot.tags_with_prefix(&wanted) {
            if names_base(tag) {
                last_tag = tag.clone();
                ancestor_found = self.code.descends_from(&info.name, tag).await?;
                if ancestor_found {
                    break;
                }
            }
        }
        if last_tag.is_empty() {
            return Err(invalid(format!("preceding tag ({base}) not found")));
        }
        if !ancestor_found {
            return Err(invalid(format!(
                "revision {rev} is not a descendent of preceding tag ({last_tag})"
            )));
        }
        Ok(())
    }

    /// Go's `revToRev`: the repository revision for a version (a tag with
    /// the module's prefix, or a pseudo-version's commit), or `rev` itself.
    fn rev_to_rev(&self, rev: &str) -> String {
        if !semver::is_valid(rev) {
            return rev.to_owned();
        }
        if is_pseudo_version(rev) {
            return pseudo_version_rev(rev).unwrap_or_default();
        }
        let rev = if semver::build(rev) == "+incompatible" {
            &rev[..rev.len() - "+incompatible".len()]
        } else {
            rev
        };
        if self.code_dir.is_empty() {
            rev.to_owned()
        } else {
            format!("{}/{rev}", self.code_dir)
        }
    }

    // -----------------------------------------------------------------
    // Retractions

    /// Go's `isRetracted` from `retractedVersions`, loaded on first use:
    /// the `retract` directives of the go.mod of the highest tagged release
    /// (else pre-release) that is not `+incompatible`. Failing to read them
    /// retracts nothing, as in Go; a git failure is still an error.
    async fn is_retracted(
        &self,
        memo: &mut Option<Option<GoModSummary>>,
        v: &str,
    ) -> RepoResult<bool> {
        if memo.is_none() {
            *memo = Some(match self.retractions().await {
                Ok(summary) => summary,
                Err(RepoError::NotFound(_)) => None,
                Err(e) => return Err(e),
            });
        }
        Ok(memo
            .as_ref()
            .and_then(Option::as_ref)
            .is_some_and(|summary| summary.is_retracted(v)))
    }

    async fn retractions(&self) -> RepoResult<Option<GoModSummary>> {
        let mut versions = self.versions("").await?;
        if let Some(i) = versions.iter().position(|v| v.ends_with("+incompatible")) {
            versions.truncate(i);
        }
        let Some(last) = versions.last() else {
            return Ok(None);
        };
        let highest = versions
            .iter()
            .rev()
            .find(|v| semver::prerelease(v).is_empty())
            .unwrap_or(last)
            .clone();
        // Boxed: go_mod → stat → convert → here is a cycle for the compiler
        // (never at run time: `highest` is a tag, not a pseudo-version).
        let data = Box::pin(self.go_mod(&highest)).await?;
        let summary = parse_lax(&data);
        Ok(summary.is_valid().then_some(summary))
    }

    // -----------------------------------------------------------------
    // go.mod and zip

    /// Go's `findDir`: the module's directory at `version` (`code_dir`, or
    /// `code_dir/vN` for a major-version subdirectory), its go.mod if read,
    /// and the resolved commit.
    async fn find_dir(&self, version: &str) -> RepoResult<(CommitInfo, String, Option<Vec<u8>>)> {
        if !semver::is_valid(version) {
            return Err(RepoError::not_found(format!(
                "{}@{version}: invalid version: syntax error",
                self.mod_path
            )));
        }
        let rev = self.rev_to_rev(version);
        let info = match self.code.stat(&rev).await {
            Ok(info) => info,
            Err(RepoError::NotFound(why)) => {
                return Err(RepoError::NotFound(format!(
                    "reading {}/{} at revision {rev}: {why}",
                    self.code_root,
                    join(&[&self.code_dir, "go.mod"])
                )))
            }
            Err(e) => return Err(e),
        };

        // Look at go.mod, but decide only after ruling out vN/go.mod.
        let file1 = join(&[&self.code_dir, "go.mod"]);
        let gomod1 = self.read_blob(&info.name, &file1, MAX_GO_MOD).await?;
        let mpath1 = match &gomod1 {
            Blob::Found(data) => module_path(data).unwrap_or_default(),
            Blob::Missing => String::new(),
        };
        let found1 = matches!(gomod1, Blob::Found(_))
            && (is_major(&mpath1, &self.path_major)
                || self.can_replace_mismatched_version_due_to_bug(&mpath1));

        let mut file2 = String::new();
        if !self.path_major.is_empty()
            && self.code_root != self.mod_path
            && !self.path_major.starts_with('.')
        {
            // With /vN: either go.mod says vN and vN/go.mod does not exist,
            // or vN/go.mod exists and says vN. Only the major suffix is
            // compared (forks used in replace directives have other paths).
            let dir2 = join(&[&self.code_dir, &self.path_major[1..]]);
            file2 = join(&[&dir2, "go.mod"]);
            let gomod2 = self.read_blob(&info.name, &file2, MAX_GO_MOD).await?;
            let mpath2 = match &gomod2 {
                Blob::Found(data) => module_path(data).unwrap_or_default(),
                Blob::Missing => String::new(),
            };
            let found2 = matches!(gomod2, Blob::Found(_)) && is_major(&mpath2, &self.path_major);
            if found1 && found2 {
                return Err(RepoError::NotFound(format!(
                    "{}/{file1} and ...{}/go.mod both have ...{} module paths at revision {rev}",
                    self.path_prefix, self.path_major, self.path_major
                )));
            }
            if found2 {
                let Blob::Found(data) = gomod2 else {
                    unreachable!("found2 implies a go.mod")
                };
                return Ok((info, dir2, Some(data)));
            }
            if matches!(gomod2, Blob::Found(_)) {
                if mpath2.is_empty() {
                    return Err(RepoError::NotFound(format!(
                        "{}/{file2} is missing module path at revision {rev}",
                        self.code_root
                    )));
                }
                return Err(RepoError::NotFound(format!(
                    "{}/{file2} has non-...{} module path {mpath2:?} at revision {rev}",
                    self.code_root, self.path_major
                )));
            }
        }

        if found1 {
            let Blob::Found(data) = gomod1 else {
                unreachable!("found1 implies a go.mod")
            };
            return Ok((info, self.code_dir.clone(), Some(data)));
        }
        if matches!(gomod1, Blob::Found(_)) {
            let suffix = if file2.is_empty() {
                String::new()
            } else {
                format!(" (and ...{}/go.mod does not exist)", self.path_major)
            };
            let why = if mpath1.is_empty() {
                format!("{file1} is missing module path{suffix} at revision {rev}")
            } else if !self.path_major.is_empty() {
                format!(
                    "{file1} has non-...{} module path {mpath1:?}{suffix} at revision {rev}",
                    self.path_major
                )
            } else if split_path_version(&mpath1).is_none() {
                format!("{file1} has malformed module path {mpath1:?}{suffix} at revision {rev}")
            } else {
                format!(
                    "{file1} has post-{} module path {mpath1:?}{suffix} at revision {rev}",
                    semver::major(version)
                )
            };
            return Err(RepoError::NotFound(why));
        }
        if self.code_dir.is_empty()
            && (self.path_major.is_empty() || self.path_major.starts_with('.'))
        {
            // No go.mod at the root: fine for v0/v1 and gopkg.in.
            return Ok((info, String::new(), None));
        }
        if !file2.is_empty() {
            return Err(RepoError::NotFound(format!(
                "missing {}/go.mod and ...{}/go.mod at revision {rev}",
                self.path_prefix, self.path_major
            )));
        }
        Err(RepoError::NotFound(format!(
            "missing {}/go.mod at revision {rev}",
            self.path_prefix
        )))
    }

    /// Go's `canReplaceMismatchedVersionDueToBug` (golang.org/issue/34254).
    fn can_replace_mismatched_version_due_to_bug(&self, mpath: &str) -> bool {
        self.path_major.is_empty() && mpath.starts_with("gopkg.in/")
    }

    /// Go's `GoMod`: the raw go.mod bytes at `version` (no attribute
    /// conversion), or `module <path>\n` when there is none.
    pub(crate) async fn go_mod(&self, version: &str) -> RepoResult<Vec<u8>> {
        if version != canonical_version(version) {
            return Err(RepoError::not_found(format!(
                "version {version} is not canonical"
            )));
        }
        if is_pseudo_version(version) {
            // findDir uses only the commit of a pseudo-version: check the
            // rest before serving anything.
            self.stat(version).await?;
        }
        let (info, dir, gomod) = self.find_dir(version).await?;
        if let Some(data) = gomod {
            return Ok(data);
        }
        match self
            .read_blob(&info.name, &join(&[&dir, "go.mod"]), MAX_GO_MOD)
            .await?
        {
            Blob::Found(data) => Ok(data),
            Blob::Missing => Ok(legacy_go_mod(&self.mod_path)),
        }
    }

    /// Go's `codeRepo.Zip`: `git archive` of the module directory, turned
    /// into the module zip (see [`zipbuild`]).
    pub(crate) async fn zip(&self, version: &str) -> RepoResult<BuiltZip> {
        if version != canonical_version(version) {
            return Err(RepoError::not_found(format!(
                "version {version} is not canonical"
            )));
        }
        if is_pseudo_version(version) {
            self.stat(version).await?;
        }
        // Unlike the go command, no "requires a newer Go" check: a proxy
        // serves modules for every toolchain.
        let (info, subdir, _) = self.find_dir(version).await?;

        let scratch = |e: std::io::Error| {
            RepoError::Failed(format!(
                "creating a temporary file in {}: {e}",
                self.scratch_dir.display()
            ))
        };
        let archive = tempfile::tempfile_in(&self.scratch_dir).map_err(scratch)?;
        let mut archive_async = tokio::fs::File::from_std(archive.try_clone().map_err(scratch)?);
        self.code
            .archive(&info.name, &subdir, &mut archive_async)
            .await?;
        drop(archive_async);

        let subdir_for_listing = subdir.clone();
        let (archive, listing) = blocking(move || {
            let listing = zipbuild::list_archive(&archive, &subdir_for_listing)?;
            Ok((archive, listing))
        })
        .await?;

        let extra_license = if !listing.has_license && !subdir.trim_matches('/').is_empty() {
            match self
                .read_blob(&info.name, "LICENSE", MAX_LICENSE + 1)
                .await?
            {
                Blob::Found(data) => Some(data),
                Blob::Missing => None,
            }
        } else {
            None
        };

        let module = ModuleVersion::new(&self.mod_path, version);
        let mut out = tempfile::tempfile_in(&self.scratch_dir).map_err(scratch)?;
        blocking(move || {
            let len = zipbuild::write_module_zip(
                &archive,
                &listing,
                extra_license.as_deref(),
                &module,
                &mut out,
            )?;
            Ok(BuiltZip { file: out, len })
        })
        .await
    }

    /// Go's `ReadFile` at a resolved commit. A blob over `limit` bytes is
    /// not served (go.mod and LICENSE are capped at 16 MiB in zips).
    async fn read_blob(&self, commit: &str, file: &str, limit: u64) -> RepoResult<Blob> {
        Ok(match self.code.read_file(commit, file, limit).await? {
            Some(data) => Blob::Found(data),
            None => Blob::Missing,
        })
    }

    // -----------------------------------------------------------------
    // Queries (modload/query.go)

    /// What `go list -m <module>@<query>` answers in direct mode, for a
    /// module nobody requires yet: revision queries (a version, a
    /// pseudo-version, a branch, a tag, a commit) resolve through
    /// [`CodeRepo::stat`]; `latest`, `upgrade`, version prefixes (`v1`,
    /// `v1.2`) and comparisons (`<v1.2.0`, `>=v1.1`) choose among the tagged
    /// versions that are not retracted, preferring releases, and fall back
    /// to the default branch's HEAD where Go does (`mayUseLatest`).
    pub(crate) async fn query(&self, query: &str) -> RepoResult<ModuleRev> {
        let matcher = match QueryMatcher::new(&self.mod_path, query) {
            Ok(Some(matcher)) if !matcher.can_stat => matcher,
            Ok(_) => return self.stat_query(query).await,
            Err(why) => {
                return Err(RepoError::NotFound(format!(
                    "{}@{query}: {why}",
                    self.mod_path
                )))
            }
        };
        // Go's CheckAllowed: retractions come from the go.mod of the latest
        // version found while ignoring them
        // (queryLatestVersionIgnoringRetractions); failing to load them
        // filters nothing.
        let latest_matcher = QueryMatcher::new(&self.mod_path, "latest")
            .ok()
            .flatten()
            .expect("latest is a valid query");
        let all_versions = self.versions("").await?;
        let retractions = match self
            .query_versions(&latest_matcher, &all_versions, |_| true, query)
            .await
        {
            Ok(latest) => match self.go_mod(&latest.version).await {
                Ok(data) => Some(parse_lax(&data)).filter(GoModSummary::is_valid),
                Err(RepoError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            Err(RepoError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let allowed = |v: &str| !retractions.as_ref().is_some_and(|r| r.is_retracted(v));
        let versions = if matcher.prefix.is_empty() {
            all_versions
        } else {
            self.versions(&matcher.prefix).await?
        };
        self.query_versions(&matcher, &versions, allowed, query)
            .await
    }

    /// `queryProxy` for a revision query: `Stat`, and for a version with
    /// build metadata (`v1.2.3+meta`) that is not a tag, `Stat` of its
    /// canonical form.
    async fn stat_query(&self, query: &str) -> RepoResult<ModuleRev> {
        match self.stat(query).await {
            Ok(rev) => Ok(rev),
            Err(RepoError::NotFound(first)) => {
                let canonical = canonical_version(query);
                if canonical.is_empty() || canonical == query {
                    return Err(RepoError::NotFound(first));
                }
                match self.stat(&canonical).await {
                    Ok(rev) => Ok(rev),
                    Err(RepoError::NotFound(_)) => Err(RepoError::NotFound(first)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The part of `queryProxy` after `Versions`: `filterVersions`, then the
    /// highest (or, for `>`/`>=`, lowest) release, else pre-release, else
    /// the default branch's HEAD if the query allows it.
    async fn query_versions(
        &self,
        matcher: &QueryMatcher,
        versions: &[String],
        allowed: impl Fn(&str) -> bool,
        query: &str,
    ) -> RepoResult<ModuleRev> {
        let allows = |v: &str| matcher.allows(v) && allowed(v);
        let mut releases: Vec<&String> = Vec::new();
        let mut prereleases: Vec<&String> = Vec::new();
        let mut need_incompatible = matcher.prefer_incompatible;
        let mut last_compatible: Option<&String> = None;
        for v in versions {
            if !allows(v) {
                continue;
            }
            if !need_incompatible {
                if !v.ends_with("+incompatible") {
                    last_compatible = Some(v);
                } else if let Some(compatible) = last_compatible {
                    // A go.mod in the latest allowed compatible version means
                    // the author supports modules: ignore +incompatible
                    // versions (golang.org/issue/34165).
                    if self.go_mod(compatible).await? != legacy_go_mod(&self.mod_path) {
                        break;
                    }
                    need_incompatible = true;
                }
            }
            if semver::prerelease(v).is_empty() {
                releases.push(v);
            } else {
                prereleases.push(v);
            }
        }
        let chosen = if matcher.prefer_lower {
            releases.first().or(prereleases.first())
        } else {
            releases.last().or(prereleases.last())
        };
        if let Some(v) = chosen {
            return self.stat(v).await;
        }
        if matcher.may_use_latest {
            match self.latest().await {
                Ok(latest) if allows(&latest.version) => return Ok(latest),
                Ok(_) | Err(RepoError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(RepoError::NotFound(format!(
            "{}@{query}: no matching versions for query {query:?}",
            self.mod_path
        )))
    }
}

/// Go's `queryMatcher` for a module nobody requires yet (no current
/// version), from `newQueryMatcher`.
struct QueryMatcher {
    prefix: String,
    filter: Option<(std::cmp::Ordering, bool, String)>,
    can_stat: bool,
    prefer_lower: bool,
    may_use_latest: bool,
    prefer_incompatible: bool,
}

impl QueryMatcher {
    /// `Ok(None)` for a revision query (Go's `errRevQuery`); `Err` for a
    /// malformed range.
    fn new(path: &str, query: &str) -> Result<Option<QueryMatcher>, String> {
        let mut m = QueryMatcher {
            prefix: String::new(),
            filter: None,
            can_stat: false,
            prefer_lower: false,
            may_use_latest: false,
            prefer_incompatible: false,
        };
        let bad = |v: &str| format!("invalid semantic version {v:?} in range {query:?}");
        let ambiguous = |v: &str| format!("ambiguous semantic version {v:?} in range {query:?}");
        let matches_major =
            |v: &str| split_path_version(path).is_some_and(|(_, major)| match_path_major(v, major));
        // (comparison the version must have with the bound, or-equal, bound)
        let mut range = |op: &str,
                         or_equal: bool,
                         ordering: std::cmp::Ordering,
                         lower: bool|
         -> Result<(), String> {
            let v = &query[op.len()..];
            if !semver::is_valid(v) {
                return Err(bad(v));
            }
            if mod_is_prefix(v) && (op == "<=" || op == ">") {
                return Err(ambiguous(v));
            }
            m.filter = Some((ordering, or_equal, v.to_owned()));
            m.prefer_lower = lower;
            if !matches_major(v) {
                m.prefer_incompatible = true;
            }
            Ok(())
        };
        use std::cmp::Ordering::{Greater, Less};
        if query == "latest" || query == "upgrade" {
            m.may_use_latest = true;
        } else if query == "patch" {
            return Err(format!(
                "can't query version \"patch\" of module {path}: no existing version is required"
            ));
        } else if query.starts_with("<=") {
            range("<=", true, Less, false)?;
        } else if query.starts_with('<') {
            range("<", false, Less, false)?;
        } else if query.starts_with(">=") {
            range(">=", true, Greater, true)?;
        } else if query.starts_with('>') {
            range(">", false, Greater, true)?;
        } else if semver::is_valid(query) {
            if mod_is_prefix(query) {
                m.prefix = format!("{query}.");
                // v1.2 must not match pre-releases of v1.2.0 (golang.org/issue/31972).
                m.filter = Some((Greater, true, query.to_owned()));
            } else {
                m.can_stat = true;
                m.prefix = semver::canonical(query);
            }
            if !matches_major(query) {
                m.prefer_incompatible = true;
            }
        } else {
            return Ok(None);
        }
        Ok(Some(m))
    }

    /// Go's `allowsVersion` without the `allowed` callback.
    fn allows(&self, v: &str) -> bool {
        if !v.starts_with(&self.prefix) {
            return false;
        }
        match &self.filter {
            None => true,
            Some((ordering, or_equal, bound)) => {
                let cmp = semver::compare(v, bound);
                cmp == *ordering || (*or_equal && cmp.is_eq())
            }
        }
    }
}

/// Go's `gover.ModIsPrefix` for module versions: `vN` or `vN.M`.
fn mod_is_prefix(v: &str) -> bool {
    !v.contains(['-', '+']) && v.matches('.').count() < 2
}

/// Go's `tagToVersion` (inside `convert`): the canonical version a tag
/// names for this module, and whether the tag is exactly that version.
/// Invalid, incomplete (`v1.2`) and pseudo-version-shaped tags give `""`.
fn tag_to_version(tag_prefix: &str, tag: &str) -> (String, bool) {
    let Some(trimmed) = tag.strip_prefix(tag_prefix) else {
        return (String::new(), false);
    };
    // Go tests the whole tag here, prefix included.
    if is_pseudo_version(tag) {
        return (String::new(), false);
    }
    // semver.Canonical, not module.CanonicalVersion: a tag's explicit
    // "+incompatible" is not taken over.
    let v = semver::canonical(trimmed);
    if v.is_empty() || !trimmed.starts_with(&v) {
        return (String::new(), false);
    }
    let canonical = v == trimmed;
    (v, canonical)
}

/// Go's `isMajor`: whether a go.mod's module path allows the majors that
/// the requested path's suffix implies.
fn is_major(mpath: &str, path_major: &str) -> bool {
    if mpath.is_empty() {
        return false;
    }
    let Some((_, mpath_major)) = split_path_version(mpath) else {
        return false;
    };
    if path_major.is_empty() {
        return matches!(path_major_prefix(mpath_major), "" | "v0" | "v1");
    }
    if mpath_major.is_empty() {
        return false;
    }
    path_major[1..] == mpath_major[1..]
}

/// Go's `LegacyGoMod`: the go.mod of a module without one. Valid module
/// paths never need `modfile.AutoQuote`'s quotes.
pub(crate) fn legacy_go_mod(path: &str) -> Vec<u8> {
    format!("module {path}\n").into_bytes()
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> RepoResult<T> + Send + 'static,
) -> RepoResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RepoError::Failed(format!("zip task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_to_versions() {
        assert_eq!(tag_to_version("", "v1.2.3"), ("v1.2.3".into(), true));
        assert_eq!(tag_to_version("", "v1.2.3+meta"), ("v1.2.3".into(), false));
        assert_eq!(tag_to_version("", "v1.2"), (String::new(), false));
        assert_eq!(
            tag_to_version("", "v2.0.0+incompatible"),
            ("v2.0.0".into(), false)
        );
        assert_eq!(
            tag_to_version("sub/", "sub/v1.0.0"),
            ("v1.0.0".into(), true)
        );
        assert_eq!(tag_to_version("sub/", "v1.0.0"), (String::new(), false));
        assert_eq!(
            tag_to_version("", "v1.0.0-20200101000000-abcdefabcdef"),
            (String::new(), false)
        );
        assert_eq!(tag_to_version("", "release"), (String::new(), false));
    }

    #[test]
    fn major_compatibility() {
        assert!(is_major("example.com/m", ""));
        assert!(is_major("gopkg.in/yaml.v1", ""));
        assert!(!is_major("gopkg.in/yaml.v2", ""));
        assert!(!is_major("example.com/m/v2", ""));
        assert!(is_major("example.com/m/v2", "/v2"));
        assert!(is_major("gopkg.in/m.v2", "/v2"));
        assert!(!is_major("example.com/m", "/v2"));
        assert!(!is_major("", ""));
        assert!(!is_major("example.com/m/v1", ""));
    }

    #[test]
    fn legacy_go_mod_is_one_line() {
        assert_eq!(legacy_go_mod("github.com/a/b"), b"module github.com/a/b\n");
    }
}
