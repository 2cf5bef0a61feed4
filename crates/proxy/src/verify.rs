//! Checks a complete zip file against the module zip rules before it may be
//! stored: what the go command checks on download, plus the decompressed
//! size and CRC of every entry, so a zip bomb or a corrupt zip never lands.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use modvault_core::dirhash::Hash1Builder;
use modvault_core::modzip::{check_zip_entries, ZipEntry, MAX_ZIP_FILE};
use modvault_core::ModuleVersion;
use sha2::{Digest, Sha256};
use zip::read::Config;
// The one reader that keeps entries sharing a name: `ZipArchive` indexes
// entries by name, so a zip with two entries for one file would look like
// a zip with one, get an `h1:` the go command never computes, and fail in
// the client with "multiple entries for file". Unstable API: the zip
// version is pinned exactly in the workspace.
use zip::unstable::read::ZipIterable;
use zip::{CompressionMethod, ZipReadOptions};

/// Returns the zip's `h1:` hash (as go.sum records it), or a one-line reason
/// why the zip must not be stored.
pub fn verify_zip_file(path: &Path, target: &ModuleVersion) -> Result<String, String> {
    let file = File::open(path).map_err(|e| format!("cannot reopen spooled zip: {e}"))?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size > MAX_ZIP_FILE {
        return Err(format!(
            "zip file is {size} bytes, more than the {MAX_ZIP_FILE}-byte limit"
        ));
    }
    let body = file
        .try_clone()
        .map_err(|e| format!("cannot reopen spooled zip: {e}"))?;
    let mut archive = ZipIterable::try_new(file, Config::default())
        .map_err(|e| format!("not a valid zip file: {e}"))?;
    let mut names = Vec::with_capacity(archive.len().min(1 << 16));
    for (i, entry) in archive
        .files()
        .map_err(|e| format!("not a valid zip file: {e}"))?
        .enumerate()
    {
        let entry = entry.map_err(|e| format!("zip entry {i}: {e}"))?;
        // The go command can only extract stored and deflated entries.
        if !matches!(
            entry.compression(),
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            let name = String::from_utf8_lossy(entry.name_raw());
            return Err(format!(
                "{name}: unsupported compression method {:?}",
                entry.compression()
            ));
        }
        if entry.encrypted() {
            return Err(format!(
                "{}: encrypted entries are not allowed",
                String::from_utf8_lossy(entry.name_raw())
            ));
        }
        let name = std::str::from_utf8(entry.name_raw())
            .map_err(|_| format!("zip entry {i}: name is not UTF-8"))?;
        names.push((name.to_owned(), entry.size()));
    }
    let entries: Vec<ZipEntry> = names
        .iter()
        .map(|(name, size)| ZipEntry {
            name,
            uncompressed_size: *size,
        })
        .collect();
    check_zip_entries(target, &entries).map_err(|e| e.to_string())?;

    let mut hash = Hash1Builder::new();
    let mut entries = archive
        .files_with_reader(body, ZipReadOptions::new())
        .map_err(|e| format!("not a valid zip file: {e}"))?;
    let mut i = 0;
    while let Some(entry) = entries.next() {
        let mut entry = entry.map_err(|e| format!("zip entry {i}: {e}"))?;
        i += 1;
        let declared = entry.size();
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        // Reading one byte past the declared size catches an entry that
        // inflates to more than it claims; reading to the end checks the CRC.
        let mut digest = HashingSink(Sha256::new());
        let actual = io::copy(&mut (&mut entry).take(declared + 1), &mut digest)
            .map_err(|e| format!("{name}: corrupt entry: {e}"))?;
        if actual > declared {
            return Err(format!(
                "{name}: decompresses to more than its declared {declared} bytes"
            ));
        }
        // Go's reader ends such an entry with "unexpected EOF" (found by
        // fuzzing: the central directory may declare more than the data holds).
        if actual < declared {
            return Err(format!(
                "{name}: decompresses to {actual} bytes, less than its declared {declared}"
            ));
        }
        // Directory entries hash as empty files, as in dirhash.HashZip.
        hash.add(&name, digest.0.finalize().into())
            .map_err(|e| e.to_string())?;
    }
    if i != names.len() {
        return Err(format!(
            "zip has {} entries on the first reading and {i} on the second",
            names.len()
        ));
    }
    Ok(hash.finish())
}

struct HashingSink(Sha256);

impl io::Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
