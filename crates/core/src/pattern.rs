//! Module path patterns as used by GOPRIVATE, GONOPROXY, GONOSUMDB and
//! GOINSECURE: a port of `module.MatchPrefixPatterns` and of Go's
//! `path.Match` glob syntax.
//!
//! A glob with N slashes is matched against the first N+1 elements of the
//! module path, so `*.corp.example.com` matches `git.corp.example.com/x/y`
//! and `rsc.io/private` matches `rsc.io/private/quux` (not
//! `rsc.io/privateer`). Matching is case-sensitive.

use crate::gounicode::decode_rune;

/// `path.Match`'s only error: the pattern is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Go `module.MatchPrefixPatterns`: whether any path prefix of `target`
/// matches one of the comma-separated `globs`. Empty and malformed globs
/// are ignored; a trailing `/` on a glob is ignored.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    globs.split(',').any(|glob| match_glob(glob, target))
}

/// One glob of a [`match_prefix_patterns`] list, with the same prefix
/// semantics (a `,` in `glob` is an ordinary character here).
/// Empty or malformed globs match nothing.
pub fn match_glob(glob: &str, target: &str) -> bool {
    let glob = glob.strip_suffix('/').unwrap_or(glob);
    if glob.is_empty() {
        return false;
    }
    // A glob with N+1 path elements (N slashes) is matched against the
    // first N+1 elements of target, which end just before its N+1'th slash.
    let glob_slashes = glob.matches('/').count();
    let mut slashes = target.match_indices('/').map(|(i, _)| i);
    let prefix = match slashes.nth(glob_slashes) {
        Some(end) => &target[..end],
        None if target.matches('/').count() >= glob_slashes => target,
        None => return false, // not enough prefix elements
    };
    matches(glob, prefix).unwrap_or(false)
}

/// Whether `glob` is well-formed `path.Match` syntax (it may still match
/// nothing). An empty glob is valid syntax, but [`match_glob`] ignores it.
pub fn is_valid_glob(glob: &str) -> bool {
    // Go's Match checks the whole pattern's syntax even when the name does
    // not match, so matching against "" validates every part of it.
    matches(glob, "").is_ok()
}

/// Why a pattern list given in configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternListError {
    #[error("empty pattern list")]
    EmptyList,
    #[error("empty pattern in {list:?}")]
    EmptyPattern { list: String, glob: String },
    /// `"a, b"` is a classic mistake: Go would look for a path starting
    /// with `" b"`, which no module path can.
    #[error("pattern {0:?} has surrounding whitespace")]
    Whitespace(String),
    #[error("malformed pattern {0:?}")]
    Malformed(String),
}

impl PatternListError {
    /// The glob at fault.
    pub fn glob(&self) -> &str {
        match self {
            PatternListError::EmptyList => "",
            PatternListError::EmptyPattern { glob, .. } => glob,
            PatternListError::Whitespace(glob) | PatternListError::Malformed(glob) => glob,
        }
    }

    /// What is wrong with [`PatternListError::glob`], in a few words.
    pub fn reason(&self) -> &'static str {
        match self {
            PatternListError::EmptyList | PatternListError::EmptyPattern { .. } => "empty pattern",
            PatternListError::Whitespace(_) => "surrounding whitespace",
            PatternListError::Malformed(_) => "malformed glob",
        }
    }
}

/// Splits a comma-separated GOPRIVATE-style list into its globs and checks
/// each: non-empty, without surrounding whitespace, well-formed
/// `path.Match` syntax. Go silently ignores bad globs in GOPRIVATE; in a
/// server's configuration (routing rules, GONOSUMDB, access patterns) a
/// typo would silently route, verify or grant the wrong modules, so here it
/// is an error. This is the one validator every such setting uses.
pub fn parse_pattern_list(list: &str) -> Result<Vec<&str>, PatternListError> {
    if list.is_empty() {
        return Err(PatternListError::EmptyList);
    }
    list.split(',')
        .map(|glob| {
            // match_glob ignores one trailing slash, so validate without it.
            let trimmed = glob.strip_suffix('/').unwrap_or(glob);
            if trimmed.is_empty() {
                Err(PatternListError::EmptyPattern {
                    list: list.to_owned(),
                    glob: glob.to_owned(),
                })
            } else if glob.trim() != glob {
                Err(PatternListError::Whitespace(glob.to_owned()))
            } else if !is_valid_glob(trimmed) {
                Err(PatternListError::Malformed(glob.to_owned()))
            } else {
                Ok(glob)
            }
        })
        .collect()
}

/// Go `path.Match`: whether `name` matches the shell pattern `pattern`.
///
/// * `*` matches any run of non-`/` characters, `?` one non-`/` character;
/// * `[...]` / `[^...]` are character classes with ranges `a-z`;
/// * `\c` matches `c` literally.
///
/// Like Go it works on bytes, decoding runes only for `?` and classes.
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing * matches rest of string unless it has a /.
            return Ok(!name.contains(&b'/'));
        }
        // Look for a match at the current position.
        let attempt = match_chunk(chunk, name);
        if let Ok(Some(t)) = attempt {
            // If this is the last chunk, it must exhaust the name.
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        attempt?;
        if star {
            // Look for a match skipping i+1 bytes; a star cannot skip '/'.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    // If this is the last chunk, it must exhaust the name.
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Before returning false, check the rest of the pattern's syntax.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go `scanChunk`: the next run of stars, the literal chunk after it (up to
/// the next star outside brackets), and the rest of the pattern.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pattern {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // Errors are reported by match_chunk.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => return (star, &pattern[..i], &pattern[i..]),
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Go `matchChunk`: whether `chunk` (no stars) matches the beginning of `s`;
/// `Ok(Some(rest))` with the unmatched remainder if so. After a mismatch it
/// keeps scanning the chunk, to report malformed syntax.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        failed = failed || s.is_empty();
        match c {
            b'[' => {
                let mut r = '\0';
                if !failed {
                    let (decoded, n) = decode_rune(s);
                    r = decoded;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    matched = matched || (lo <= r && r <= hi);
                    ranges += 1;
                }
                failed = failed || matched == negated;
            }
            b'?' => {
                if !failed {
                    failed = s[0] == b'/';
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    failed = chunk[0] != s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Go `getEsc`: one possibly escaped rune of a character class. It is an
/// error for the class to end right after it.
fn get_esc(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    let mut chunk = match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(_) => chunk,
    };
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == crate::gounicode::RUNE_ERROR && n == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ported from golang.org/x/mod/module/module_test.go (TestMatchPrefixPatterns).
    #[test]
    fn test_match_prefix_patterns() {
        let tests = [
            ("*/quote", "rsc.io/quote", true),
            ("*/quo", "rsc.io/quote", false),
            ("*/quo??", "rsc.io/quote", true),
            ("*/quo*", "rsc.io/quote", true),
            ("*quo*", "rsc.io/quote", false),
            ("rsc.io", "rsc.io/quote", true),
            ("*.io", "rsc.io/quote", true),
            // The fetched table says false, from before trailing slashes were
            // trimmed; vendored 1.27.3 trims them and `go` answers true.
            ("rsc.io/", "rsc.io/quote", true),
            ("rsc", "rsc.io/quote", false),
            ("rsc*", "rsc.io/quote", true),
            ("rsc.io", "rsc.io/quote/v3", true),
            ("*/quote", "rsc.io/quote/v3", true),
            ("*/quote/*", "rsc.io/quote/v3", true),
            ("*/v3", "rsc.io/quote/v3", false),
            ("*/*/v3", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote/v3", true),
            ("*/*/*", "rsc.io/quote", false),
            ("*/*/*,,", "rsc.io/quote", false),
            ("*/*/*,,*/quote", "rsc.io/quote", true),
            (",,*/quote", "rsc.io/quote", true),
        ];
        for (globs, target, want) in tests {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "MatchPrefixPatterns({globs:?}, {target:?})"
            );
        }
    }

    #[test]
    fn spec_examples() {
        let globs = "*.corp.example.com,rsc.io/private";
        assert!(match_prefix_patterns(globs, "git.corp.example.com/x"));
        assert!(match_prefix_patterns(globs, "rsc.io/private/quux"));
        assert!(!match_prefix_patterns(globs, "rsc.io/privateer"));
        assert!(!match_prefix_patterns(globs, "RSC.io/private"));
        assert!(!match_prefix_patterns("", "rsc.io"));
        assert!(!match_prefix_patterns("[", "rsc.io")); // malformed: ignored
        assert!(match_prefix_patterns("[,rsc.io", "rsc.io"));
    }

    /// Ported from Go's src/path/match_test.go (matchTests).
    #[test]
    fn test_path_match() {
        let err = Err(BadPattern);
        let tests: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", err),
            ("[-]", "-", err),
            ("[x-]", "x", err),
            ("[x-]", "-", err),
            ("[x-]", "z", err),
            ("[-x]", "x", err),
            ("[-x]", "-", err),
            ("[-x]", "a", err),
            ("\\", "a", err),
            ("[a-b-c]", "a", err),
            ("[", "a", err),
            ("[^", "a", err),
            ("[^bc", "a", err),
            ("a[", "a", err),
            ("a[", "ab", err),
            ("a[", "x", err),
            ("a/b[", "x", err),
            ("*x", "xxx", Ok(true)),
        ];
        for &(pattern, name, want) in tests {
            assert_eq!(matches(pattern, name), want, "Match({pattern:?}, {name:?})");
        }
    }

    #[test]
    fn glob_validity() {
        for ok in ["", "*", "*.corp.example.com", "a/[b-c]/\\*", "rsc.io/"] {
            assert!(is_valid_glob(ok), "{ok:?}");
        }
        for bad in ["[", "a[", "\\", "[]a]", "x/[^", "*/[-x]"] {
            assert!(!is_valid_glob(bad), "{bad:?}");
        }
    }
}
