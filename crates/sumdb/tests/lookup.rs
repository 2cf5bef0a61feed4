//! The lookup answer format and the client-side checks, modelled on
//! golang.org/x/mod/sumdb/client_test.go.

mod common;

use common::{build_log, tree_of, MemTiles};
use modvault_sumdb::lookup::{
    authenticate_record, check_trees, format_lookup_response, go_sum_lines, is_valid_lookup_key,
    module_lines, open_tree_note, parse_lookup_response, record_has_line, record_text,
    verify_lookup, Error, ModuleLines,
};
use modvault_sumdb::note::{self, Signer, Verifier};
use modvault_sumdb::tlog::{self, check_tree, format_tree, Hash, Tile, TileReader, Tree};

// The keys of Go's client_test.go.
const TEST_VKEY: &str =
    "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";
const TEST_SKEY: &str =
    "PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk";

const QUOTE: &str = "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\nrsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\nrsc.io/quote v1.5.2 h2:xyzzy\n";
const TEXT: &str = "golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c h1:qgOY6WgZOaTkIIMiVjBQcw93ERBE4m30iBm00nkL0i8=\ngolang.org/x/text v0.0.0-20170915032832-14c0d48ead0c/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n";
const SAMPLER: &str = "rsc.io/sampler v1.3.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\nrsc.io/sampler v1.3.0/go.mod h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA=\n";
const UPPER: &str = "rsc.io/Quote v1.5.2 h1:uppercase!=\n";

fn records() -> Vec<&'static str> {
    vec![QUOTE, TEXT, SAMPLER, UPPER]
}

fn signer() -> Signer {
    Signer::new(TEST_SKEY).unwrap()
}

fn verifiers() -> [Verifier; 1] {
    [Verifier::new(TEST_VKEY).unwrap()]
}

fn signed_tree(tree: &Tree) -> Vec<u8> {
    note::sign(&format_tree(tree), &signer()).unwrap()
}

/// The lookup answer for record `id`, with the tree of the first `size`
/// records, as Go's server writes it.
fn answer(hashes: &[Hash], records: &[&str], id: usize, size: i64) -> Vec<u8> {
    format_lookup_response(
        id as i64,
        records[id].as_bytes(),
        &signed_tree(&tree_of(hashes, size)),
    )
    .unwrap()
}

#[test]
fn record_lines() {
    assert_eq!(
        record_text(
            "rsc.io/sampler",
            "v1.3.0",
            "h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=",
            "h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA="
        ),
        SAMPLER
    );
    // Client.Lookup returns every line for the version, h2 included.
    assert_eq!(
        go_sum_lines(QUOTE, "rsc.io/quote", "v1.5.2"),
        [
            "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=",
            "rsc.io/quote v1.5.2 h2:xyzzy"
        ]
    );
    assert_eq!(
        go_sum_lines(SAMPLER, "rsc.io/sampler", "v1.3.0/go.mod"),
        ["rsc.io/sampler v1.3.0/go.mod h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA="]
    );
    assert!(go_sum_lines(SAMPLER, "rsc.io/sampler", "v1.3").is_empty());
    assert!(
        go_sum_lines(UPPER, "rsc.io/quote", "v1.5.2").is_empty(),
        "paths are case-sensitive"
    );
    assert_eq!(
        module_lines(SAMPLER, "rsc.io/sampler", "v1.3.0"),
        ModuleLines {
            zip: Some("rsc.io/sampler v1.3.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4="),
            go_mod: Some(
                "rsc.io/sampler v1.3.0/go.mod h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA="
            ),
        }
    );
    assert_eq!(
        module_lines(SAMPLER, "rsc.io/sampler", "v1.3.1"),
        ModuleLines::default()
    );
    assert!(record_has_line(
        SAMPLER,
        "rsc.io/sampler",
        "v1.3.0",
        "h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4="
    ));
    assert!(!record_has_line(
        SAMPLER,
        "rsc.io/sampler",
        "v1.3.0",
        "h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW5="
    ));
    assert!(!record_has_line(
        SAMPLER,
        "rsc.io/sampler",
        "v1.3.0",
        "h1:T1hPZKmBbMNahiBKFy5HrXp6adAjACjK9JXDnKaTXpA="
    ));
}

#[test]
fn response_round_trip() {
    let note = signed_tree(&Tree {
        n: 7,
        hash: Hash::default(),
    });
    let msg = format_lookup_response(5, SAMPLER.as_bytes(), &note).unwrap();
    assert!(msg.starts_with(format!("5\n{SAMPLER}\ngo.sum database tree\n7\n").as_bytes()));
    let r = parse_lookup_response(&msg).unwrap();
    assert_eq!((r.id, r.text, r.note), (5, SAMPLER, &note[..]));

    assert!(format_lookup_response(5, b"no newline", &note).is_err());
    assert!(format_lookup_response(5, b"a\n\nb\n", &note).is_err());
    assert!(parse_lookup_response(b"5\nno blank line\n").is_err());
    assert!(parse_lookup_response(b"five\nx\n\n").is_err());
}

#[test]
fn lookups_verify() {
    let records = records();
    let hashes = build_log(&records);
    for h in [2, 8] {
        for size in 1..=records.len() {
            for id in 0..size {
                let msg = answer(&hashes, &records, id, size as i64);
                let tiles = MemTiles::new(h, &hashes);
                let v = verify_lookup(&msg, &verifiers(), &tiles).unwrap();
                assert_eq!(
                    (v.id, v.text, v.tree.n),
                    (id as i64, records[id], size as i64)
                );
                assert_eq!(v.note.sigs[0].name, "localhost.localdev/sumdb");
                assert!(tiles.saved.get() > 0);
            }
        }
    }
}

#[test]
fn unauthenticated_lines_in_the_note_are_ignored() {
    // Go's TestRejectUnauthenticatedLines: lines appended to the signed
    // tree text are not record lines.
    let mut records = records();
    records.push("golang.org/x/good v1.0.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\n");
    let hashes = build_log(&records);
    let tree = tree_of(&hashes, records.len() as i64);
    let text = format!(
        "{}golang.org/x/bad v1.0.0 h1:7uVkIFmeBqHfdjD+gZwtXXI+RODJ2Wc4O7MPEh/QiW4=\n",
        format_tree(&tree)
    );
    let note = note::sign(&text, &signer()).unwrap();
    let msg = format_lookup_response(4, records[4].as_bytes(), &note).unwrap();
    let v = verify_lookup(&msg, &verifiers(), &MemTiles::new(2, &hashes)).unwrap();
    assert!(go_sum_lines(v.text, "golang.org/x/bad", "v1.0.0").is_empty());
    assert_eq!(go_sum_lines(v.text, "golang.org/x/good", "v1.0.0").len(), 1);
}

#[test]
fn bad_answers_are_rejected() {
    let records = records();
    let hashes = build_log(&records);
    let tiles = MemTiles::new(2, &hashes);
    let note = signed_tree(&tree_of(&hashes, 4));

    // A record that is not the log's record at that id.
    let msg = format_lookup_response(1, SAMPLER.as_bytes(), &note).unwrap();
    assert!(matches!(
        verify_lookup(&msg, &verifiers(), &tiles),
        Err(Error::RecordMismatch)
    ));
    // Ids outside the signed tree, including the negative ids that Go's
    // ParseRecord accepts (and Go's checkRecord maps to record 0).
    for id in [4, 100, -1] {
        let msg = format_lookup_response(id, QUOTE.as_bytes(), &note).unwrap();
        let err = verify_lookup(&msg, &verifiers(), &tiles).unwrap_err();
        assert!(matches!(err, Error::RecordNotInTree { .. }), "{id}: {err}");
    }
    assert_eq!(
        authenticate_record(&tree_of(&hashes, 4), 7, QUOTE.as_bytes(), &tiles)
            .unwrap_err()
            .to_string(),
        "cannot validate record 7 in tree of size 4"
    );
    // A note signed by someone else.
    let (other, _) = note::generate_key("localhost.localdev/sumdb", [9; 32]);
    let forged = note::sign(
        &format_tree(&tree_of(&hashes, 4)),
        &Signer::new(&other).unwrap(),
    )
    .unwrap();
    let msg = format_lookup_response(0, QUOTE.as_bytes(), &forged).unwrap();
    let err = verify_lookup(&msg, &verifiers(), &tiles).unwrap_err();
    assert!(
        matches!(err, Error::Note(note::Error::UnverifiedNote(_))),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "reading tree note: note has no verifiable signatures"
    );
    // A signed note whose text is not a tree.
    let msg = format_lookup_response(
        0,
        QUOTE.as_bytes(),
        &note::sign("hello\n", &signer()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verify_lookup(&msg, &verifiers(), &tiles)
            .unwrap_err()
            .to_string(),
        "reading tree: malformed tree note"
    );
}

/// Serves tiles with every bit of the data flipped (TestClientBadTiles).
struct FlippedTiles<'a>(MemTiles<'a>);

impl TileReader for FlippedTiles<'_> {
    fn height(&self) -> i64 {
        self.0.height()
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        let mut data = self.0.read_tiles(tiles)?;
        data.iter_mut().flatten().for_each(|b| *b ^= 0x80);
        Ok(data)
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {
        panic!("bad tiles saved");
    }
}

#[test]
fn bad_tiles_are_rejected() {
    let records = records();
    let hashes = build_log(&records);
    let msg = answer(&hashes, &records, 2, 3);
    let err =
        verify_lookup(&msg, &verifiers(), &FlippedTiles(MemTiles::new(2, &hashes))).unwrap_err();
    assert_eq!(err.to_string(), "downloaded inconsistent tile");

    // A signed tree with the wrong hash looks like bad tiles, too.
    let tree = Tree {
        n: 1,
        hash: Hash::default(),
    };
    let msg = format_lookup_response(0, QUOTE.as_bytes(), &signed_tree(&tree)).unwrap();
    let err = verify_lookup(&msg, &verifiers(), &MemTiles::new(2, &hashes)).unwrap_err();
    assert_eq!(err.to_string(), "downloaded inconsistent tile");
}

#[test]
fn trees_on_one_timeline_are_consistent() {
    let records = records();
    let hashes = build_log(&records);
    let tiles = MemTiles::new(2, &hashes);
    for older in 1..=4 {
        for newer in older..=4 {
            check_trees(&tree_of(&hashes, older), &tree_of(&hashes, newer), &tiles).unwrap();
        }
    }
    let (note, tree) = open_tree_note(&signed_tree(&tree_of(&hashes, 3)), &verifiers()).unwrap();
    assert_eq!(tree, tree_of(&hashes, 3));
    assert_eq!(note.text, format_tree(&tree));
}

#[test]
fn forked_logs_are_detected_with_evidence() {
    // Go's TestClientFork: two logs share three records, then diverge.
    let base = records()[..3].to_vec();
    let pkg = |v: &str| format!("rsc.io/pkg1 {v} h1:hash!=\n");
    let (a, b) = (pkg("v1.5.2"), pkg("v1.5.3"));
    let (c, d) = (pkg("v1.5.4"), pkg("v1.5.4"));
    let log1: Vec<&str> = base
        .iter()
        .copied()
        .chain([a.as_str(), c.as_str()])
        .collect();
    let log2: Vec<&str> = base
        .iter()
        .copied()
        .chain([b.as_str(), d.as_str()])
        .collect();
    let (h1, h2) = (build_log(&log1), build_log(&log2));
    let older = tree_of(&h1, 4);
    let newer = tree_of(&h2, 5);

    let err = check_trees(&older, &newer, &MemTiles::new(2, &h2)).unwrap_err();
    let Error::Fork(fork) = &err else {
        panic!("want a fork, got {err}")
    };
    assert_eq!((fork.older, fork.newer), (older, newer));
    assert_eq!(fork.computed, tree_of(&h2, 4).hash);
    assert_ne!(fork.computed, older.hash);
    // The evidence holds up on its own: newer really contains a tree of
    // size 4 whose hash differs from the signed older one.
    let proof = fork.proof.as_ref().unwrap();
    check_tree(proof, newer.n, newer.hash, older.n, fork.computed).unwrap();
    assert!(check_tree(proof, newer.n, newer.hash, older.n, older.hash).is_err());
    assert_eq!(
        err.to_string(),
        "go.sum database server misbehavior detected: tree#4 is not a prefix of tree#5"
    );

    // Same size, different hash: also a fork. Read failures are reported
    // as such, in Go's words.
    assert!(matches!(
        check_trees(&tree_of(&h1, 5), &newer, &MemTiles::new(2, &h2)),
        Err(Error::Fork(_))
    ));
    let err = check_trees(&older, &newer, &FlippedTiles(MemTiles::new(2, &h2))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checking tree#4 against tree#5: downloaded inconsistent tile"
    );
    let err = check_trees(&newer, &newer, &FlippedTiles(MemTiles::new(2, &h2))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checking tree#5: downloaded inconsistent tile"
    );
}

#[test]
fn lookup_keys() {
    for ok in [
        "rsc.io/quote@v1.5.2",
        "github.com/!azure/go-autorest@v14.2.0+incompatible",
        "example.com/m@v0.0.0-20170915032832-14c0d48ead0c",
        "example.com/m@v1.2.3-pre+build",
        "x@v1.2.3-",
        "x y@v1.2.3",
    ] {
        assert!(is_valid_lookup_key(ok), "{ok}");
    }
    for bad in [
        "",
        "@v1.2.3",
        "rsc.io/quote",
        "rsc.io/quote@",
        "rsc.io/quote@1.5.2",
        "rsc.io/quote@v1.5",
        "rsc.io/quote@v1.5.2.3",
        "rsc.io/quote@v1.5.2+build",
        "rsc.io/quote@v1.5.2@v1.5.2",
        "a@b@v1.5.2",
        "rsc.io/quote@v1.5.x",
        "rsc.io/quote@V1.5.2",
        "rsc.io/quote@v1.5.2+incompatible+incompatible",
        "rsc.io/quote@v١.5.2",
    ] {
        assert!(!is_valid_lookup_key(bad), "{bad}");
    }
}
