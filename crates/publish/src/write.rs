//! Writing the planned files into a zip (Go `Create`'s second half).

use std::io::{Read, Seek, Write};

use modvault_core::dirhash::{hash_go_mod, Hash1Builder};
use modvault_core::ModuleVersion;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::walk::{open_regular, OpenError};
use crate::{io_error, Plan, PlannedFile, PublishError, ZipSummary};

const COPY_BUFFER: usize = 64 * 1024;

pub(crate) fn write_zip(
    module: &ModuleVersion,
    plan: &Plan,
    out: impl Write + Seek,
) -> Result<ZipSummary, PublishError> {
    let prefix = format!("{}@{}/", module.path, module.version);
    // Go's zip.Writer.Create: deflate, no timestamp. A fixed timestamp
    // (1980-01-01, the zip epoch) keeps our bytes reproducible too.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    let mut zip = ZipWriter::new(out);
    let mut hash = Hash1Builder::new();
    let mut buffer = vec![0u8; COPY_BUFFER];
    for file in &plan.files {
        let entry = format!("{prefix}{}", file.name);
        zip.start_file(entry.as_str(), options)?;
        let digest = match (&plan.root_go_mod, file.name.as_str()) {
            // go.mod was read once while planning; writing those very bytes
            // keeps the zip, the `go` version used for the plan and the
            // returned `.mod` consistent.
            (Some(go_mod), "go.mod") => {
                if go_mod.len() as u64 != file.size {
                    return Err(PublishError::FileChanged(file.path.clone()));
                }
                zip.write_all(go_mod).map_err(zip::result::ZipError::Io)?;
                Sha256::digest(go_mod).into()
            }
            _ => copy_file(file, &mut zip, &mut buffer)?,
        };
        hash.add(&entry, digest)?;
    }
    zip.finish()?.flush().map_err(zip::result::ZipError::Io)?;

    let go_mod = match &plan.root_go_mod {
        Some(go_mod) => go_mod.clone(),
        // What the go command serves as the .mod of a module without one
        // (modfetch's coderepo; a valid module path never needs quoting).
        None => format!("module {}\n", module.path).into_bytes(),
    };
    Ok(ZipSummary {
        zip_hash: hash.finish(),
        go_mod_hash: hash_go_mod(&go_mod),
        go_mod,
        files: plan.files.len(),
    })
}

/// Streams one file into the current zip entry; returns its SHA-256.
/// Like Go's `addFile`, reads at most one byte more than the listed size.
fn copy_file(
    file: &PlannedFile,
    zip: &mut impl Write,
    buffer: &mut [u8],
) -> Result<[u8; 32], PublishError> {
    let source = match open_regular(&file.path, false) {
        Ok(source) => source,
        Err(OpenError::NotRegular) => return Err(PublishError::FileChanged(file.path.clone())),
        Err(OpenError::Io(e)) => return Err(io_error(&file.path)(e)),
    };
    let mut source = source.take(file.size.saturating_add(1));
    let mut hasher = Sha256::new();
    let mut copied: u64 = 0;
    loop {
        let n = match source.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(&file.path)(e)),
        };
        hasher.update(&buffer[..n]);
        zip.write_all(&buffer[..n])
            .map_err(zip::result::ZipError::Io)?;
        copied += n as u64;
    }
    if copied != file.size {
        return Err(PublishError::FileChanged(file.path.clone()));
    }
    Ok(hasher.finalize().into())
}
