//! Listing a module's directory the way Go's `listFilesInDir`
//! (x/mod/zip/zip.go) does, and opening its files defensively.

use std::ffi::OsString;
use std::fs::{self, File, FileType};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use modvault_core::modzip::{check_files, FileCandidate, FileKind, OmitReason, MAX_GO_MOD};

use crate::{io_error, OmittedFile, PlannedFile, PublishError};

/// Go's reasons for what `listFilesInDir` leaves out (errVCS,
/// errSubmoduleDir, errNotRegular in zip.go).
const VCS_DIRECTORY: &str = "directory is a version control repository";
const SUBMODULE_DIRECTORY: &str = "directory is in another module";
const NOT_REGULAR: &str = "not a regular file";

/// Directories of version control systems; fossil keeps its repository in
/// an ordinary file of any name, so it cannot be recognised.
const VCS_DIRECTORIES: [&str; 4] = [".bzr", ".git", ".hg", ".svn"];

#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// Regular files, in Go's walk order.
    pub(crate) files: Vec<PlannedFile>,
    pub(crate) omitted: Vec<OmittedFile>,
}

struct Entry {
    name: OsString,
    path: PathBuf,
    /// Slash-separated path relative to the root. A name that is not UTF-8
    /// gets U+FFFD in place of the bad bytes: `CheckFilePath` then rejects
    /// it (U+FFFD is not a letter), as Go rejects invalid UTF-8, unless the
    /// file is omitted anyway (e.g. vendored), as in Go.
    rel: String,
    file_type: FileType,
}

/// Go `listFilesInDir`.
///
/// Depth-first in lexical (byte) order of names, like `filepath.Walk`.
/// Symbolic links are never followed. Every path in a vendored package
/// (under the vendor rules of the root go.mod's `go` line, read as
/// `os.ReadFile` reads it, through a symlink) is omitted; the walk still
/// descends into vendored directories, as Go's does. Otherwise a directory
/// named `.bzr`, `.git`, `.hg` or `.svn`, or holding an entry `go.mod` that
/// is not a directory (a nested module; a symlink counts), is skipped
/// whole, and files that are not regular are omitted. Any error reading
/// the tree is an error, as in Go.
pub(crate) fn list_files_in_dir(root: &Path) -> Result<Walked, PublishError> {
    let go_version = crate::go_version(read_go_mod_through_symlink(root).as_deref());
    let vendored_reason = OmitReason::Vendored.to_string();
    let mut walked = Walked::default();
    // A stack instead of recursion: directory depth is up to the tree.
    let mut stack = vec![read_sorted(root, "")?.into_iter()];
    while let Some(entries) = stack.last_mut() {
        let Some(entry) = entries.next() else {
            stack.pop();
            continue;
        };
        let omit = |walked: &mut Walked, reason: &str| {
            walked.omitted.push(OmittedFile {
                path: entry.rel.clone(),
                reason: reason.to_owned(),
            })
        };
        if is_vendored_package(&entry.rel, go_version.as_deref()) {
            omit(&mut walked, &vendored_reason);
            if entry.file_type.is_dir() {
                stack.push(read_sorted(&entry.path, &entry.rel)?.into_iter());
            }
            continue;
        }
        if entry.file_type.is_dir() {
            if VCS_DIRECTORIES.iter().any(|vcs| entry.name == *vcs) {
                omit(&mut walked, VCS_DIRECTORY);
                continue;
            }
            // Go: os.Lstat(dir/go.mod) succeeds and is not a directory.
            if fs::symlink_metadata(entry.path.join("go.mod")).is_ok_and(|m| !m.is_dir()) {
                omit(&mut walked, SUBMODULE_DIRECTORY);
                continue;
            }
            let children = read_sorted(&entry.path, &entry.rel)?;
            stack.push(children.into_iter());
        } else if entry.file_type.is_file() {
            let size = fs::symlink_metadata(&entry.path)
                .map_err(io_error(&entry.path))?
                .len();
            walked.files.push(PlannedFile {
                name: entry.rel,
                path: entry.path,
                size,
            });
        } else {
            omit(&mut walked, NOT_REGULAR);
        }
    }
    Ok(walked)
}

/// Go `isVendoredPackage`, asked of core's `check_files` with `name` as
/// the only file: for a lone path that is clean and relative (every walked
/// path is), the vendor rule is the first that can apply, so "omitted as
/// vendored" is exactly Go's answer. (Core keeps the rule private.)
fn is_vendored_package(name: &str, go_version: Option<&str>) -> bool {
    let candidate = FileCandidate {
        name,
        kind: FileKind::Regular,
        size: 0,
    };
    let vendored = OmitReason::Vendored.to_string();
    check_files(&[candidate], go_version)
        .omitted
        .iter()
        .any(|(_, reason)| *reason == vendored)
}

/// The entries of `dir`, sorted by name bytes as Go's `readDirNames` does.
fn read_sorted(dir: &Path, rel: &str) -> Result<Vec<Entry>, PublishError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        // DirEntry::file_type does not follow symbolic links (Go: Lstat).
        let file_type = entry.file_type().map_err(io_error(&path))?;
        let name = entry.file_name();
        let lossy = name.to_string_lossy();
        let rel = if rel.is_empty() {
            lossy.into_owned()
        } else {
            format!("{rel}/{lossy}")
        };
        entries.push(Entry {
            name,
            path,
            rel,
            file_type,
        });
    }
    entries.sort_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
    Ok(entries)
}

/// Why [`open_regular`] refused a file.
pub(crate) enum OpenError {
    Io(io::Error),
    /// Not a regular file (or, with `follow_symlinks == false`, a symlink).
    NotRegular,
}

/// Opens `path` for reading only if it is a regular file, without ever
/// blocking: Go's plain `os.Open` would hang on a FIFO swapped in after
/// listing, and follow a symlink swapped in for a file.
pub(crate) fn open_regular(path: &Path, follow_symlinks: bool) -> Result<File, OpenError> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK;
        if !follow_symlinks {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(e) if !follow_symlinks && e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(OpenError::NotRegular)
        }
        Err(e) => return Err(OpenError::Io(e)),
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(file),
        Ok(_) => Err(OpenError::NotRegular),
        Err(e) => Err(OpenError::Io(e)),
    }
}

/// Reads a regular file (following symlinks) of at most `limit` bytes:
/// `Ok(None)` if it is larger. Something other than a regular file is an
/// `InvalidInput` error.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match open_regular(path, true) {
        Ok(file) => file,
        Err(OpenError::Io(e)) => return Err(e),
        Err(OpenError::NotRegular) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ))
        }
    };
    let mut data = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut data)?;
    Ok((data.len() as u64 <= limit).then_some(data))
}

/// The root go.mod as Go's `listFilesInDir` reads it (`os.ReadFile`, which
/// follows a symlink), or `None` if that fails. Unlike Go, only a regular
/// target of at most 16 MiB is read: Go would hang on a FIFO or
/// `/dev/zero`.
pub(crate) fn read_go_mod_through_symlink(root: &Path) -> Option<Vec<u8>> {
    read_bounded(&root.join("go.mod"), MAX_GO_MOD)
        .ok()
        .flatten()
}
