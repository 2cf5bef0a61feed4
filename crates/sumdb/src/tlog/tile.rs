//! Hash tiles: how clients fetch and authenticate log hashes (Go's
//! `sumdb/tlog/tile.go`; see also <https://research.swtch.com/tlog#tiling_a_log>).

use std::collections::HashMap;
use std::fmt;

use super::{
    go_shl, go_shr, node_hash, read_exact, split_stored_hash_index, stored_hash_index,
    sub_tree_index, Error, Hash, HashReader, Tree, HASH_SIZE, MAX_TREE_SIZE,
};

/// The largest tile height Go accepts (its `Tile` documents 1 ≤ H ≤ 30).
pub const MAX_TILE_HEIGHT: i64 = 30;

/// Tile numbers are written in groups of three digits, so that no
/// directory of a file-backed tile store has more than 3000 entries
/// (Go's `pathBase`).
const PATH_BASE: i64 = 1000;

/// The coordinates of a tile (Go's `tlog.Tile`): the `w` consecutive
/// hashes at tree level `h·l`, starting at hash number `n·2ʰ`, which are
/// the leaves of a subtree of height `h`. A full tile has `w = 2ʰ`; only
/// full tiles are ever hashed into a parent tile.
///
/// Level `l = -1` denotes a data tile: the records themselves (path
/// element `data`). All fields are Go `int`s, hence `i64`; meaningful
/// tiles have 1 ≤ h ≤ 30, -1 ≤ l ≤ 63, n ≥ 0 and 1 ≤ w ≤ 2ʰ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Height: the tile's subtree has 2ʰ leaves.
    pub h: i64,
    /// Level in the tiling; -1 for data tiles.
    pub l: i64,
    /// Number of the tile within its level.
    pub n: i64,
    /// Width: how many hashes (or records) the tile holds.
    pub w: i64,
}

impl Tile {
    /// The tile's coordinate path, e.g. `tile/8/0/x001/x234/567.p/3`
    /// (Go's `Tile.Path`): N in 3-digit groups, all but the last prefixed
    /// with `x`, and `.p/W` only for partial tiles.
    pub fn path(&self) -> String {
        let mut n = self.n;
        // Rust's `{:03}` pads negatives like Go's `%03d` ("-05"), so even
        // meaningless tiles format exactly as in Go.
        let mut n_str = format!("{:03}", n % PATH_BASE);
        while n >= PATH_BASE {
            n /= PATH_BASE;
            n_str = format!("x{:03}/{n_str}", n % PATH_BASE);
        }
        let p_str = if self.w == go_shl(1, self.h) {
            String::new()
        } else {
            format!(".p/{}", self.w)
        };
        let level = if self.l == -1 {
            "data".to_owned()
        } else {
            self.l.to_string()
        };
        format!("tile/{}/{level}/{n_str}{p_str}", self.h)
    }

    /// Reports whether the coordinates describe a hash tile Go's
    /// `HashFromTile` accepts.
    fn is_valid_hash_tile(&self) -> bool {
        (1..=MAX_TILE_HEIGHT).contains(&self.h)
            && (0..64).contains(&self.l)
            && self.n >= 0
            && (1..=1 << self.h).contains(&self.w)
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Parses a tile coordinate path such as `tile/8/0/x001/x234/567.p/3` or
/// `tile/8/data/000` (Go's `ParseTilePath`). Only canonical paths are
/// accepted: the parsed tile must format back to exactly `path`.
pub fn parse_tile_path(path: &str) -> Result<Tile, Error> {
    let bad = || Error::MalformedTilePath(path.to_owned());
    let mut f: Vec<&str> = path.split('/').collect();
    if f.len() < 4 || f[0] != "tile" {
        return Err(bad());
    }
    // Rust's integer parsing, like Go's `strconv.Atoi`, takes an optional
    // sign and decimal digits; non-canonical spellings such as "+5" or
    // "05" parse here and are rejected by the final round trip, as in Go.
    let h: i64 = f[1].parse().map_err(|_| bad())?;
    let is_data = f[2] == "data";
    let l: i64 = if is_data {
        0
    } else {
        f[2].parse().map_err(|_| bad())?
    };
    if !(1..=MAX_TILE_HEIGHT).contains(&h) || l < 0 {
        return Err(bad());
    }
    let mut w = 1i64 << h;
    let last = f.len() - 1;
    if let Some(base) = f[last - 1].strip_suffix(".p") {
        let ww: i64 = f[last].parse().map_err(|_| bad())?;
        if ww <= 0 || ww >= w {
            return Err(bad());
        }
        w = ww;
        f[last - 1] = base;
        f.truncate(last);
    }
    let mut n: i64 = 0;
    for s in f.get(3..).unwrap_or_default() {
        let s = s.strip_prefix('x').unwrap_or(s);
        let nn: i64 = s.parse().map_err(|_| bad())?;
        if !(0..PATH_BASE).contains(&nn) {
            return Err(bad());
        }
        // Go wraps on overflow and then fails the round trip; failing now
        // is the same answer.
        n = n
            .checked_mul(PATH_BASE)
            .and_then(|n| n.checked_add(nn))
            .ok_or_else(bad)?;
    }
    let tile = Tile {
        h,
        l: if is_data { -1 } else { l },
        n,
        w,
    };
    if tile.path() != path {
        return Err(bad());
    }
    Ok(tile)
}

fn check_height(h: i64) -> Result<(), Error> {
    if (1..=MAX_TILE_HEIGHT).contains(&h) {
        Ok(())
    } else {
        Err(Error::InvalidHeight(h))
    }
}

/// Returns the tile of height h, with the least width, that stores the
/// given stored hash index (Go's `TileForIndex`).
pub fn tile_for_index(h: i64, index: i64) -> Result<Tile, Error> {
    tile_for_index_range(h, index).map(|(tile, _)| tile)
}

/// Like [`tile_for_index`], also returning the byte range of the tile data
/// whose subtree hash is that index's hash (Go's `tileForIndex`). Hashes
/// above a tile's bottom row are not stored in it but recomputed.
fn tile_for_index_range(h: i64, index: i64) -> Result<(Tile, std::ops::Range<usize>), Error> {
    check_height(h)?;
    let (level, n) = split_stored_hash_index(index)?;
    // level < 64 and n << level never exceeds the leaf count, so none of
    // this can overflow.
    let l = level / h;
    let level = level - l * h; // level within the tile
    let tile_n = (n << level) >> h;
    let n = n - ((tile_n << h) >> level); // n within the tile, at `level`
    let tile = Tile {
        h,
        l,
        n: tile_n,
        w: (n + 1) << level,
    };
    let start = usize::try_from(n << level).ok();
    let end = usize::try_from((n + 1) << level).ok();
    match (start, end) {
        (Some(start), Some(end)) => Ok((tile, start * HASH_SIZE..end * HASH_SIZE)),
        _ => Err(Error::BadMath("tileForIndex".into())),
    }
}

/// Returns the hash at a stored index, given tile `t` that holds it (that
/// is, `tile_for_index(t.h, index)` or a wider tile) and t's data (Go's
/// `HashFromTile`).
pub fn hash_from_tile(t: &Tile, data: &[u8], index: i64) -> Result<Hash, Error> {
    if !t.is_valid_hash_tile() {
        return Err(Error::InvalidTile(t.path()));
    }
    // Valid tiles have w ≤ 2³⁰, so this cannot overflow.
    if data.len() < t.w as usize * HASH_SIZE {
        return Err(Error::TileDataTooShort {
            len: data.len(),
            tile: t.path(),
        });
    }
    let (t1, range) = tile_for_index_range(t.h, index)?;
    if t.l != t1.l || t.n != t1.n || t.w < t1.w {
        return Err(Error::IndexNotInTile {
            index,
            actual: t1.path(),
            tile: t.path(),
        });
    }
    let slice = data
        .get(range)
        .ok_or_else(|| Error::BadMath("HashFromTile".into()))?;
    tile_hash_from_data(slice)
}

/// The hash of the subtree whose leaves are the 2ᵏ hashes in `data`
/// (Go's `tileHash`); for a full tile, the hash its parent tile stores.
pub fn tile_hash_from_data(data: &[u8]) -> Result<Hash, Error> {
    fn subtree(data: &[u8]) -> Option<Hash> {
        match data.len() {
            HASH_SIZE => data.try_into().ok().map(Hash),
            len if len % (2 * HASH_SIZE) == 0 && len > 0 => {
                let (left, right) = data.split_at(len / 2);
                Some(node_hash(&subtree(left)?, &subtree(right)?))
            }
            _ => None,
        }
    }
    subtree(data).ok_or(Error::BadTileDataLength(data.len()))
}

/// Returns the tiles of height h to publish when the tree grows from
/// `old_tree_size` to `new_tree_size` records (Go's `NewTiles`): every
/// tile that is new or wider, full tiles first within each level.
pub fn new_tiles(h: i64, old_tree_size: i64, new_tree_size: i64) -> Result<Vec<Tile>, Error> {
    check_height(h)?;
    if old_tree_size < 0 || new_tree_size < 0 {
        return Err(Error::InvalidInputs("NewTiles"));
    }
    let mut tiles = Vec::new();
    let mut level = 0;
    while go_shr(new_tree_size, h * level) > 0 {
        let old_n = go_shr(old_tree_size, h * level);
        let new_n = go_shr(new_tree_size, h * level);
        if old_n != new_n {
            for n in (old_n >> h)..(new_n >> h) {
                tiles.push(Tile {
                    h,
                    l: level,
                    n,
                    w: 1 << h,
                });
            }
            let n = new_n >> h;
            let w = new_n - (n << h);
            if w > 0 {
                tiles.push(Tile { h, l: level, n, w });
            }
        }
        level += 1;
    }
    Ok(tiles)
}

/// Reads the hashes of hash tile `t` from `r` and returns the tile data,
/// the hashes concatenated (Go's `ReadTileData`). A width of 0 means a
/// full tile, as in Go. Data tiles (l = -1) hold records, not hashes, and
/// are refused: Go would read meaningless hashes for them.
///
/// Unlike Go, wide tiles are read in chunks of [`READ_CHUNK`] hashes, so
/// that a request for a tile beyond the end of the log (say
/// `tile/30/0/000` from a client) fails on the first chunk instead of
/// first allocating room for 2³⁰ hashes.
pub fn read_tile_data(t: &Tile, r: &(impl HashReader + ?Sized)) -> Result<Vec<u8>, Error> {
    let full = Tile {
        w: if t.w == 0 { go_shl(1, t.h) } else { t.w },
        ..*t
    };
    if !full.is_valid_hash_tile() {
        return Err(Error::InvalidTile(t.path()));
    }
    // Tile numbers parsed from paths can be huge; the index arithmetic then
    // wraps as in Go and the reader reports the nonsense indexes missing.
    let start = go_shl(full.n, full.h);
    let mut data = Vec::new();
    let mut i = 0;
    while i < full.w {
        let end = full.w.min(i + READ_CHUNK);
        let indexes: Vec<i64> = (i..end)
            .map(|i| stored_hash_index(full.h * full.l, start.wrapping_add(i)))
            .collect();
        data.extend(read_exact(r, &indexes)?.iter().flat_map(|h| h.0));
        i = end;
    }
    Ok(data)
}

/// How many hashes [`read_tile_data`] asks its reader for at a time: all
/// of any tile of height up to 16.
pub const READ_CHUNK: i64 = 1 << 16;

/// Reads tiles from a checksum database log (Go's `TileReader`).
///
/// Methods take `&self` because a reader is typically a cache in front of
/// a network client; implementations use interior mutability as needed.
pub trait TileReader {
    /// The height of the tiles this reader serves (the go command uses 8).
    fn height(&self) -> i64;

    /// Returns the data of each tile, `tiles[i].w * 32` bytes each, or an
    /// error (wrap storage errors in [`Error::Storage`]). Data from the
    /// network is untrusted until [`TileReader::save_tiles`] is called.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error>;

    /// Reports that these tiles, returned by `read_tiles`, have been
    /// authenticated against a signed tree and may be cached persistently.
    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]);
}

impl<T: TileReader + ?Sized> TileReader for &T {
    fn height(&self) -> i64 {
        (**self).height()
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        (**self).read_tiles(tiles)
    }

    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        (**self).save_tiles(tiles, data)
    }
}

/// A [`HashReader`] that reads hashes of a signed tree through tiles and
/// returns only hashes it has authenticated against that tree (Go's
/// `TileHashReader`): every call also fetches the tiles needed to
/// recompute the tree hash, and checks each further tile against its
/// parent tile.
#[derive(Debug, Clone)]
pub struct TileHashReader<R> {
    tree: Tree,
    reader: R,
}

impl<R: TileReader> TileHashReader<R> {
    /// Reads hashes of `tree`, which the caller has taken from a verified
    /// signed tree note, through `reader`.
    pub fn new(tree: Tree, reader: R) -> Self {
        Self { tree, reader }
    }

    /// The tree the hashes are authenticated against.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
}

/// Returns t's k'th parent tile in the tiling of a tree of n records, or
/// `None` if the tree has no such tile (Go's `tileParent`, whose `Tile{}`
/// result is `None` here). A parent at the tree's right edge is partial.
fn tile_parent(t: Tile, k: i64, n: i64) -> Option<Tile> {
    let mut t = t;
    t.l += k;
    t.n = go_shr(t.n, k.wrapping_mul(t.h));
    t.w = 1 << t.h;
    let max = go_shr(n, t.l.wrapping_mul(t.h));
    let start = t.n << t.h;
    if start + t.w >= max {
        if start >= max {
            return None;
        }
        t.w = max - start;
    }
    Some(t)
}

impl<R: TileReader> HashReader for TileHashReader<R> {
    fn read_hashes(&self, indexes: &[i64]) -> Result<Vec<Hash>, Error> {
        let bad_math =
            |what: &str| Error::BadMath(format!("tileHashReader {}: {what}", self.tree.n));
        let h = self.reader.height();
        check_height(h)?;
        let tree_n = self.tree.n;
        if !(0..=MAX_TREE_SIZE).contains(&tree_n) {
            return Err(Error::InvalidInputs("TileHashReader"));
        }

        // tile_order[tiles[i]] == i
        let mut tile_order: HashMap<Tile, usize> = HashMap::new();
        let mut tiles: Vec<Tile> = Vec::new();

        // Plan to fetch the tiles needed to recompute the tree hash. If it
        // matches, those tiles are authenticated.
        let stx = sub_tree_index(0, tree_n, Vec::new());
        let mut stx_tile_order = Vec::with_capacity(stx.len()); // stx[i] is in tiles[stx_tile_order[i]]
        for &x in &stx {
            let (tile, _) = tile_for_index_range(h, x)?;
            let tile = tile_parent(tile, 0, tree_n).ok_or_else(|| bad_math("stx tile"))?;
            let j = *tile_order.entry(tile).or_insert_with(|| {
                tiles.push(tile);
                tiles.len() - 1
            });
            stx_tile_order.push(j);
        }

        // Plan to fetch the tiles holding the indexes, plus the parent
        // tiles that authenticate them (usually already planned above).
        let limit = stored_hash_index(0, tree_n);
        let mut index_tile_order = vec![0; indexes.len()]; // indexes[i] is in tiles[index_tile_order[i]]
        for (i, &x) in indexes.iter().enumerate() {
            if x >= limit {
                return Err(Error::IndexNotInTree);
            }
            let (tile, _) = tile_for_index_range(h, x)?;

            // Walk up parent tiles until one is already planned: that one
            // will be authenticated. A tree has at most 64 levels of tiles,
            // so failing to find one by then is a bug (Go would spin).
            let mut k = 0;
            loop {
                if let Some(j) = tile_parent(tile, k, tree_n).and_then(|p| tile_order.get(&p)) {
                    if k == 0 {
                        index_tile_order[i] = *j;
                    }
                    break;
                }
                k += 1;
                if k > 64 {
                    return Err(bad_math("no planned ancestor tile"));
                }
            }

            // Walk back down, planning each child after its parent; this
            // ends with the index's own tile unless it was already planned.
            for k in (0..k).rev() {
                let p = tile_parent(tile, k, tree_n).ok_or_else(|| bad_math("lost parent"))?;
                // Only full tiles have parents; this one has one.
                if p.w != 1 << p.h {
                    return Err(bad_math(&format!("{x} {}", p.path())));
                }
                tile_order.insert(p, tiles.len());
                if k == 0 {
                    index_tile_order[i] = tiles.len();
                }
                tiles.push(p);
            }
        }

        // Fetch all the tile data, and hold the reader to its contract.
        let data = self.reader.read_tiles(&tiles)?;
        if data.len() != tiles.len() {
            return Err(Error::WrongTileCount {
                want: tiles.len(),
                got: data.len(),
            });
        }
        for (tile, d) in tiles.iter().zip(&data) {
            let want = usize::try_from(tile.w)
                .unwrap_or(usize::MAX)
                .saturating_mul(HASH_SIZE);
            if d.len() != want {
                return Err(Error::WrongTileSize {
                    tile: tile.path(),
                    want,
                    got: d.len(),
                });
            }
        }

        // Authenticate the tiles planned for the tree hash: recombining the
        // complete subtrees, right to left, must give the signed hash.
        let mut th = Hash::default();
        for (i, (&x, &j)) in stx.iter().zip(&stx_tile_order).enumerate().rev() {
            let hash = hash_from_tile(&tiles[j], &data[j], x)?;
            th = if i == stx.len() - 1 {
                hash
            } else {
                node_hash(&hash, &th)
            };
        }
        if th != self.tree.hash {
            // At least one of those tiles is wrong, but we cannot tell which.
            return Err(Error::InconsistentTile);
        }

        // Authenticate every remaining (full) tile against its parent's
        // entry for it. Go indexes stx_tile_order[len(stx)-1] and panics on
        // an empty tree; with no stx tiles every tile is "remaining".
        let first = stx_tile_order.last().map_or(0, |j| j + 1);
        for (tile, d) in tiles.iter().zip(&data).skip(first) {
            let p = tile_parent(*tile, 1, tree_n).ok_or_else(|| bad_math("lost parent"))?;
            let &j = tile_order
                .get(&p)
                .ok_or_else(|| bad_math(&format!("lost parent of {}", tile.path())))?;
            let want = hash_from_tile(&p, &data[j], stored_hash_index(p.l * p.h, tile.n))
                .map_err(|e| bad_math(&format!("lost hash of {}: {e}", tile.path())))?;
            if want != tile_hash_from_data(d)? {
                return Err(Error::InconsistentTile);
            }
        }

        // All tiles are authenticated against the signed tree hash.
        self.reader.save_tiles(&tiles, &data);

        indexes
            .iter()
            .zip(&index_tile_order)
            .map(|(&x, &j)| {
                hash_from_tile(&tiles[j], &data[j], x)
                    .map_err(|e| bad_math(&format!("lost hash {x}: {e}")))
            })
            .collect()
    }
}
