//! The embedded [`crate::ChecksumLog`]: modvault's own transparent log,
//! kept durably on local disk.
//!
//! Three files in one directory:
//! - `records`: every record, as a 4-byte big-endian length and the text;
//! - `hashes`: the stored hashes of the tree (`tlog.StoredHashIndex`
//!   order), 32 bytes each;
//! - `size`: the number of committed records, replaced atomically.
//!
//! An append writes and fsyncs `records` and `hashes` first and only then
//! commits the new size, so a crash (kill -9) at any point leaves either
//! the old tree or the new one: bytes past the committed size are
//! truncated at the next open. Nothing committed is ever rewritten, so
//! every tile is byte-identical after a restart.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use modvault_sumdb::tlog::{self, stored_hash_count, stored_hashes, tree_hash, Hash, HashReader};

const HASH_SIZE: u64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("checksum log I/O error in {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("checksum log in {0} is corrupt: {1}")]
    Corrupt(PathBuf, String),
    #[error("checksum log: {0}")]
    Tlog(#[from] tlog::Error),
}

pub struct TransparentLog {
    dir: PathBuf,
    records: File,
    hashes: File,
    /// Offsets of each record's length prefix, plus the end of the last.
    offsets: Vec<u64>,
    /// Record id by its first line (`<path> <version> h1:…`): path and version.
    index: HashMap<String, i64>,
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

impl TransparentLog {
    /// Opens (or creates) the log, dropping any uncommitted tail left by a
    /// crash mid-append.
    pub fn open(dir: &Path) -> Result<TransparentLog, LogError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let records_path = dir.join("records");
        let hashes_path = dir.join("hashes");
        let size_path = dir.join("size");
        let committed: i64 = match fs::read_to_string(&size_path) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| LogError::Corrupt(dir.to_owned(), "unreadable size file".into()))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_at(&size_path)(e)),
        };
        let open = |path: &Path| {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)
                .map_err(io_at(path))
        };
        let records = open(&records_path)?;
        let hashes = open(&hashes_path)?;

        let mut data = Vec::new();
        (&records)
            .read_to_end(&mut data)
            .map_err(io_at(&records_path))?;
        let mut offsets = vec![0u64];
        let mut index = HashMap::new();
        let mut at = 0usize;
        for id in 0..committed {
            let len_bytes: [u8; 4] = data
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    LogError::Corrupt(dir.to_owned(), format!("record {id} is missing"))
                })?;
            let end = at + 4 + u32::from_be_bytes(len_bytes) as usize;
            let text = data.get(at + 4..end).ok_or_else(|| {
                LogError::Corrupt(dir.to_owned(), format!("record {id} is cut short"))
            })?;
            index.insert(record_key(text), id);
            at = end;
            offsets.push(at as u64);
        }
        // Anything past the committed records is an append that never
        // committed; so are hashes past the committed tree.
        records.set_len(at as u64).map_err(io_at(&records_path))?;
        let want_hashes = stored_hash_count(committed) as u64 * HASH_SIZE;
        let have_hashes = hashes.metadata().map_err(io_at(&hashes_path))?.len();
        if have_hashes < want_hashes {
            return Err(LogError::Corrupt(
                dir.to_owned(),
                "hashes file is shorter than the committed tree".into(),
            ));
        }
        hashes.set_len(want_hashes).map_err(io_at(&hashes_path))?;
        Ok(TransparentLog {
            dir: dir.to_owned(),
            records,
            hashes,
            offsets,
            index,
        })
    }

    /// Number of records in the tree.
    pub fn size(&self) -> i64 {
        self.offsets.len() as i64 - 1
    }

    pub fn lookup(&self, path: &str, version: &str) -> Option<i64> {
        self.index.get(&format!("{path} {version}")).copied()
    }

    /// Appends a record (go.sum lines of one module version) and returns its
    /// id; a version already in the log keeps its first record.
    pub fn append(&mut self, path: &str, version: &str, text: &str) -> Result<i64, LogError> {
        if let Some(id) = self.lookup(path, version) {
            return Ok(id);
        }
        let id = self.size();
        let new_hashes = stored_hashes(id, text.as_bytes(), &*self)?;
        let records_path = self.dir.join("records");
        let hashes_path = self.dir.join("hashes");
        let mut record = Vec::with_capacity(4 + text.len());
        record.extend_from_slice(&(text.len() as u32).to_be_bytes());
        record.extend_from_slice(text.as_bytes());
        (&self.records)
            .write_all(&record)
            .map_err(io_at(&records_path))?;
        let hash_bytes: Vec<u8> = new_hashes.iter().flat_map(|h| h.0).collect();
        (&self.hashes)
            .write_all(&hash_bytes)
            .map_err(io_at(&hashes_path))?;
        self.records.sync_data().map_err(io_at(&records_path))?;
        self.hashes.sync_data().map_err(io_at(&hashes_path))?;
        self.commit_size(id + 1)?;
        let end = self.offsets.last().copied().unwrap_or(0) + record.len() as u64;
        self.offsets.push(end);
        self.index.insert(format!("{path} {version}"), id);
        Ok(id)
    }

    fn commit_size(&self, n: i64) -> Result<(), LogError> {
        let tmp = self.dir.join("size.tmp");
        let size = self.dir.join("size");
        let mut file = File::create(&tmp).map_err(io_at(&tmp))?;
        file.write_all(n.to_string().as_bytes())
            .map_err(io_at(&tmp))?;
        file.sync_all().map_err(io_at(&tmp))?;
        fs::rename(&tmp, &size).map_err(io_at(&size))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(&self.dir))
    }

    pub fn record(&self, id: i64) -> Result<Vec<u8>, LogError> {
        let (start, end) = match (
            self.offsets.get(id as usize),
            self.offsets.get(id as usize + 1),
        ) {
            (Some(start), Some(end)) if id >= 0 => (*start, *end),
            _ => {
                return Err(LogError::Corrupt(
                    self.dir.clone(),
                    format!("no record {id}"),
                ))
            }
        };
        let mut buf = vec![0; (end - start) as usize];
        self.records
            .read_exact_at(&mut buf, start)
            .map_err(io_at(&self.dir.join("records")))?;
        Ok(buf.split_off(4))
    }

    pub fn tree_hash(&self) -> Result<Hash, LogError> {
        Ok(tree_hash(self.size(), self)?)
    }
}

/// `<path> <version>` from a record's first line.
fn record_key(text: &[u8]) -> String {
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut fields = line.split(' ');
    format!(
        "{} {}",
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default()
    )
}

impl HashReader for TransparentLog {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|&i| {
                let mut hash = [0u8; 32];
                if i < 0 {
                    return Err(tlog::Error::InvalidIndex(i));
                }
                self.hashes
                    .read_exact_at(&mut hash, i as u64 * HASH_SIZE)
                    .map_err(|_| tlog::Error::HashNotStored(i))?;
                Ok(Hash(hash))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modvault_sumdb::tlog::{check_record, prove_record, read_tile_data, record_hash, Tile};

    fn text(i: i64) -> String {
        format!("example.com/m{i} v1.0.0 h1:zip{i}=\nexample.com/m{i} v1.0.0/go.mod h1:mod{i}=\n")
    }

    #[test]
    fn appends_survive_reopen_and_prove() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TransparentLog::open(dir.path()).unwrap();
        for i in 0..300 {
            assert_eq!(
                log.append(&format!("example.com/m{i}"), "v1.0.0", &text(i))
                    .unwrap(),
                i
            );
        }
        assert_eq!(
            log.append("example.com/m5", "v1.0.0", "ignored").unwrap(),
            5,
            "append is idempotent per version"
        );
        let hash = log.tree_hash().unwrap();
        let tile = Tile {
            h: 8,
            l: 0,
            n: 1,
            w: 44,
        };
        let before = read_tile_data(&tile, &log).unwrap();
        drop(log);

        let log = TransparentLog::open(dir.path()).unwrap();
        assert_eq!(log.size(), 300);
        assert_eq!(log.tree_hash().unwrap(), hash);
        assert_eq!(read_tile_data(&tile, &log).unwrap(), before);
        assert_eq!(log.lookup("example.com/m42", "v1.0.0"), Some(42));
        assert_eq!(log.record(42).unwrap(), text(42).as_bytes());
        let proof = prove_record(300, 42, &log).unwrap();
        check_record(&proof, 300, hash, 42, record_hash(text(42).as_bytes())).unwrap();
    }

    #[test]
    fn an_uncommitted_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TransparentLog::open(dir.path()).unwrap();
        for i in 0..10 {
            log.append(&format!("example.com/m{i}"), "v1.0.0", &text(i))
                .unwrap();
        }
        let hash = log.tree_hash().unwrap();
        drop(log);
        // A crash after writing a record and some hashes, before the size
        // was committed.
        let mut records = OpenOptions::new()
            .append(true)
            .open(dir.path().join("records"))
            .unwrap();
        records.write_all(&[0, 0, 0, 200, b'x']).unwrap();
        let mut hashes = OpenOptions::new()
            .append(true)
            .open(dir.path().join("hashes"))
            .unwrap();
        hashes.write_all(&[7; 40]).unwrap();

        let mut log = TransparentLog::open(dir.path()).unwrap();
        assert_eq!(log.size(), 10);
        assert_eq!(log.tree_hash().unwrap(), hash);
        assert_eq!(
            log.append("example.com/m10", "v1.0.0", &text(10)).unwrap(),
            10
        );
        drop(log);
        assert_eq!(TransparentLog::open(dir.path()).unwrap().size(), 11);
    }
}
