//! Module zips built from a directory, for publishing a module version to
//! modvault: a port of `CreateFromDir` from golang.org/x/mod/zip (zip.go),
//! so that a zip made here has the `h1:` hash the go command would compute
//! for the same tree.
//!
//! * [`zip_dir`] walks the directory the way Go's `listFilesInDir` does,
//!   chooses the files with [`modvault_core::modzip::plan_files`] (Go's
//!   `checkFiles`), and streams them into a zip, hashing as it goes.
//! * [`plan_dir`] is the same choice without writing anything: what would
//!   go in, and what would be left out and why.
//! * [`module_path_from_dir`] reads the module path from the root go.mod.

mod walk;
mod write;

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use modvault_core::gomod;
use modvault_core::modzip::{self, FileCandidate, FileKind, ZipError, MAX_GO_MOD};
use modvault_core::path::{canonical_version, check};
use modvault_core::ModuleVersion;

/// What [`zip_dir`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSummary {
    /// The `h1:` hash of the zip (its go.sum line).
    pub zip_hash: String,
    /// The module's `.mod` file: the root go.mod as zipped, or, for a
    /// module without one, `module <path>\n` as the go command synthesizes.
    pub go_mod: Vec<u8>,
    /// The `h1:` hash of `go_mod` (its `/go.mod` go.sum line).
    pub go_mod_hash: String,
    /// How many files the zip holds.
    pub files: usize,
}

/// The files [`plan_dir`] would put into a zip, and those it leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirPlan {
    /// Slash-separated paths relative to the directory, in zip order.
    pub included: Vec<String>,
    /// Files and whole directories left out, with Go's reason (e.g.
    /// `directory is a version control repository`), in the order of Go's
    /// `CheckDir`: those `checkFiles` omits, then those the walk skips.
    pub omitted: Vec<OmittedFile>,
}

/// A file or directory that is not part of the zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmittedFile {
    pub path: String,
    pub reason: String,
}

/// Why a module zip cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The version or the files break the module zip rules; Go's message
    /// (`version "v1.0" is not canonical (should be "v1.0.0")`, invalid
    /// file names, case collisions, size limits, ...).
    #[error(transparent)]
    Invalid(#[from] ZipError),
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was replaced or changed size between listing and zipping.
    #[error("{}: file changed while being zipped", .0.display())]
    FileChanged(PathBuf),
    /// The root go.mod names another module: the go command would refuse
    /// the published version ("module declares its path as ...").
    #[error("go.mod declares module path {declared}, not {requested}")]
    ModulePathMismatch { declared: String, requested: String },
    #[error("{}: no go.mod file", .0.display())]
    NoGoMod(PathBuf),
    #[error("{}: no module path in go.mod", .0.display())]
    NoModulePath(PathBuf),
    #[error("writing the zip: {0}")]
    Write(#[from] zip::result::ZipError),
    /// Cannot happen for a valid file name (no newlines); kept typed.
    #[error(transparent)]
    Hash(#[from] modvault_core::dirhash::HashError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the zip of module `module_path` at `version` from the tree in
/// `dir` to `out`, as Go's `zip.CreateFromDir` would: entries
/// `<path>@<version>/<name>`, deflated, in Go's order; vendored packages,
/// nested modules (directories with a go.mod), VCS directories (`.bzr`,
/// `.git`, `.hg`, `.svn`), symlinks and other irregular files left out.
/// File contents are streamed, never held whole in memory (except go.mod,
/// at most 16 MiB). The zip's bytes are reproducible (fixed timestamps).
///
/// Beyond Go: the root go.mod, if it names a module path, must name
/// `module_path`; and a file that changes size while being zipped is an
/// error (Go tolerates a shrinking file).
pub fn zip_dir(
    dir: &Path,
    module_path: &str,
    version: &str,
    out: impl Write + Seek,
) -> Result<ZipSummary, PublishError> {
    let module = checked_module(module_path, version)?;
    let planned = plan(dir, &module)?;
    if let Some(go_mod) = &planned.root_go_mod {
        if let Some(declared) = gomod::module_path(go_mod) {
            if declared != module_path {
                return Err(PublishError::ModulePathMismatch {
                    declared,
                    requested: module_path.to_owned(),
                });
            }
        }
    }
    write::write_zip(&module, &planned, out)
}

/// What [`zip_dir`] would zip, without writing anything. Fails for the same
/// reasons (except the go.mod module path check and write errors).
pub fn plan_dir(dir: &Path, module_path: &str, version: &str) -> Result<DirPlan, PublishError> {
    let module = checked_module(module_path, version)?;
    let planned = plan(dir, &module)?;
    Ok(DirPlan {
        included: planned.files.iter().map(|f| f.name.clone()).collect(),
        omitted: planned.omitted,
    })
}

/// The module path declared by `dir/go.mod` (Go's `modfile.ModulePath`,
/// tolerant of any other problem in the file). Not validated.
pub fn module_path_from_dir(dir: &Path) -> Result<String, PublishError> {
    let path = dir.join("go.mod");
    let data = match walk::read_bounded(&path, MAX_GO_MOD) {
        Ok(Some(data)) => data,
        Ok(None) => {
            return Err(PublishError::Invalid(ZipError::InvalidFiles(vec![
                modzip::FileError {
                    path: "go.mod".to_owned(),
                    problem: modzip::FileProblem::GoModTooLarge,
                },
            ])))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PublishError::NoGoMod(dir.to_owned()))
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    gomod::module_path(&data).ok_or(PublishError::NoModulePath(path))
}

/// Go `Create`'s first checks, done before walking a possibly large tree.
fn checked_module(module_path: &str, version: &str) -> Result<ModuleVersion, PublishError> {
    let canonical = canonical_version(version);
    if canonical != version {
        return Err(ZipError::NonCanonicalVersion {
            version: version.to_owned(),
            canonical,
        }
        .into());
    }
    check(module_path, version).map_err(ZipError::InvalidModule)?;
    Ok(ModuleVersion::new(module_path, version))
}

/// A file chosen for the zip.
#[derive(Debug)]
struct PlannedFile {
    /// Slash-separated, relative to the module root.
    name: String,
    /// Where to read it.
    path: PathBuf,
    /// Its size when listed (Go checks the size limits on these).
    size: u64,
}

#[derive(Debug)]
struct Plan {
    files: Vec<PlannedFile>,
    omitted: Vec<OmittedFile>,
    /// The root go.mod's contents, when it is one of `files`.
    root_go_mod: Option<Vec<u8>>,
}

/// Go `CreateFromDir` up to the writing: `listFilesInDir`, then
/// `checkFiles` via [`modzip::plan_files`].
fn plan(dir: &Path, module: &ModuleVersion) -> Result<Plan, PublishError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(PublishError::NotADirectory(dir.to_owned())),
        Err(e) => return Err(io_error(dir)(e)),
    }
    let walked = walk::list_files_in_dir(dir)?;
    let files = walked.files;

    // Go's checkFiles reads the `go` line again, from the root go.mod in
    // the list of regular files only. The walk read it through a symlink,
    // so for a symlinked root go.mod the two vendor rules differ, and a
    // file is omitted if either makes it vendored, exactly as in Go.
    let root_go_mod = match files.iter().find(|f| f.name == "go.mod") {
        Some(file) => match walk::read_bounded(&file.path, MAX_GO_MOD) {
            Ok(data) => data, // None (too large): plan_files rejects it
            Err(e) => return Err(io_error(&file.path)(e)),
        },
        None => None,
    };
    let check_files_version = go_version(root_go_mod.as_deref());

    let candidates: Vec<FileCandidate> = files
        .iter()
        .map(|f| FileCandidate {
            name: &f.name,
            kind: FileKind::Regular,
            size: f.size,
        })
        .collect();
    let chosen = modzip::plan_files(module, &candidates, check_files_version.as_deref())?;
    drop(candidates);
    // Go's CheckDir order: checkFiles' omissions, then the walk's.
    let mut omitted: Vec<OmittedFile> = chosen
        .omitted
        .iter()
        .map(|(i, reason)| OmittedFile {
            path: files[*i].name.clone(),
            reason: reason.clone(),
        })
        .collect();
    omitted.extend(walked.omitted);
    let mut keep = vec![false; files.len()];
    for &i in &chosen.included {
        keep[i] = true;
    }
    let files: Vec<PlannedFile> = files
        .into_iter()
        .zip(keep)
        .filter_map(|(file, keep)| keep.then_some(file))
        .collect();
    let root_go_mod = root_go_mod.filter(|_| files.iter().any(|f| f.name == "go.mod"));
    Ok(Plan {
        files,
        omitted,
        root_go_mod,
    })
}

/// The `go` version x/mod/zip's `parseGoVers` reads from go.mod contents
/// (`None`: no go.mod, no `go` line, or a go.mod `ParseLax` rejects).
fn go_version(go_mod: Option<&[u8]>) -> Option<String> {
    go_mod.and_then(|data| {
        gomod::parse_lax(data)
            .go_version_for_zip()
            .map(str::to_owned)
    })
}
