//! The tamper-evident log behind a checksum database (Go's `sumdb/tlog`).
//!
//! The log is an RFC 6962 Merkle tree over records. Its hashes are kept in
//! one dense sequence (the "stored hash" order of Crosby and Wallach,
//! [`stored_hash_index`]), from which [`tree_hash`], inclusion proofs
//! ([`prove_record`], [`check_record`]) and consistency proofs
//! ([`prove_tree`], [`check_tree`]) are computed through a [`HashReader`].
//! Proofs are compatible with Certificate Transparency's.
//!
//! Clients fetch those hashes as tiles ([`Tile`], [`TileHashReader`]) and
//! learn the current tree from a signed tree note ([`Tree`],
//! [`format_tree`], [`parse_tree`]); lookup answers carry records in the
//! [`format_record`] format.
//!
//! Go panics on some out-of-range arguments and hangs on trees of more
//! than 2⁶² records (its `maxpow2` never terminates); here every such case
//! is an [`Error`], and sizes are limited to [`MAX_TREE_SIZE`].

mod format;
mod tile;

pub use format::{
    format_record, format_tree, is_valid_record_text, parse_record, parse_tree, Tree,
};
pub use tile::{
    hash_from_tile, new_tiles, parse_tile_path, read_tile_data, tile_for_index,
    tile_hash_from_data, Tile, TileHashReader, TileReader, MAX_TILE_HEIGHT, READ_CHUNK,
};

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::gobase64;

/// The size of a [`Hash`](struct@Hash) in bytes (Go's `HashSize`).
pub const HASH_SIZE: usize = 32;

/// The largest tree size (record count) this crate handles: 2⁶². Every
/// stored hash index of such a tree, and `stored_hash_index(0, n)` itself,
/// still fits in an `i64`; Go's own arithmetic stops working just above.
pub const MAX_TREE_SIZE: i64 = 1 << 62;

/// A SHA-256 hash identifying a record or a (sub)tree (Go's `tlog.Hash`).
/// It displays, and parses ([`Hash::parse`]), as standard base64.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// Parses the base64 form of a hash. Port of Go's `ParseHash`, which
    /// (through `base64.StdEncoding`) ignores `\r` and `\n` in the input.
    pub fn parse(s: &str) -> Result<Self, Error> {
        gobase64::decode(s)
            .and_then(|data| <[u8; HASH_SIZE]>::try_from(data).ok())
            .map(Hash)
            .ok_or(Error::MalformedHash)
    }

    /// The raw hash bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&gobase64::encode(&self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// Why a log operation failed. Messages follow Go's where Go has one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments out of range for the named Go function, e.g. a record
    /// index not below the tree size, or a tree over [`MAX_TREE_SIZE`].
    #[error("tlog: invalid inputs in {0}")]
    InvalidInputs(&'static str),
    /// A proof does not lead to the expected tree hash.
    #[error("invalid transparency proof")]
    ProofFailed,
    /// A [`HashReader`] returned the wrong number of hashes.
    #[error("tlog: ReadHashes({want} indexes) = {got} hashes")]
    WrongHashCount { want: usize, got: usize },
    /// An in-memory hash store does not hold this stored hash index.
    #[error("tlog: hash index {0} is not stored")]
    HashNotStored(i64),
    /// A stored hash index is negative.
    #[error("tlog: invalid stored hash index {0}")]
    InvalidIndex(i64),
    /// A hash is not the base64 of 32 bytes.
    #[error("malformed hash")]
    MalformedHash,
    /// A tree note's text is not a tree description.
    #[error("malformed tree note")]
    MalformedTree,
    /// A record, or a lookup answer's record part, is malformed.
    #[error("malformed record data")]
    MalformedRecord,
    /// A tile path is not the canonical path of any tile.
    #[error("malformed tile path {0:?}")]
    MalformedTilePath(String),
    /// A tile's coordinates are out of range (shown as its path).
    #[error("invalid tile {0}")]
    InvalidTile(String),
    /// A tile height outside 1..=30.
    #[error("invalid tile height {0}")]
    InvalidHeight(i64),
    /// Tile data shorter than the tile's width.
    #[error("data len {len} too short for tile {tile}")]
    TileDataTooShort { len: usize, tile: String },
    /// Tile data that is not a power-of-two number of hashes.
    #[error("tile data length {0} is not a power-of-two number of hashes")]
    BadTileDataLength(usize),
    /// A stored hash index that lives in another tile.
    #[error("index {index} is in {actual} not {tile}")]
    IndexNotInTile {
        index: i64,
        actual: String,
        tile: String,
    },
    /// A [`TileHashReader`] was asked for a hash outside its tree.
    #[error("indexes not in tree")]
    IndexNotInTree,
    /// Tiles that do not hash up to the signed tree hash, or to their
    /// parent tile: the tile server (or a cache) is serving bad data.
    #[error("downloaded inconsistent tile")]
    InconsistentTile,
    /// A [`TileReader`] returned the wrong number of tiles.
    #[error("TileReader returned bad result slice (len={got}, want {want})")]
    WrongTileCount { want: usize, got: usize },
    /// A [`TileReader`] returned tile data of the wrong length.
    #[error("TileReader returned bad result slice ({tile} len={got}, want {want})")]
    WrongTileSize {
        tile: String,
        want: usize,
        got: usize,
    },
    /// An internal invariant failed; Go panics or reports "bad math" here.
    #[error("tlog: bad math in {0}")]
    BadMath(String),
    /// An error from the caller's hash or tile storage, passed through.
    #[error(transparent)]
    Storage(Box<dyn std::error::Error + Send + Sync>),
}

/// Reads stored hashes by their [`stored_hash_index`] (Go's `HashReader`).
///
/// Implementations must return exactly one hash per index, in order, or an
/// error (wrap storage errors in [`Error::Storage`]). The functions in this
/// module always ask for indexes in increasing order.
pub trait HashReader {
    /// Returns the hashes at these stored indexes, in the same order.
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error>;
}

/// An in-memory log: the hashes in stored order, as produced by appending
/// the results of [`stored_hashes`] for records 0, 1, 2, …
impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|u| self.get(u))
                    .copied()
                    .ok_or(Error::HashNotStored(i))
            })
            .collect()
    }
}

/// Some of a log's hashes, by stored index: what a caller read for one
/// computation (the others are not stored here).
impl HashReader for std::collections::HashMap<i64, Hash> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|i| self.get(i).copied().ok_or(Error::HashNotStored(*i)))
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        self.as_slice().read_hashes(indexes)
    }
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        (**self).read_hashes(indexes)
    }
}

/// A function used as a [`HashReader`] (Go's `HashReaderFunc`).
pub struct HashReaderFunc<F>(pub F);

impl<F: Fn(&[i64]) -> Result<Vec<Hash>, Error>> HashReader for HashReaderFunc<F> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        (self.0)(indexes)
    }
}

/// Calls `r`, insisting on one hash per index (Go repeats this check after
/// every `ReadHashes` call because the interface cannot enforce it).
fn read_exact(r: &(impl HashReader + ?Sized), indexes: &[i64]) -> Result<Vec<Hash>, Error> {
    let hashes = r.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::WrongHashCount {
            want: indexes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The hash of the empty tree: SHA-256 of nothing (RFC 6962 §2.1).
pub const EMPTY_HASH: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The hash of the empty tree ([`EMPTY_HASH`]; Go's `emptyHash`).
pub fn empty_hash() -> Hash {
    EMPTY_HASH
}

/// The leaf hash of a record: SHA-256(0x00 ‖ data) (Go's `RecordHash`;
/// RFC 6962 §2.1). The prefix byte keeps leaves and nodes apart.
pub fn record_hash(data: &[u8]) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0x00])
            .chain_update(data)
            .finalize()
            .into(),
    )
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right) (Go's
/// `NodeHash`; RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0x01])
            .chain_update(left.0)
            .chain_update(right.0)
            .finalize()
            .into(),
    )
}

/// Go's `x << s` on an `int64` with a shift count that may be negative or
/// at least 64 (converted to `uint`, as Go's code does): such shifts give 0.
pub(crate) fn go_shl(x: i64, s: i64) -> i64 {
    u32::try_from(s)
        .ok()
        .and_then(|s| x.checked_shl(s))
        .unwrap_or(0)
}

/// Go's `x >> s` on an `int64` with any shift count: oversized shifts give
/// 0 or -1 by sign.
pub(crate) fn go_shr(x: i64, s: i64) -> i64 {
    u32::try_from(s)
        .ok()
        .and_then(|s| x.checked_shr(s))
        .unwrap_or(if x < 0 { -1 } else { 0 })
}

/// Returns k, the largest power of two smaller than n (1 if n ≤ 2), and
/// l = log₂ k. Port of Go's `maxpow2`, computed without its loop, which
/// never terminates for n > 2⁶².
fn maxpow2(n: i64) -> (i64, i64) {
    if n <= 2 {
        return (1, 0);
    }
    let l = i64::from(63 - (n - 1).leading_zeros());
    (1 << l, l)
}

/// Maps tree coordinates (level, n) to the dense stored-hash order (Go's
/// `StoredHashIndex`): level L's n'th hash is stored right after level
/// L+1's … 2n+1'th, and record n's leaf at n + n/2 + n/4 + …
///
/// Total over all inputs: out-of-range coordinates wrap exactly as Go's
/// int64 arithmetic does.
pub fn stored_hash_index(level: i64, n: i64) -> i64 {
    // Work down to the last leaf under (level, n); level is added back at
    // the end. After 64 rounds of n = 2n+1 (mod 2⁶⁴) every bit is set and
    // further rounds change nothing, so huge levels cost no more than 64.
    let mut n = n;
    for _ in 0..level.clamp(0, 64) {
        n = n.wrapping_mul(2).wrapping_add(1);
    }
    let mut i: i64 = 0;
    while n > 0 {
        i = i.wrapping_add(n);
        n >>= 1;
    }
    i.wrapping_add(level)
}

/// The inverse of [`stored_hash_index`]: returns (level, n). Port of Go's
/// `SplitStoredHashIndex`, which panics on negative indexes.
pub fn split_stored_hash_index(index: i64) -> Result<(i64, i64), Error> {
    if index < 0 {
        return Err(Error::InvalidIndex(index));
    }
    // stored_hash_index(0, n) < 2n, so the record that committed this hash
    // is in [index/2, index/2 + log₂ index].
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    loop {
        // Record n+1 adds its leaf plus one hash per subtree it completes.
        let next = index_n.checked_add(1 + i64::from((n + 1).trailing_zeros()));
        match next {
            Some(x) if x <= index => {
                n += 1;
                index_n = x;
            }
            _ => break,
        }
    }
    // The hash was stored with record n: it is (0, n), (1, n/2), (2, n/4)…
    let level = index - index_n;
    Ok((level, go_shr(n, level)))
}

/// The number of hashes stored for a tree of n records (Go's
/// `StoredHashCount`). Wraps like Go for n outside 0..=[`MAX_TREE_SIZE`].
pub fn stored_hash_count(n: i64) -> i64 {
    if n == 0 {
        return 0;
    }
    // Hashes up to the last leaf, then one per subtree that leaf completes.
    let mut count = stored_hash_index(0, n.wrapping_sub(1)).wrapping_add(1);
    let mut i = n.wrapping_sub(1) as u64;
    while i & 1 != 0 {
        count = count.wrapping_add(1);
        i >>= 1;
    }
    count
}

/// Returns the hashes to append to storage when writing record n with
/// this data; they belong at `stored_hash_index(0, n)` onward. Port of Go's
/// `StoredHashes`. May read up to log₂ n earlier hashes from `r`.
pub fn stored_hashes(
    n: i64,
    data: &[u8],
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    stored_hashes_for_record_hash(n, record_hash(data), r)
}

/// Like [`stored_hashes`], given `record_hash(data)` instead of the data
/// (Go's `StoredHashesForRecordHash`).
pub fn stored_hashes_for_record_hash(
    n: i64,
    h: Hash,
    r: &(impl HashReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    if !(0..MAX_TREE_SIZE).contains(&n) {
        return Err(Error::InvalidInputs("StoredHashes"));
    }
    // Each trailing 1 bit of n completes a subtree, whose left sibling
    // (already stored) is needed. Ask for them in increasing order.
    let m = i64::from((n + 1).trailing_zeros());
    let indexes: Vec<i64> = (0..m)
        .rev()
        .map(|i| stored_hash_index(i, (n >> i) - 1))
        .collect();
    let siblings = read_exact(r, &indexes)?;

    let mut hashes = Vec::with_capacity(siblings.len() + 1);
    hashes.push(h);
    let mut h = h;
    for sibling in siblings.iter().rev() {
        h = node_hash(sibling, &h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// Computes the root hash of the tree of n records from the stored hashes,
/// with one read of at most 1 + log₂ n hashes (Go's `TreeHash`).
pub fn tree_hash(n: i64, r: &(impl HashReader + ?Sized)) -> Result<Hash, Error> {
    if n == 0 {
        return Ok(EMPTY_HASH);
    }
    if !(1..=MAX_TREE_SIZE).contains(&n) {
        return Err(Error::InvalidInputs("TreeHash"));
    }
    let indexes = sub_tree_index(0, n, Vec::new());
    let hashes = read_exact(r, &indexes)?;
    let (hash, rest) = sub_tree_hash(0, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::BadMath("TreeHash".into()));
    }
    Ok(hash)
}

/// Appends the stored indexes needed to hash the subtree of records
/// [lo, hi) (Go's `subTreeIndex`): the maximal complete subtrees, left to
/// right, each of which is stored directly.
fn sub_tree_index(mut lo: i64, hi: i64, mut need: Vec<i64>) -> Vec<i64> {
    while lo < hi {
        let (k, level) = maxpow2(hi - lo + 1);
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
    need
}

/// Hashes the subtree of records [lo, hi) from the hashes listed by
/// [`sub_tree_index`], returning the leftover hashes (Go's `subTreeHash`):
/// the complete subtrees are combined right to left.
fn sub_tree_hash(mut lo: i64, hi: i64, hashes: &[Hash]) -> Result<(Hash, &[Hash]), Error> {
    let mut num_tree = 0;
    while lo < hi {
        let (k, _) = maxpow2(hi - lo + 1);
        num_tree += 1;
        lo += k;
    }
    if hashes.len() < num_tree {
        return Err(Error::BadMath("subTreeHash".into()));
    }
    let (used, rest) = hashes.split_at(num_tree);
    let (last, init) = used
        .split_last()
        .ok_or_else(|| Error::BadMath("subTreeHash".into()))?;
    let hash = init
        .iter()
        .rfold(*last, |right, left| node_hash(left, &right));
    Ok((hash, rest))
}

/// A proof that a tree contains a record: RFC 6962's "Merkle audit path",
/// ordered from the leaf's sibling up (Go's `RecordProof`).
pub type RecordProof = Vec<Hash>;

/// A proof that a tree extends an earlier one: RFC 6962's "Merkle
/// consistency proof" (Go's `TreeProof`).
pub type TreeProof = Vec<Hash>;

/// Returns the proof that the tree of size t contains record n (Go's
/// `ProveRecord`).
pub fn prove_record(t: i64, n: i64, r: &(impl HashReader + ?Sized)) -> Result<RecordProof, Error> {
    if t < 0 || n < 0 || n >= t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInputs("ProveRecord"));
    }
    let indexes = leaf_proof_index(0, t, n, Vec::new());
    if indexes.is_empty() {
        return Ok(RecordProof::new());
    }
    let hashes = read_exact(r, &indexes)?;
    let (proof, rest) = leaf_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::BadMath("ProveRecord".into()));
    }
    Ok(proof)
}

/// Appends the indexes needed to prove leaf n is in the subtree [lo, hi)
/// (Go's `leafProofIndex`; RFC 6962 §2.1.1).
fn leaf_proof_index(lo: i64, hi: i64, n: i64, mut need: Vec<i64>) -> Vec<i64> {
    if lo + 1 >= hi {
        return need;
    }
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        need = leaf_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need)
    } else {
        need = sub_tree_index(lo, lo + k, need);
        leaf_proof_index(lo + k, hi, n, need)
    }
}

/// Builds the proof that leaf n is in the subtree [lo, hi) from the hashes
/// listed by [`leaf_proof_index`], returning leftovers (Go's `leafProof`).
/// Each level records the hash of the side not taken.
fn leaf_proof(lo: i64, hi: i64, n: i64, hashes: &[Hash]) -> Result<(RecordProof, &[Hash]), Error> {
    if lo + 1 >= hi {
        // The leaf itself: the verifier already knows its hash.
        return Ok((RecordProof::new(), hashes));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut proof, sibling, rest) = if n < lo + k {
        let (proof, rest) = leaf_proof(lo, lo + k, n, hashes)?;
        let (sibling, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (proof, sibling, rest)
    } else {
        let (sibling, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (proof, rest) = leaf_proof(lo + k, hi, n, rest)?;
        (proof, sibling, rest)
    };
    proof.push(sibling);
    Ok((proof, rest))
}

/// Verifies that `proof` shows the tree of size t with hash `th` has hash
/// `h` as its n'th record (Go's `CheckRecord`).
pub fn check_record(proof: &[Hash], t: i64, th: Hash, n: i64, h: Hash) -> Result<(), Error> {
    if t < 0 || n < 0 || n >= t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInputs("CheckRecord"));
    }
    if run_record_proof(proof, 0, t, n, h)? == th {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

/// Runs a record proof for the subtree [lo, hi), returning the subtree
/// hash it implies (Go's `runRecordProof`). Consumes the proof from the
/// end, the top of the tree, and rejects proofs with spare hashes.
fn run_record_proof(proof: &[Hash], lo: i64, hi: i64, n: i64, leaf: Hash) -> Result<Hash, Error> {
    if lo + 1 >= hi {
        return if proof.is_empty() {
            Ok(leaf)
        } else {
            Err(Error::ProofFailed)
        };
    }
    let (sibling, proof) = proof.split_last().ok_or(Error::ProofFailed)?;
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        let th = run_record_proof(proof, lo, lo + k, n, leaf)?;
        Ok(node_hash(&th, sibling))
    } else {
        let th = run_record_proof(proof, lo + k, hi, n, leaf)?;
        Ok(node_hash(sibling, &th))
    }
}

/// Returns the proof that the tree of size t contains the tree of size n
/// as a prefix (Go's `ProveTree`).
pub fn prove_tree(t: i64, n: i64, r: &(impl HashReader + ?Sized)) -> Result<TreeProof, Error> {
    if t < 1 || n < 1 || n > t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInputs("ProveTree"));
    }
    let indexes = tree_proof_index(0, t, n, Vec::new());
    if indexes.is_empty() {
        return Ok(TreeProof::new());
    }
    let hashes = read_exact(r, &indexes)?;
    let (proof, rest) = tree_proof(0, t, n, &hashes)?;
    if !rest.is_empty() {
        return Err(Error::BadMath("ProveTree".into()));
    }
    Ok(proof)
}

/// Appends the indexes for the consistency sub-proof of the subtree
/// [lo, hi) (Go's `treeProofIndex`; RFC 6962 §2.1.2).
fn tree_proof_index(lo: i64, hi: i64, n: i64, mut need: Vec<i64>) -> Vec<i64> {
    if n >= hi {
        // Common ground. The verifier knows the old tree's own hash.
        return if lo == 0 {
            need
        } else {
            sub_tree_index(lo, hi, need)
        };
    }
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        need = tree_proof_index(lo, lo + k, n, need);
        sub_tree_index(lo + k, hi, need)
    } else {
        need = sub_tree_index(lo, lo + k, need);
        tree_proof_index(lo + k, hi, n, need)
    }
}

/// Builds the consistency sub-proof for the subtree [lo, hi) from the
/// hashes listed by [`tree_proof_index`], returning leftovers (Go's
/// `treeProof`).
fn tree_proof(lo: i64, hi: i64, n: i64, hashes: &[Hash]) -> Result<(TreeProof, &[Hash]), Error> {
    if n >= hi {
        if lo == 0 {
            return Ok((TreeProof::new(), hashes));
        }
        let (th, rest) = sub_tree_hash(lo, hi, hashes)?;
        return Ok((vec![th], rest));
    }
    let (k, _) = maxpow2(hi - lo);
    let (mut proof, th, rest) = if n <= lo + k {
        let (proof, rest) = tree_proof(lo, lo + k, n, hashes)?;
        let (th, rest) = sub_tree_hash(lo + k, hi, rest)?;
        (proof, th, rest)
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        let (proof, rest) = tree_proof(lo + k, hi, n, rest)?;
        (proof, th, rest)
    };
    proof.push(th);
    Ok((proof, rest))
}

/// Verifies that `proof` shows the tree of size t with hash `th` contains
/// the tree of size n with hash `h` as a prefix (Go's `CheckTree`).
pub fn check_tree(proof: &[Hash], t: i64, th: Hash, n: i64, h: Hash) -> Result<(), Error> {
    if t < 1 || n < 1 || n > t || t > MAX_TREE_SIZE {
        return Err(Error::InvalidInputs("CheckTree"));
    }
    let (h2, th2) = run_tree_proof(proof, 0, t, n, h)?;
    if th2 == th && h2 == h {
        Ok(())
    } else {
        Err(Error::ProofFailed)
    }
}

/// Runs the consistency sub-proof for the subtree [lo, hi), returning the
/// implied hashes of that subtree in the old and the new tree (Go's
/// `runTreeProof`).
fn run_tree_proof(
    proof: &[Hash],
    lo: i64,
    hi: i64,
    n: i64,
    old: Hash,
) -> Result<(Hash, Hash), Error> {
    if n >= hi {
        return match (lo, proof) {
            (0, []) => Ok((old, old)),
            (lo, [h]) if lo != 0 => Ok((*h, *h)),
            _ => Err(Error::ProofFailed),
        };
    }
    let (last, proof) = proof.split_last().ok_or(Error::ProofFailed)?;
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        let (oh, th) = run_tree_proof(proof, lo, lo + k, n, old)?;
        Ok((oh, node_hash(&th, last)))
    } else {
        let (oh, th) = run_tree_proof(proof, lo + k, hi, n, old)?;
        Ok((node_hash(last, &oh), node_hash(last, &th)))
    }
}
