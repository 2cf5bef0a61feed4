//! From `git archive` output to a module zip: the second half of Go's
//! `codeRepo.Zip` and `modzip.Create`.
//!
//! git has already applied the commit's `.gitattributes` (`eol=crlf`,
//! `ident`, filters) exactly as it does for the go command. What is left
//! is Go's translation: strip the archive's top directory and the module
//! subdirectory, drop directory entries, add the repository's root
//! `LICENSE` (raw blob) to subdirectory modules that lack one, and let
//! [`plan_files`] decide what is written, omitted, or makes the version
//! invalid. Entries are copied without recompressing; the `h1:` hash only
//! sees names and contents.
//!
//! Everything here is blocking file I/O on temporary files: run it on a
//! blocking thread.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use modvault_core::gomod::parse_lax;
use modvault_core::modzip::{plan_files, FileCandidate, FileKind, MAX_GO_MOD};
use modvault_core::ModuleVersion;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{RepoError, RepoResult};

/// One file of the archive, named relative to the module root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArchiveFile {
    /// Position in the archive's central directory.
    index: usize,
    pub(crate) name: String,
    pub(crate) kind: FileKind,
    pub(crate) size: u64,
}

/// The files of an archive that belong to the module, in archive order.
#[derive(Debug, Default)]
pub(crate) struct ArchiveListing {
    pub(crate) files: Vec<ArchiveFile>,
    /// An entry named exactly `LICENSE` is there (whatever its kind: Go
    /// checks the name before the file type, so a symlinked `LICENSE`
    /// counts, and is then omitted).
    pub(crate) has_license: bool,
}

/// Reads the central directory of a `git archive --prefix=prefix/` zip and
/// keeps the files under `subdir` (Go's loop over `zr.File` in `Zip`).
pub(crate) fn list_archive(archive: &File, subdir: &str) -> RepoResult<ArchiveListing> {
    let mut zip = open_archive(archive)?;
    let subdir = subdir.trim_matches('/');
    let subdir_prefix = if subdir.is_empty() {
        String::new()
    } else {
        format!("{subdir}/")
    };
    let mut top_prefix: Option<String> = None;
    let mut listing = ArchiveListing::default();
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(archive_error)?;
        // Names that are not UTF-8 become U+FFFD, which no file-name rule
        // accepts, so such files still make the version invalid.
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let top = match &top_prefix {
            Some(top) => top.clone(),
            None => {
                let Some(slash) = name.find('/') else {
                    return Err(RepoError::Failed(
                        "git archive: missing top-level directory prefix".into(),
                    ));
                };
                let top = name[..=slash].to_owned();
                top_prefix = Some(top.clone());
                top
            }
        };
        let Some(in_top) = name.strip_prefix(&top) else {
            return Err(RepoError::Failed(
                "git archive: zip file contains more than one top-level directory".into(),
            ));
        };
        let Some(relative) = in_top.strip_prefix(&subdir_prefix) else {
            continue;
        };
        if relative.is_empty() || relative.ends_with('/') {
            continue;
        }
        if relative == "LICENSE" {
            listing.has_license = true;
        }
        let kind = go_file_kind(entry.system() as u8, entry.external_attributes());
        listing.files.push(ArchiveFile {
            index,
            name: relative.to_owned(),
            kind,
            size: entry.size(),
        });
    }
    Ok(listing)
}

/// What `modzip.Create` writes for `module`: the listed archive files plus,
/// if given, the root `LICENSE` blob, filtered by [`plan_files`]. Returns
/// the zip's size. A version whose files the go command rejects is
/// [`RepoError::NotFound`].
pub(crate) fn write_module_zip(
    archive: &File,
    listing: &ArchiveListing,
    extra_license: Option<&[u8]>,
    module: &ModuleVersion,
    out: &mut File,
) -> RepoResult<u64> {
    let mut zip = open_archive(archive)?;

    // Go's checkFiles reads the go version from the root go.mod *as it is
    // in the zip* (after eol conversion), taking the last regular one.
    let mut go_version: Option<String> = None;
    if let Some(go_mod) = listing
        .files
        .iter()
        .rev()
        .find(|f| f.name == "go.mod" && f.kind == FileKind::Regular)
    {
        let mut data = Vec::new();
        let entry = zip.by_index(go_mod.index).map_err(archive_error)?;
        entry
            .take(MAX_GO_MOD + 1)
            .read_to_end(&mut data)
            .map_err(|e| archive_error(e.into()))?;
        go_version = parse_lax(&data).go_version_for_zip().map(str::to_owned);
    }

    let mut candidates: Vec<FileCandidate> = listing
        .files
        .iter()
        .map(|f| FileCandidate {
            name: &f.name,
            kind: f.kind,
            size: f.size,
        })
        .collect();
    if let Some(license) = extra_license {
        candidates.push(FileCandidate {
            name: "LICENSE",
            kind: FileKind::Regular,
            size: license.len() as u64,
        });
    }
    let plan = plan_files(module, &candidates, go_version.as_deref())
        .map_err(|e| RepoError::NotFound(format!("{module}: create zip: {e}")))?;

    let prefix = format!("{}@{}/", module.path, module.version);
    let mut writer = ZipWriter::new(&mut *out);
    for &i in &plan.included {
        match listing.files.get(i) {
            Some(file) => {
                let entry = zip.by_index_raw(file.index).map_err(archive_error)?;
                writer
                    .raw_copy_file_rename(entry, format!("{prefix}{}", file.name))
                    .map_err(write_error)?;
            }
            None => {
                // The only candidate past the archive's files is LICENSE.
                let license = extra_license.unwrap_or_default();
                let options =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
                writer
                    .start_file(format!("{prefix}LICENSE"), options)
                    .map_err(write_error)?;
                writer
                    .write_all(license)
                    .map_err(|e| write_error(e.into()))?;
            }
        }
    }
    writer.finish().map_err(write_error)?;
    let len = out
        .seek(SeekFrom::End(0))
        .map_err(|e| write_error(e.into()))?;
    out.seek(SeekFrom::Start(0))
        .map_err(|e| write_error(e.into()))?;
    Ok(len)
}

fn open_archive(archive: &File) -> RepoResult<ZipArchive<&File>> {
    let mut reader = archive;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| archive_error(e.into()))?;
    ZipArchive::new(reader).map_err(archive_error)
}

fn archive_error(e: zip::result::ZipError) -> RepoError {
    RepoError::Failed(format!("reading git archive: {e}"))
}

fn write_error(e: zip::result::ZipError) -> RepoError {
    RepoError::Failed(format!("writing module zip: {e}"))
}

/// The file type Go's `archive/zip` reports for an entry
/// (`FileHeader.Mode`): Unix modes for Unix and macOS creators, the MS-DOS
/// directory bit for FAT/NTFS/VFAT, a regular file otherwise. git writes
/// symlinks and executables as Unix entries and plain files as MS-DOS ones.
fn go_file_kind(creator: u8, external_attributes: u32) -> FileKind {
    const CREATOR_FAT: u8 = 0;
    const CREATOR_UNIX: u8 = 3;
    const CREATOR_NTFS: u8 = 11;
    const CREATOR_VFAT: u8 = 14;
    const CREATOR_MACOSX: u8 = 19;
    match creator {
        CREATOR_UNIX | CREATOR_MACOSX => match (external_attributes >> 16) & 0o170000 {
            0o100000 | 0 => FileKind::Regular,
            0o120000 => FileKind::Symlink,
            0o040000 => FileKind::Directory,
            _ => FileKind::Other,
        },
        CREATOR_FAT | CREATOR_NTFS | CREATOR_VFAT if external_attributes & 0x10 != 0 => {
            FileKind::Directory
        }
        _ => FileKind::Regular,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_follow_go() {
        assert_eq!(go_file_kind(0, 0), FileKind::Regular);
        assert_eq!(go_file_kind(0, 0x10), FileKind::Directory);
        assert_eq!(go_file_kind(3, 0o100755 << 16), FileKind::Regular);
        assert_eq!(go_file_kind(3, 0o120777 << 16), FileKind::Symlink);
        assert_eq!(go_file_kind(3, 0o010644 << 16), FileKind::Other);
        assert_eq!(go_file_kind(3, 0), FileKind::Regular);
        assert_eq!(go_file_kind(7, 0x10), FileKind::Regular);
    }

    fn archive(entries: &[(&str, &[u8])]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        {
            let mut zip = ZipWriter::new(&mut file);
            for (name, data) in entries {
                if name.ends_with('/') {
                    zip.add_directory(*name, SimpleFileOptions::default())
                        .unwrap();
                } else {
                    zip.start_file(*name, SimpleFileOptions::default()).unwrap();
                    zip.write_all(data).unwrap();
                }
            }
            zip.finish().unwrap();
        }
        file
    }

    fn names(zip: &mut File) -> Vec<String> {
        let mut archive = ZipArchive::new(&*zip).unwrap();
        (0..archive.len())
            .map(|i| {
                String::from_utf8_lossy(archive.by_index_raw(i).unwrap().name_raw()).into_owned()
            })
            .collect()
    }

    #[test]
    fn subdirectory_modules_get_the_root_license() {
        let git = archive(&[
            ("prefix/", b""),
            ("prefix/LICENSE", b"root license\n"),
            ("prefix/sub/", b""),
            ("prefix/sub/go.mod", b"module example.com/r/sub\n"),
            ("prefix/sub/x.go", b"package x\n"),
            ("prefix/subway/y.go", b"package y\n"),
        ]);
        let listing = list_archive(&git, "sub").unwrap();
        assert!(!listing.has_license);
        let names_in: Vec<_> = listing.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names_in, ["go.mod", "x.go"]);
        let mut out = tempfile::tempfile().unwrap();
        let module = ModuleVersion::new("example.com/r/sub", "v1.0.0");
        write_module_zip(&git, &listing, Some(b"root license\n"), &module, &mut out).unwrap();
        assert_eq!(
            names(&mut out),
            [
                "example.com/r/sub@v1.0.0/go.mod",
                "example.com/r/sub@v1.0.0/x.go",
                "example.com/r/sub@v1.0.0/LICENSE"
            ]
        );
    }

    #[test]
    fn invalid_files_make_the_version_unavailable() {
        let git = archive(&[("prefix/", b""), ("prefix/aux.go", b"package x\n")]);
        let listing = list_archive(&git, "").unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let err = write_module_zip(
            &git,
            &listing,
            None,
            &ModuleVersion::new("example.com/r", "v1.0.0"),
            &mut out,
        )
        .unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }

    #[test]
    fn archives_need_one_top_directory() {
        let git = archive(&[("a/x", b""), ("b/y", b"")]);
        assert!(list_archive(&git, "").is_err());
        let git = archive(&[("x", b"")]);
        assert!(list_archive(&git, "").is_err());
    }
}
