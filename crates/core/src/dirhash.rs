//! The `h1:` hash of go.sum lines and the checksum database: a port of
//! `Hash1` from `golang.org/x/mod/sumdb/dirhash`.
//!
//! `h1:` is base64(SHA-256(summary)), where the summary has one line
//! `"<hex sha256 of content>  <name>\n"` per file, sorted by name bytes.
//! For a module zip the names are the full entry names (including the
//! `path@version/` prefix, and directory entries with empty content); for a
//! go.mod it is the single name `go.mod`.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Errors from hashing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The summary format is line-based, so names cannot contain `\n`.
    #[error("dirhash: filenames with newlines are not supported")]
    NewlineInFileName(String),
}

/// Incremental `h1:` computation for callers that stream file contents and
/// already hold each file's SHA-256 (e.g. while reading a zip).
#[derive(Debug, Clone, Default)]
pub struct Hash1Builder {
    files: Vec<(String, [u8; 32])>,
}

impl Hash1Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file by name and the SHA-256 of its content. Order of calls
    /// does not matter; duplicate names are hashed twice, as in Go.
    pub fn add(&mut self, name: &str, sha256_of_content: [u8; 32]) -> Result<(), HashError> {
        if name.contains('\n') {
            return Err(HashError::NewlineInFileName(name.to_owned()));
        }
        self.files.push((name.to_owned(), sha256_of_content));
        Ok(())
    }

    /// The `h1:...` hash of everything added so far.
    pub fn finish(mut self) -> String {
        // Go sorts only the names (slices.Sort: byte order, which is also
        // Rust's `str` order). Sorting the pairs keeps that order and makes
        // duplicate names independent of call order too. (Go's HashZip would
        // hash the *last* duplicate's content for every copy; a module zip
        // with duplicate names is invalid anyway.)
        self.files.sort();
        let mut summary = Sha256::new();
        for (name, digest) in &self.files {
            summary.update(hex::encode(digest));
            summary.update(b"  ");
            summary.update(name.as_bytes());
            summary.update(b"\n");
        }
        format!(
            "h1:{}",
            base64::engine::general_purpose::STANDARD.encode(summary.finalize())
        )
    }
}

/// `h1:` over in-memory files given as `(name, content)`.
pub fn hash1(files: &[(&str, &[u8])]) -> Result<String, HashError> {
    let mut builder = Hash1Builder::new();
    for (name, content) in files {
        builder.add(name, Sha256::digest(content).into())?;
    }
    Ok(builder.finish())
}

/// The go.sum `/go.mod` hash: `h1:` over the single file `go.mod`.
pub fn hash_go_mod(contents: &[u8]) -> String {
    let mut builder = Hash1Builder::new();
    // "go.mod" has no newline, so this cannot fail.
    let _ = builder.add("go.mod", Sha256::digest(contents).into());
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> String {
        hex::encode(Sha256::digest(s.as_bytes()))
    }

    fn htop(k: &str, s: &str) -> String {
        format!(
            "{k}:{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        )
    }

    /// Ported from golang.org/x/mod/sumdb/dirhash/hash_test.go (TestHash1).
    #[test]
    fn test_hash1() {
        let want = htop(
            "h1",
            &format!(
                "{}  {}\n{}  {}\n",
                h("data for abc"),
                "abc",
                h("data for xyz"),
                "xyz"
            ),
        );
        let files: [(&str, &[u8]); 2] = [("xyz", b"data for xyz"), ("abc", b"data for abc")];
        assert_eq!(hash1(&files).as_deref(), Ok(want.as_str()));

        let bad: [(&str, &[u8]); 2] = [("xyz", b"data for xyz"), ("a\nbc", b"data for a\nbc")];
        assert_eq!(
            hash1(&bad),
            Err(HashError::NewlineInFileName("a\nbc".to_owned()))
        );
    }

    /// TestHashZip / TestHashDir use the prefixed names.
    #[test]
    fn test_hash_prefixed_names() {
        let want = htop(
            "h1",
            &format!(
                "{}  {}\n{}  {}\n",
                h("data for abc"),
                "prefix/abc",
                h("data for xyz"),
                "prefix/xyz"
            ),
        );
        let files: [(&str, &[u8]); 2] = [
            ("prefix/xyz", b"data for xyz"),
            ("prefix/abc", b"data for abc"),
        ];
        assert_eq!(hash1(&files).unwrap(), want);
    }

    #[test]
    fn go_mod_vectors() {
        // `emptyGoModHash` in cmd/go/internal/modfetch/fetch.go.
        assert_eq!(
            hash_go_mod(b""),
            "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY="
        );
        assert_eq!(
            hash_go_mod(b"module example.com/m\n"),
            "h1:flS2VctbRrTv+sBE+VKgxx6hlkMGPVz9MGOmzMYFg3k="
        );
        assert_eq!(
            hash_go_mod(b"module example.com/Hello\n\ngo 1.20\n"),
            "h1:B0dsuQRzAmZlusHPxbj1P38tdQb0f8UdcRGpD+XqGpQ="
        );
    }

    /// The three-file zip of spec §4, verified against go 1.27.3.
    #[test]
    fn zip_vectors() {
        let go_mod: &[u8] = b"module example.com/Hello\n\ngo 1.20\n";
        let hello: &[u8] = b"package hello\n\nfunc Hi() string { return \"hi\" }\n";
        let x: &[u8] = b"x\n";
        let mut files = vec![
            ("example.com/Hello@v1.0.0/go.mod", go_mod),
            ("example.com/Hello@v1.0.0/hello.go", hello),
            ("example.com/Hello@v1.0.0/sub/x.txt", x),
        ];
        assert_eq!(
            hash1(&files).unwrap(),
            "h1:sL0wnfAZ4jI5UKdL9Xlbqm3psQGgCgTxpAKb+BLQEQk="
        );
        files.push(("example.com/Hello@v1.0.0/sub/", b""));
        assert_eq!(
            hash1(&files).unwrap(),
            "h1:W58JY4MhOmPBvFylV71BjX5MDrlEF4x25kw1uF5v2ME="
        );
        // Order of input never matters.
        files.reverse();
        assert_eq!(
            hash1(&files).unwrap(),
            "h1:W58JY4MhOmPBvFylV71BjX5MDrlEF4x25kw1uF5v2ME="
        );
    }

    /// `emptyHash` of x/mod/zip's zip_test.go: a zip with no files at all.
    #[test]
    fn empty_zip() {
        assert_eq!(
            hash1(&[]).unwrap(),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn builder_matches_hash1() {
        let mut b = Hash1Builder::new();
        b.add("b", Sha256::digest(b"2").into()).unwrap();
        b.add("a", Sha256::digest(b"1").into()).unwrap();
        let files: [(&str, &[u8]); 2] = [("a", b"1"), ("b", b"2")];
        assert_eq!(b.finish(), hash1(&files).unwrap());
    }
}
