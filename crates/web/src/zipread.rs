//! The parts of a stored module zip the pages show, read with ranged gets:
//! the central directory from the end of the object, then single entries.
//! A zip is never read into memory whole; every read has a bound.

use std::io::Write;

use futures::StreamExt;
use sha2::{Digest, Sha256};

use modvault_store::Store;

/// Largest central directory read (a module zip has at most a few
/// thousand entries; Go limits the zip itself, not the count).
const MAX_DIRECTORY: u64 = 16 << 20;
/// End-of-central-directory record plus the largest comment.
const MAX_TAIL: u64 = 22 + 0xFFFF;

#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    compressed: u64,
    method: u16,
    header_offset: u64,
}

#[derive(Debug)]
pub struct ZipReadError(pub String);

impl From<modvault_store::StoreError> for ZipReadError {
    fn from(e: modvault_store::StoreError) -> Self {
        ZipReadError(modvault_error::chain(&e).to_string())
    }
}

type Result<T> = std::result::Result<T, ZipReadError>;

fn bad(what: &str) -> ZipReadError {
    ZipReadError(format!("stored zip is malformed: {what}"))
}

async fn range(store: &dyn Store, key: &str, start: u64, end: u64) -> Result<Vec<u8>> {
    let Some(mut object) = store.get(key, Some(start..end)).await? else {
        return Err(ZipReadError(format!("{key}: gone from the store")));
    };
    let mut out = Vec::with_capacity((end - start).min(1 << 20) as usize);
    while let Some(chunk) = object.body.next().await {
        let chunk = chunk.map_err(|e| ZipReadError(format!("{key}: {e}")))?;
        out.extend_from_slice(&chunk);
        if out.len() as u64 > end - start {
            return Err(bad("store answered more than the range"));
        }
    }
    Ok(out)
}

fn u16_at(b: &[u8], i: usize) -> Result<u16> {
    b.get(i..i + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("short record"))
}

fn u32_at(b: &[u8], i: usize) -> Result<u32> {
    b.get(i..i + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("short record"))
}

fn u64_at(b: &[u8], i: usize) -> Result<u64> {
    b.get(i..i + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
        .ok_or_else(|| bad("short record"))
}

/// Every entry of the zip at `key`, in directory order; `None` when the
/// zip is not stored.
pub async fn directory(store: &dyn Store, key: &str) -> Result<Option<Vec<Entry>>> {
    let Some(meta) = store.head(key).await? else {
        return Ok(None);
    };
    let size = meta.size;
    let tail_start = size.saturating_sub(MAX_TAIL);
    let tail = range(store, key, tail_start, size).await?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or_else(|| bad("no end of central directory"))?;
    let mut count = u64::from(u16_at(&tail, eocd + 10)?);
    let mut dir_size = u64::from(u32_at(&tail, eocd + 12)?);
    let mut dir_offset = u64::from(u32_at(&tail, eocd + 16)?);
    if count == 0xFFFF || dir_size == 0xFFFF_FFFF || dir_offset == 0xFFFF_FFFF {
        // Zip64: the locator sits just before the classic record.
        let locator = eocd
            .checked_sub(20)
            .filter(|&i| tail[i..].starts_with(&[0x50, 0x4b, 0x06, 0x07]))
            .ok_or_else(|| bad("no zip64 locator"))?;
        let record_at = u64_at(&tail, locator + 8)?;
        let record = range(store, key, record_at, (record_at + 56).min(size)).await?;
        if !record.starts_with(&[0x50, 0x4b, 0x06, 0x06]) {
            return Err(bad("no zip64 end record"));
        }
        count = u64_at(&record, 32)?;
        dir_size = u64_at(&record, 40)?;
        dir_offset = u64_at(&record, 48)?;
    }
    if dir_size > MAX_DIRECTORY || dir_offset.saturating_add(dir_size) > size {
        return Err(bad("central directory out of bounds"));
    }
    let dir = range(store, key, dir_offset, dir_offset + dir_size).await?;
    let mut entries = Vec::new();
    let mut at = 0usize;
    for _ in 0..count {
        if u32_at(&dir, at)? != 0x0201_4b50 {
            return Err(bad("central directory entry signature"));
        }
        let method = u16_at(&dir, at + 10)?;
        let mut compressed = u64::from(u32_at(&dir, at + 20)?);
        let mut size = u64::from(u32_at(&dir, at + 24)?);
        let name_len = usize::from(u16_at(&dir, at + 28)?);
        let extra_len = usize::from(u16_at(&dir, at + 30)?);
        let comment_len = usize::from(u16_at(&dir, at + 32)?);
        let mut header_offset = u64::from(u32_at(&dir, at + 42)?);
        let name = dir
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("short name"))?;
        let extra = dir
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(|| bad("short extra field"))?;
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e)?;
            let len = usize::from(u16_at(extra, e + 2)?);
            if id == 1 {
                let mut f = e + 4;
                for field in [&mut size, &mut compressed, &mut header_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(extra, f)?;
                        f += 8;
                    }
                }
            }
            e += 4 + len;
        }
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            size,
            compressed,
            method,
            header_offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(Some(entries))
}

/// Feeds the decompressed bytes of `entry` to `sink`, stopping after
/// `limit` bytes; returns how many bytes the entry had in all (up to the
/// limit).
async fn inflate(
    store: &dyn Store,
    key: &str,
    entry: &Entry,
    limit: u64,
    sink: &mut (dyn Write + Send),
) -> Result<u64> {
    let header = range(store, key, entry.header_offset, entry.header_offset + 30).await?;
    if u32_at(&header, 0)? != 0x0403_4b50 {
        return Err(bad("local header signature"));
    }
    let start = entry.header_offset
        + 30
        + u64::from(u16_at(&header, 26)?)
        + u64::from(u16_at(&header, 28)?);
    let Some(mut object) = store
        .get(key, Some(start..start + entry.compressed))
        .await?
    else {
        return Err(ZipReadError(format!("{key}: gone from the store")));
    };
    let mut limited = Limited {
        inner: sink,
        left: limit,
        written: 0,
    };
    match entry.method {
        0 => {
            while let Some(chunk) = object.body.next().await {
                let chunk = chunk.map_err(|e| ZipReadError(format!("{key}: {e}")))?;
                if limited.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
        8 => {
            let mut decoder = flate2::write::DeflateDecoder::new(&mut limited);
            while let Some(chunk) = object.body.next().await {
                let chunk = chunk.map_err(|e| ZipReadError(format!("{key}: {e}")))?;
                if let Err(e) = decoder.write_all(&chunk) {
                    if e.kind() == std::io::ErrorKind::WriteZero {
                        break;
                    }
                    return Err(bad(&format!("deflate: {e}")));
                }
            }
            match decoder.finish() {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WriteZero => {}
                Err(e) => return Err(bad(&format!("deflate: {e}"))),
            }
        }
        other => return Err(bad(&format!("compression method {other}"))),
    }
    Ok(limited.written)
}

struct Limited<'a> {
    inner: &'a mut (dyn Write + Send),
    left: u64,
    written: u64,
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.inner.write_all(&buf[..n])?;
        self.left -= n as u64;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The first `limit` bytes of an entry, and whether that is all of it.
pub async fn read(
    store: &dyn Store,
    key: &str,
    entry: &Entry,
    limit: u64,
) -> Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    inflate(store, key, entry, limit, &mut out).await?;
    let whole = entry.size <= limit;
    Ok((out, whole))
}

struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The go command's `h1:` hash of the zip: every file's SHA-256, one entry
/// at a time.
pub async fn hash1(store: &dyn Store, key: &str, entries: &[Entry]) -> Result<String> {
    let mut builder = modvault_core::dirhash::Hash1Builder::new();
    for entry in entries {
        let mut sink = HashSink(Sha256::new());
        let n = inflate(store, key, entry, entry.size, &mut sink).await?;
        if n != entry.size {
            return Err(bad("entry shorter than its recorded size"));
        }
        builder
            .add(&entry.name, sink.0.finalize().into())
            .map_err(|e| bad(&e.to_string()))?;
    }
    Ok(builder.finish())
}
