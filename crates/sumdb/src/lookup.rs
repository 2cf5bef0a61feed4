//! The `/lookup/<module>@<version>` answer of a checksum database, and the
//! checks the go command makes on it (Go's `sumdb/server.go` and
//! `sumdb/client.go`).
//!
//! An answer is the record id on its own line, the record text, a blank
//! line, and the signed tree note:
//!
//! ```text
//! 12345
//! golang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=
//! golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=
//!
//! go.sum database tree
//! 31727862
//! …base64 root hash…
//!
//! — sum.golang.org Az3grn…
//! ```
//!
//! The record part never changes for a given module version; the note
//! does, as the log grows.

use crate::note::{self, Note, Verifier};
use crate::tlog::{
    self, format_record, parse_record, parse_tree, prove_tree, record_hash, stored_hash_index,
    tree_hash, Hash, HashReader, TileHashReader, TileReader, Tree, TreeProof,
};

/// Why a lookup answer was rejected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The answer is malformed, or tiles could not be read or did not
    /// authenticate.
    #[error(transparent)]
    Tlog(#[from] tlog::Error),
    /// The tree note did not open with the trusted keys.
    #[error("reading tree note: {0}")]
    Note(#[from] note::Error),
    /// The note's text is not a tree description.
    #[error("reading tree: {0}")]
    Tree(tlog::Error),
    /// The record id is not in the tree. (Go maps a negative id to stored
    /// index 0 and compares with record 0; this port refuses it.)
    #[error("cannot validate record {id} in tree of size {n}")]
    RecordNotInTree { id: i64, n: i64 },
    /// The record text does not hash to the log's leaf for its id.
    #[error("cannot authenticate record data in server response")]
    RecordMismatch,
    /// Reading the hashes needed to compare two trees failed.
    #[error("checking tree#{}: {source}", tree_pair(*.older, *.newer))]
    CheckingTree {
        older: i64,
        newer: i64,
        source: tlog::Error,
    },
    /// Two signed trees that cannot both be true: the server forked its
    /// log. The go command reports this as "SECURITY ERROR".
    #[error("go.sum database server misbehavior detected: tree#{} is not a prefix of tree#{}", .0.older.n, .0.newer.n)]
    Fork(Box<Fork>),
}

/// "5" for one tree, "5 against tree#6" for two, as in Go's messages.
fn tree_pair(older: i64, newer: i64) -> String {
    if older == newer {
        older.to_string()
    } else {
        format!("{older} against tree#{newer}")
    }
}

/// Evidence that a database signed two inconsistent trees (what Go's
/// `checkTrees` prints after "SECURITY ERROR").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The older signed tree.
    pub older: Tree,
    /// The newer signed tree, which does not contain `older`.
    pub newer: Tree,
    /// The hash that `newer`'s authenticated tiles give for the first
    /// `older.n` records (≠ `older.hash`).
    pub computed: Hash,
    /// A proof that `newer` contains a tree of size `older.n` with hash
    /// `computed`, or `None` if it could not be built.
    pub proof: Option<TreeProof>,
}

/// A lookup answer split into its parts (borrowed from the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupResponse<'a> {
    /// The record's position in the log.
    pub id: i64,
    /// The record text: go.sum lines, each ending in a newline.
    pub text: &'a str,
    /// The signed tree note that follows the record.
    pub note: &'a [u8],
}

/// Splits a lookup answer into id, record text and note bytes, checking
/// the record syntax exactly as the go command does (`tlog.ParseRecord`).
/// Nothing is authenticated yet: see [`verify_lookup`].
pub fn parse_lookup_response(msg: &[u8]) -> Result<LookupResponse<'_>, Error> {
    let (id, text, note) = parse_record(msg)?;
    // parse_record has checked that the text is UTF-8.
    let text = std::str::from_utf8(text).map_err(|_| tlog::Error::MalformedRecord)?;
    Ok(LookupResponse { id, text, note })
}

/// Builds a lookup answer from a record and the current signed tree note,
/// as Go's `Server.ServeHTTP` does for `/lookup/`.
pub fn format_lookup_response(id: i64, text: &[u8], signed_note: &[u8]) -> Result<Vec<u8>, Error> {
    let mut msg = format_record(id, text)?;
    msg.extend_from_slice(signed_note);
    Ok(msg)
}

/// The record text a checksum database stores for a module version: the
/// two go.sum lines, for the module zip and for its go.mod file. The
/// hashes are given whole, e.g. `h1:…=`.
pub fn record_text(path: &str, version: &str, zip_hash: &str, go_mod_hash: &str) -> String {
    format!("{path} {version} {zip_hash}\n{path} {version}/go.mod {go_mod_hash}\n")
}

/// The lines of a record text for `path` at `version`, where `version` may
/// end in `/go.mod` to select the go.mod lines: exactly the lines that
/// start with `"<path> <version> "` (Go's `Client.Lookup`). A record may hold
/// several lines per version (e.g. future `h2:` hashes).
pub fn go_sum_lines<'a>(text: &'a str, path: &str, version: &str) -> Vec<&'a str> {
    let prefix = format!("{path} {version} ");
    text.split('\n')
        .filter(|line| line.starts_with(&prefix))
        .collect()
}

/// The two go.sum lines of one module version, as found in a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModuleLines<'a> {
    /// The first `<path> <version> …` line (the module zip's hash).
    pub zip: Option<&'a str>,
    /// The first `<path> <version>/go.mod …` line.
    pub go_mod: Option<&'a str>,
}

/// Finds the zip and go.mod lines for `path` at `version` in a record.
pub fn module_lines<'a>(text: &'a str, path: &str, version: &str) -> ModuleLines<'a> {
    let first = |v: &str| go_sum_lines(text, path, v).into_iter().next();
    ModuleLines {
        zip: first(version),
        go_mod: first(&format!("{version}/go.mod")),
    }
}

/// Reports whether a record vouches for this hash: some line is exactly
/// `<path> <version> <hash>` (the go command's `checkSumDB`; `version` may
/// end in `/go.mod`). Anything else is a "SECURITY ERROR" for Go.
pub fn record_has_line(text: &str, path: &str, version: &str, hash: &str) -> bool {
    let want = format!("{path} {version} {hash}");
    text.split('\n').any(|line| line == want)
}

/// Reports whether `key` (the escaped `<path>@<version>` after `/lookup/`)
/// has the syntax the reference server accepts; it answers 400 otherwise.
/// A hand-written match of Go's `modVerRE`,
/// `^[^@]+@v[0-9]+\.[0-9]+\.[0-9]+(-[^@]*)?(\+incompatible)?$`.
pub fn is_valid_lookup_key(key: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
        (rest.len() < s.len()).then_some(rest)
    }
    let Some((path, version)) = key.split_once('@') else {
        return false;
    };
    if path.is_empty() || version.contains('@') {
        return false;
    }
    let rest = version
        .strip_prefix('v')
        .and_then(digits)
        .and_then(|s| s.strip_prefix('.'))
        .and_then(digits)
        .and_then(|s| s.strip_prefix('.'))
        .and_then(digits);
    // The pre-release part `-[^@]*` may itself end in "+incompatible".
    matches!(rest, Some(rest) if rest.is_empty() || rest.starts_with('-') || rest == "+incompatible")
}

/// Opens a signed tree note with the trusted keys and parses its tree (the
/// first half of Go's `Client.mergeLatestMem`).
pub fn open_tree_note(msg: &[u8], verifiers: &[Verifier]) -> Result<(Note, Tree), Error> {
    let note = note::open(msg, verifiers)?;
    let tree = parse_tree(note.text.as_bytes()).map_err(Error::Tree)?;
    Ok((note, tree))
}

/// Checks that record `id` of the signed `tree` has this text, reading
/// the leaf hash through authenticated tiles (Go's `Client.checkRecord`).
pub fn authenticate_record(
    tree: &Tree,
    id: i64,
    text: &[u8],
    tiles: &impl TileReader,
) -> Result<(), Error> {
    if id < 0 || id >= tree.n {
        return Err(Error::RecordNotInTree { id, n: tree.n });
    }
    let hashes = TileHashReader::new(*tree, tiles).read_hashes(&[stored_hash_index(0, id)])?;
    match hashes.first() {
        Some(leaf) if *leaf == record_hash(text) => Ok(()),
        _ => Err(Error::RecordMismatch),
    }
}

/// Checks that the signed tree `older` is a prefix of the signed tree
/// `newer`, by recomputing older's hash from newer's authenticated tiles
/// (Go's `Client.checkTrees`). With equal sizes this checks the two trees
/// are the same. A mismatch is [`Error::Fork`], with the evidence.
pub fn check_trees(older: &Tree, newer: &Tree, tiles: &impl TileReader) -> Result<(), Error> {
    let checking = |source| Error::CheckingTree {
        older: older.n,
        newer: newer.n,
        source,
    };
    let thr = TileHashReader::new(*newer, tiles);
    let computed = tree_hash(older.n, &thr).map_err(checking)?;
    if computed == older.hash {
        return Ok(());
    }
    // The tiles just read suffice for the proof, so this rarely fails; a
    // fork is reported either way.
    let proof = prove_tree(newer.n, older.n, &thr)
        .ok()
        .filter(|p| tlog::check_tree(p, newer.n, newer.hash, older.n, computed).is_ok());
    Err(Error::Fork(Box::new(Fork {
        older: *older,
        newer: *newer,
        computed,
        proof,
    })))
}

/// A lookup answer whose record is proven to be in the signed tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLookup<'a> {
    /// The record's position in the log.
    pub id: i64,
    /// The authenticated record text.
    pub text: &'a str,
    /// The opened tree note.
    pub note: Note,
    /// The tree the record was checked against.
    pub tree: Tree,
}

/// Parses a lookup answer, opens its tree note with the trusted keys and
/// proves the record is in that tree through `tiles`.
///
/// This authenticates the answer on its own. A client that remembers the
/// latest tree it has seen must also call [`check_trees`] between that
/// tree and this one, as the go command does, to detect a forked log.
pub fn verify_lookup<'a>(
    msg: &'a [u8],
    verifiers: &[Verifier],
    tiles: &impl TileReader,
) -> Result<VerifiedLookup<'a>, Error> {
    let response = parse_lookup_response(msg)?;
    let (note, tree) = open_tree_note(response.note, verifiers)?;
    authenticate_record(&tree, response.id, response.text.as_bytes(), tiles)?;
    Ok(VerifiedLookup {
        id: response.id,
        text: response.text,
        note,
        tree,
    })
}
