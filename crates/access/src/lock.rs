//! An exclusive advisory lock on a sidecar file, so that two processes
//! changing the token file (two CLI commands, or the CLI and an admin API)
//! cannot lose each other's change. Readers never lock: they only ever see
//! a complete file, because writers rename a finished file into place.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Held while the lock is; dropping it closes the file, which releases it.
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock on `path` (created if missing) is ours.
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        lock_exclusive(&file)?;
        Ok(FileLock { _file: file })
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open
        // for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// No advisory locking on this platform: concurrent writers may race.
#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> io::Result<()> {
    Ok(())
}
