//! The rules for module zip files: a port of the checks in
//! `golang.org/x/mod/zip` (zip.go), over file names and sizes only. The
//! caller reads and writes the actual archive.
//!
//! * [`check_zip_entries`] is what the go command applies to a downloaded
//!   zip before extracting it (`checkZip`).
//! * [`plan_files`] is how the go command chooses the files of a zip it
//!   builds from a repository (`Create` / `checkFiles`): which are written,
//!   which silently omitted (vendored packages, nested modules, symlinks),
//!   and which make the whole zip impossible.

use std::collections::{HashMap, HashSet};

use crate::fold::{equal_fold, str_to_fold};
use crate::gomod::lang_at_least;
use crate::gopath;
use crate::path::{canonical_version, check, check_file_path, PathError};
use crate::quote::quote;
use crate::ModuleVersion;

/// Largest module zip, and largest total uncompressed size of its files.
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// Largest `go.mod` in a module zip.
pub const MAX_GO_MOD: u64 = 16 << 20;
/// Largest `LICENSE` in a module zip.
pub const MAX_LICENSE: u64 = 16 << 20;

/// One entry of an existing zip file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipEntry<'a> {
    /// The full entry name, including the `path@version/` prefix;
    /// directory entries end in `/`.
    pub name: &'a str,
    /// The uncompressed size declared in the zip header.
    pub uncompressed_size: u64,
}

/// What kind of file a [`FileCandidate`] is (Go's `Lstat().Mode()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Symlink,
    /// Anything else that is not a directory (device, socket, ...).
    Other,
    /// A directory. Never listed by git, but Go's collision checks treat it
    /// as a directory before omitting it as irregular.
    Directory,
}

/// A file that might go into a zip being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCandidate<'a> {
    /// Slash-separated path relative to the module root.
    pub name: &'a str,
    pub kind: FileKind,
    pub size: u64,
}

/// The outcome of [`plan_files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilePlan {
    /// Indices of the files to write, in input order (also the order Go
    /// writes them in).
    pub included: Vec<usize>,
    /// Indices of silently omitted files, in input order, with Go's reason
    /// (e.g. `file is in vendor directory`). Unlike Go's `CheckedFiles`,
    /// duplicates of an omitted path are each listed.
    pub omitted: Vec<(usize, String)>,
}

/// Why a file is silently left out of a zip being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OmitReason {
    #[error("file is in vendor directory")]
    Vendored,
    #[error("file is in another module")]
    InSubmodule,
    #[error("file is inserted by 'hg archive' and is always omitted")]
    HgArchival,
    #[error("file is a symbolic link")]
    Symlink,
    #[error("not a regular file")]
    NotRegular,
}

/// Why a file makes a zip invalid (Go's error texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("path does not have prefix {}", quote(.0))]
    MissingPrefix(String),
    #[error("file path is not clean")]
    NotClean,
    #[error("file path is not relative")]
    NotRelative,
    #[error(transparent)]
    BadPath(PathError),
    #[error("go.mod files must have lowercase names")]
    GoModCase,
    #[error("go.mod file not in module root directory")]
    GoModNotInRoot,
    #[error("go.mod file too large (max size is {MAX_GO_MOD} bytes)")]
    GoModTooLarge,
    #[error("LICENSE file too large (max size is {MAX_LICENSE} bytes)")]
    LicenseTooLarge,
    #[error("case-insensitive file name collision: {} and {}", quote(.first), quote(.second))]
    CaseCollision { first: String, second: String },
    #[error("entry {} is both a file and a directory", quote(.0))]
    FileAndDirectory(String),
    #[error("multiple entries for file {}", quote(.0))]
    Duplicate(String),
}

/// Go's `FileError`: `<path>: <problem>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FileError {
    /// The entry name (for zips) or the path relative to the module root.
    pub path: String,
    pub problem: FileProblem,
}

/// Why a set of files cannot be (or is not) a valid module zip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("version {} is not canonical (should be {})", quote(.version), quote(.canonical))]
    NonCanonicalVersion { version: String, canonical: String },
    /// `module.Check(path, version)` fails.
    #[error(transparent)]
    InvalidModule(PathError),
    /// [`plan_files`]: the files add up to more than [`MAX_ZIP_FILE`].
    #[error("module source tree too large (max size is {MAX_ZIP_FILE} bytes)")]
    SourceTreeTooLarge,
    /// [`check_zip_entries`]: the declared sizes add up to more than [`MAX_ZIP_FILE`].
    #[error(
        "total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)"
    )]
    ContentsTooLarge,
    /// One or more invalid files, in input order; shows the first.
    #[error("{}{}", .0[0], more_suffix(.0.len()))]
    InvalidFiles(Vec<FileError>),
}

fn more_suffix(n: usize) -> String {
    match n {
        0 | 1 => String::new(),
        2 => " (and 1 more invalid file)".to_owned(),
        n => format!(" (and {} more invalid files)", n - 1),
    }
}

impl ZipError {
    /// The invalid files, if that is what this error is about.
    pub fn invalid_files(&self) -> &[FileError] {
        match self {
            ZipError::InvalidFiles(files) => files,
            _ => &[],
        }
    }
}

/// Go `checkZip`'s first step, shared with `Create`: the version is
/// canonical and `module.Check` passes.
fn check_module(m: &ModuleVersion) -> Result<(), ZipError> {
    let canonical = canonical_version(&m.version);
    if canonical != m.version {
        return Err(ZipError::NonCanonicalVersion {
            version: m.version.clone(),
            canonical,
        });
    }
    check(&m.path, &m.version).map_err(ZipError::InvalidModule)
}

/// The checks Go's `checkZip` applies to an existing zip (what the go
/// command accepts on download, before extracting): `m` is a valid,
/// canonical module version; every name starts with `path@version/`; the
/// rest is clean, a valid file path, free of case-fold collisions and
/// file/directory clashes; `go.mod` (in any case) appears only at the root,
/// spelled exactly; the declared sizes add up to at most [`MAX_ZIP_FILE`];
/// root `go.mod` and `LICENSE` are within [`MAX_GO_MOD`] / [`MAX_LICENSE`].
///
/// Not covered: the zip file's own size (also at most [`MAX_ZIP_FILE`]) and
/// whether the real sizes match the declared ones; the caller checks those.
/// A size error takes precedence over invalid files, as in Go.
pub fn check_zip_entries(m: &ModuleVersion, entries: &[ZipEntry]) -> Result<(), ZipError> {
    check_module(m)?;
    let prefix = format!("{}@{}/", m.path, m.version);
    let mut invalid = Vec::new();
    let mut collisions = CollisionChecker::default();
    let mut size_error = false;
    let mut total: u64 = 0;
    for entry in entries {
        let mut add_error = |problem| {
            invalid.push(FileError {
                path: entry.name.to_owned(),
                problem,
            })
        };
        let Some(name) = entry.name.strip_prefix(prefix.as_str()) else {
            add_error(FileProblem::MissingPrefix(prefix.clone()));
            continue;
        };
        if name.is_empty() {
            continue; // the module root directory itself
        }
        let (name, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (name, false),
        };
        if gopath::clean(name) != name {
            add_error(FileProblem::NotClean);
            continue;
        }
        if let Err(e) = check_file_path(name) {
            add_error(FileProblem::BadPath(e));
            continue;
        }
        if let Err(problem) = collisions.check(name, is_dir) {
            add_error(problem);
            continue;
        }
        if is_dir {
            continue;
        }
        let base = gopath::base(name);
        if equal_fold(base, "go.mod") {
            if base != name {
                add_error(FileProblem::GoModNotInRoot);
                continue;
            }
            if name != "go.mod" {
                add_error(FileProblem::GoModCase);
                continue;
            }
        }
        // Go converts the declared uint64 size to int64, so sizes of 2^63
        // and above are negative there: a size error, yet never "too large"
        // for go.mod or LICENSE.
        let size = entry.uncompressed_size;
        let negative_in_go = size > i64::MAX as u64;
        if !negative_in_go && MAX_ZIP_FILE - total >= size {
            total += size;
        } else {
            size_error = true;
        }
        if name == "go.mod" && !negative_in_go && size > MAX_GO_MOD {
            add_error(FileProblem::GoModTooLarge);
            continue;
        }
        if name == "LICENSE" && !negative_in_go && size > MAX_LICENSE {
            add_error(FileProblem::LicenseTooLarge);
            continue;
        }
    }
    if size_error {
        return Err(ZipError::ContentsTooLarge);
    }
    if !invalid.is_empty() {
        return Err(ZipError::InvalidFiles(invalid));
    }
    Ok(())
}

/// Chooses the files of a zip for `m` as Go's `zip.Create` does
/// (`checkFiles`), given the candidate files relative to the module root.
///
/// `root_go_version` is the `go` directive of the root `go.mod` (e.g.
/// `"1.24.1"`), `None` if there is none or Go's `ParseLax` rejects the
/// file: use [`crate::gomod::GoModSummary::go_version_for_zip`] on the
/// *regular* root `go.mod`. It selects the vendoring rules: from language
/// version 1.24 on, `vendor/modules.txt` is omitted and the old
/// `pkg/vendor/x.go` bug is fixed.
///
/// Omitted: files in vendored packages; files under any non-root directory
/// that holds a regular file named `go.mod` in any case (a nested module);
/// `.hg_archival.txt` at the root; symlinks and other irregular files.
/// Fails if any file is invalid (unclean or bad name, `go.mod` in the wrong
/// case, case-fold collision, file/directory clash), if the sizes add up to
/// more than [`MAX_ZIP_FILE`] (reported in preference), or if root `go.mod`
/// or `LICENSE` exceeds its limit.
pub fn plan_files(
    m: &ModuleVersion,
    files: &[FileCandidate],
    root_go_version: Option<&str>,
) -> Result<FilePlan, ZipError> {
    check_module(m)?;
    let checked = check_files(files, root_go_version);
    if checked.size_error {
        return Err(ZipError::SourceTreeTooLarge);
    }
    if !checked.invalid.is_empty() {
        return Err(ZipError::InvalidFiles(
            checked.invalid.into_iter().map(|(_, e)| e).collect(),
        ));
    }
    Ok(FilePlan {
        included: checked.included,
        omitted: checked.omitted,
    })
}

/// The full report behind [`plan_files`] (Go's `CheckFiles`, without the
/// module check). Every file is in one of the lists, except repeats of an
/// invalid path, which Go reports only once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedFiles {
    /// Indices of the files to write, in input order.
    pub included: Vec<usize>,
    /// Indices of silently omitted files, with the reason.
    pub omitted: Vec<(usize, String)>,
    /// Indices of invalid files, with the problem.
    pub invalid: Vec<(usize, FileError)>,
    /// The sizes of the included files add up to more than [`MAX_ZIP_FILE`].
    pub size_error: bool,
}

/// Classifies files as Go's `checkFiles` does; see [`plan_files`], which
/// turns the report into a result. Useful to explain why a zip cannot be
/// built.
pub fn check_files(files: &[FileCandidate], root_go_version: Option<&str>) -> CheckedFiles {
    let go_1_24 = root_go_version.is_some_and(|v| lang_at_least(v, "1.24"));

    // Directories other than the root that contain a regular go.mod (any
    // case) hold nested modules; keyed like Go's `path.Split` dir ("a/b/").
    let nested_module_dirs: HashSet<&str> = files
        .iter()
        .filter(|f| f.kind == FileKind::Regular)
        .filter_map(|f| {
            let (dir, base) = gopath::split(f.name);
            equal_fold(base, "go.mod").then_some(dir)
        })
        .collect();
    let in_submodule = |p: &str| {
        let mut p = p;
        loop {
            let (dir, _) = gopath::split(p);
            if dir.is_empty() {
                return false;
            }
            if nested_module_dirs.contains(dir) {
                return true;
            }
            p = &dir[..dir.len() - 1];
        }
    };

    let mut out = Outcome::default();
    let mut collisions = CollisionChecker::default();
    let mut remaining: u64 = MAX_ZIP_FILE;
    for (index, file) in files.iter().enumerate() {
        let p = file.name;
        if gopath::clean(p) != p {
            out.reject(index, p, FileProblem::NotClean);
            continue;
        }
        if p.starts_with('/') {
            out.reject(index, p, FileProblem::NotRelative);
            continue;
        }
        if is_vendored_package(p, go_1_24) {
            out.omit(index, p, OmitReason::Vendored);
            continue;
        }
        if in_submodule(p) {
            out.omit(index, p, OmitReason::InSubmodule);
            continue;
        }
        if p == ".hg_archival.txt" {
            // Inserted by hg archive; dropped whatever the VCS.
            out.omit(index, p, OmitReason::HgArchival);
            continue;
        }
        if let Err(e) = check_file_path(p) {
            out.reject(index, p, FileProblem::BadPath(e));
            continue;
        }
        // Go: strings.ToLower(p) == "go.mod" && p != "go.mod". No non-ASCII
        // rune lower-cases to one of "go.mod"'s characters, so only a
        // 6-byte ASCII p can match.
        if p.eq_ignore_ascii_case("go.mod") && p != "go.mod" {
            out.reject(index, p, FileProblem::GoModCase);
            continue;
        }
        if let Err(problem) = collisions.check(p, file.kind == FileKind::Directory) {
            out.reject(index, p, problem);
            continue;
        }
        match file.kind {
            FileKind::Regular => {}
            FileKind::Symlink => {
                out.omit(index, p, OmitReason::Symlink);
                continue;
            }
            FileKind::Other | FileKind::Directory => {
                out.omit(index, p, OmitReason::NotRegular);
                continue;
            }
        }
        // Go's sizes are int64: 2^63 and above are negative there.
        let size = file.size;
        let negative_in_go = size > i64::MAX as u64;
        if !negative_in_go && size <= remaining {
            remaining -= size;
        } else {
            out.checked.size_error = true;
        }
        if p == "go.mod" && !negative_in_go && size > MAX_GO_MOD {
            out.reject(index, p, FileProblem::GoModTooLarge);
            continue;
        }
        if p == "LICENSE" && !negative_in_go && size > MAX_LICENSE {
            out.reject(index, p, FileProblem::LicenseTooLarge);
            continue;
        }
        out.checked.included.push(index);
    }
    out.checked
}

/// The report [`check_files`] builds up.
#[derive(Default)]
struct Outcome<'a> {
    checked: CheckedFiles,
    /// Go's `errPaths`: a path is reported once, as omitted or invalid,
    /// whichever comes first.
    reported: HashSet<&'a str>,
}

impl<'a> Outcome<'a> {
    fn omit(&mut self, index: usize, path: &'a str, reason: OmitReason) {
        self.reported.insert(path);
        self.checked.omitted.push((index, reason.to_string()));
    }

    fn reject(&mut self, index: usize, path: &'a str, problem: FileProblem) {
        if self.reported.insert(path) {
            self.checked.invalid.push((
                index,
                FileError {
                    path: path.to_owned(),
                    problem,
                },
            ));
        } else if !self.checked.invalid.iter().any(|(_, e)| e.path == path) {
            // Go drops the error because the path was already reported as
            // omitted, so the file is silently left out and the zip stays
            // valid. List it as omitted, with its problem as the reason.
            self.checked.omitted.push((index, problem.to_string()));
        }
    }
}

/// Go `isVendoredPackage`: whether `name` is in a package whose import path
/// contains (but does not end with) a `vendor` element.
///
/// Before Go 1.24 (`go_1_24 == false`) this keeps golang.org/issue/37397:
/// for `x/vendor/...` it looks for a slash after byte 8 of the *whole*
/// name, so `pkg/vendor/vendor.go` counts as vendored; fixing it would
/// change existing checksums. From 1.24 on `vendor/modules.txt` is
/// vendored too (golang.org/issue/63395).
fn is_vendored_package(name: &str, go_1_24: bool) -> bool {
    if go_1_24 && name == "vendor/modules.txt" {
        return true;
    }
    let bytes = name.as_bytes();
    let start = if bytes.starts_with(b"vendor/") {
        "vendor/".len()
    } else if let Some(j) = name.find("/vendor/") {
        if go_1_24 {
            j + "/vendor/".len()
        } else {
            "/vendor/".len() // the bug: an offset into the whole name
        }
    } else {
        return false;
    };
    // Byte slicing, as in Go: `start` may fall inside a multi-byte rune.
    bytes.get(start..).is_some_and(|rest| rest.contains(&b'/'))
}

/// Go's `collisionChecker`: finds paths equal under case folding and paths
/// used both as a file and as a directory. Every parent directory of a path
/// is recorded (and checked) too.
#[derive(Default)]
struct CollisionChecker {
    /// Folded path → (original path, is directory).
    seen: HashMap<String, (String, bool)>,
}

impl CollisionChecker {
    /// Go's recursive `check(p, isDir)`, as a loop over `p` and its parents.
    fn check(&mut self, path: &str, is_dir: bool) -> Result<(), FileProblem> {
        // Folding maps runes to runes and leaves '/' alone, so the fold of
        // each parent is the matching prefix of the fold of the path.
        let folded = str_to_fold(path);
        let (mut p, mut fold, mut is_dir) = (path, folded.as_str(), is_dir);
        loop {
            match self.seen.get(fold) {
                Some((other, other_is_dir)) => {
                    if p != other {
                        return Err(FileProblem::CaseCollision {
                            first: other.clone(),
                            second: p.to_owned(),
                        });
                    }
                    if is_dir != *other_is_dir {
                        return Err(FileProblem::FileAndDirectory(p.to_owned()));
                    }
                    if !is_dir {
                        return Err(FileProblem::Duplicate(p.to_owned()));
                    }
                    // The same directory again is fine (every file checks
                    // its parents).
                }
                None => {
                    self.seen.insert(fold.to_owned(), (p.to_owned(), is_dir));
                }
            }
            // path.Dir(p), stopping at ".". The paths are clean, so this is
            // "everything before the last slash".
            match (p.rfind('/'), fold.rfind('/')) {
                (Some(i), Some(j)) if i > 0 && j > 0 => {
                    p = &p[..i];
                    fold = &fold[..j];
                    is_dir = true;
                }
                _ => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests;
