//! Tree notes and lookup records (Go's `sumdb/tlog/note.go`).

use super::{Error, Hash};

/// The first line of a tree description. A backwards-incompatible future
/// format would change it (e.g. to "go.sum database tree v2").
const TREE_PREFIX: &[u8] = b"go.sum database tree\n";

/// Go's `ParseTree` refuses texts longer than this (1e6 bytes).
const MAX_TREE_TEXT: usize = 1_000_000;

/// A tree head: the log's size and root hash, as signed by the database
/// (Go's `tlog.Tree`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tree {
    /// Number of records in the tree.
    pub n: i64,
    /// The tree hash ([`super::tree_hash`]).
    pub hash: Hash,
}

/// Formats a tree description for signing: `go.sum database tree\n`, the
/// size in decimal and the base64 hash, each line ending in a newline
/// (Go's `FormatTree`).
pub fn format_tree(tree: &Tree) -> String {
    format!("go.sum database tree\n{}\n{}\n", tree.n, tree.hash)
}

/// Parses a tree description, normally the text of a verified note
/// (Go's `ParseTree`). Lines after the third are ignored, for forward
/// compatibility.
///
/// The size must be canonical decimal (no sign, no leading zeros). The
/// hash is decoded the way Go's `base64.StdEncoding` does, so a `\r`
/// before the third newline is ignored; notes cannot contain one anyway.
pub fn parse_tree(text: &[u8]) -> Result<Tree, Error> {
    let newlines = text.iter().filter(|&&b| b == b'\n').count();
    if !text.starts_with(TREE_PREFIX) || newlines < 3 || text.len() > MAX_TREE_TEXT {
        return Err(Error::MalformedTree);
    }
    let mut lines = text.split(|&b| b == b'\n').skip(1);
    let (Some(n_line), Some(hash_line)) = (lines.next(), lines.next()) else {
        return Err(Error::MalformedTree);
    };

    let n_line = std::str::from_utf8(n_line).map_err(|_| Error::MalformedTree)?;
    let n: i64 = n_line.parse().map_err(|_| Error::MalformedTree)?;
    if n < 0 || n.to_string() != n_line {
        return Err(Error::MalformedTree);
    }
    let hash_line = std::str::from_utf8(hash_line).map_err(|_| Error::MalformedTree)?;
    let hash = Hash::parse(hash_line).map_err(|_| Error::MalformedTree)?;
    Ok(Tree { n, hash })
}

/// Reports whether `text` may be a record: UTF-8 without control
/// characters other than newline, ending in a newline, and without blank
/// lines, so that a blank line can end it in a lookup answer (Go's
/// `isValidRecordText`). Quirk kept from Go: a text starting with a
/// newline, even "\n" alone, is valid.
pub fn is_valid_record_text(text: &[u8]) -> bool {
    // Bytes of multi-byte UTF-8 sequences are all ≥ 0x80, so byte checks
    // see the same control characters and newlines as Go's rune loop.
    std::str::from_utf8(text).is_ok()
        && text.ends_with(b"\n")
        && !text.iter().any(|&b| b < 0x20 && b != b'\n')
        && !text.windows(2).any(|w| w == b"\n\n")
}

/// Formats a record for a lookup answer: the id in decimal, a newline,
/// the text, then a blank line (Go's `FormatRecord`). Data tiles are the
/// same without the id lines.
pub fn format_record(id: i64, text: &[u8]) -> Result<Vec<u8>, Error> {
    if !is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    let mut msg = format!("{id}\n").into_bytes();
    msg.extend_from_slice(text);
    msg.push(b'\n');
    Ok(msg)
}

/// Parses a record at the start of `msg`, stopping right after its
/// terminating blank line, and returns (id, text, rest) (Go's
/// `ParseRecord`).
///
/// The id is parsed as Go's `strconv.ParseInt` does, so "+7", "007" and
/// negative ids are accepted; it is up to the caller to check the id
/// against the tree (see [`crate::lookup::authenticate_record`]).
pub fn parse_record(msg: &[u8]) -> Result<(i64, &[u8], &[u8]), Error> {
    let nl = msg
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Error::MalformedRecord)?;
    let (id, msg) = (&msg[..nl], &msg[nl + 1..]);
    let id: i64 = std::str::from_utf8(id)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::MalformedRecord)?;

    let end = msg
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or(Error::MalformedRecord)?;
    let (text, rest) = (&msg[..end + 1], &msg[end + 2..]);
    if !is_valid_record_text(text) {
        return Err(Error::MalformedRecord);
    }
    Ok((id, text, rest))
}
