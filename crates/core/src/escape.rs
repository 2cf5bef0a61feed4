//! The case-encoding of module paths and versions used in proxy URLs and in
//! the module cache: every ASCII upper-case letter `X` becomes `!x`.
//! A port of `EscapePath`, `EscapeVersion`, `UnescapePath` and
//! `UnescapeVersion` from `golang.org/x/mod/module`.

use crate::path::{
    check_elem, check_path, InvalidVersionError, PathError, PathKind, VersionReason,
};

/// Go `module.EscapePath`: the escaped form of a valid module path
/// (`github.com/Azure/x` → `github.com/!azure/x`). Fails if `path` does not
/// pass [`check_path`].
pub fn escape_path(path: &str) -> Result<String, PathError> {
    check_path(path)?;
    // A valid module path is ASCII without '!', so escaping cannot fail.
    Ok(escape_string(path))
}

/// Go `module.EscapeVersion`: the escaped form of a version, which need not
/// be semver but must be a valid file-name element without `!`.
pub fn escape_version(v: &str) -> Result<String, PathError> {
    if check_elem(v, PathKind::File).is_err() || v.contains('!') {
        return Err(InvalidVersionError {
            version: v.to_owned(),
            reason: VersionReason::Disallowed,
        }
        .into());
    }
    if !v.is_ascii() {
        // File-name elements may hold Unicode letters, which the escaping
        // cannot represent; Go reports this from escapeString.
        return Err(PathError::EscapeInconsistency);
    }
    Ok(escape_string(v))
}

/// Go `escapeString` for input already known to be ASCII without `!`.
fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Go `module.UnescapePath`: the module path for an escaped path. Fails if
/// the escaping is malformed (a bare upper-case letter, `!` not followed by
/// `a`-`z`, non-ASCII) or the result is not a valid module path.
pub fn unescape_path(escaped: &str) -> Result<String, PathError> {
    let invalid = |cause| PathError::InvalidEscapedPath {
        escaped: escaped.to_owned(),
        cause,
    };
    let path = unescape_string(escaped).ok_or_else(|| invalid(None))?;
    check_path(&path).map_err(|e| invalid(Some(Box::new(e))))?;
    Ok(path)
}

/// Go `module.UnescapeVersion`: the version for an escaped version. The
/// result must be a valid file-name element.
pub fn unescape_version(escaped: &str) -> Result<String, PathError> {
    let v = unescape_string(escaped).ok_or_else(|| PathError::InvalidEscapedVersion {
        version: escaped.to_owned(),
        cause: None,
    })?;
    if let Err(reason) = check_elem(&v, PathKind::File) {
        return Err(PathError::InvalidEscapedVersion {
            version: v,
            cause: Some(reason),
        });
    }
    Ok(v)
}

/// Go `unescapeString`: reverses `!x` → `X`; `None` on malformed input.
fn unescape_string(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return None;
        }
        if bang {
            bang = false;
            if !c.is_ascii_lowercase() {
                return None;
            }
            out.push(c.to_ascii_uppercase());
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return None;
        } else {
            out.push(c);
        }
    }
    (!bang).then_some(out)
}

#[cfg(test)]
mod tests {
    //! Ported from golang.org/x/mod/module/module_test.go.
    use super::*;
    use crate::path::tests_support::CHECK_PATH_TESTS;

    /// Go's `escapeTests`: (path, escaped); empty escaped means unchanged.
    const ESCAPE_TESTS: &[(&str, &str)] = &[
        // Go's table has a '+' after ".-"; 1.27.3's CheckPath rejects '+' in
        // module paths (code wins), so it is dropped here.
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", ""),
        (
            "github.com/GoogleCloudPlatform/omega",
            "github.com/!google!cloud!platform/omega",
        ),
    ];

    const BAD_UNESCAPE: &[&str] = &[
        "github.com/GoogleCloudPlatform/omega",
        "github.com/!google!cloud!platform!/omega",
        "github.com/!0google!cloud!platform/omega",
        "github.com/!_google!cloud!platform/omega",
        "github.com/!!google!cloud!platform/omega",
        "",
    ];

    #[test]
    fn test_escape_path() {
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(
                    escape_path(path).is_err(),
                    "EscapePath({path:?}) succeeded, want error"
                );
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let want = if esc.is_empty() { path } else { esc };
            assert_eq!(
                escape_path(path).as_deref(),
                Ok(want),
                "EscapePath({path:?})"
            );
        }
    }

    #[test]
    fn test_unescape_path() {
        for &bad in BAD_UNESCAPE {
            assert!(
                unescape_path(bad).is_err(),
                "UnescapePath({bad:?}) succeeded, want error"
            );
        }
        for &(path, ok, ..) in CHECK_PATH_TESTS {
            if !ok {
                assert!(
                    unescape_path(path).is_err(),
                    "UnescapePath({path:?}) succeeded, want error"
                );
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let esc = if esc.is_empty() { path } else { esc };
            assert_eq!(
                unescape_path(esc).as_deref(),
                Ok(path),
                "UnescapePath({esc:?})"
            );
        }
    }

    #[test]
    fn versions() {
        assert_eq!(escape_version("v1.2.3").as_deref(), Ok("v1.2.3"));
        assert_eq!(escape_version("Master").as_deref(), Ok("!master"));
        assert_eq!(
            escape_version("v2.0.0+incompatible").as_deref(),
            Ok("v2.0.0+incompatible")
        );
        assert_eq!(
            escape_version("é").unwrap_err().to_string(),
            "internal error: inconsistency in EscapePath"
        );
        for bad in ["", "a/b", "x!y", "..", "v1.", "aux", "a:b", "é"] {
            assert!(escape_version(bad).is_err(), "EscapeVersion({bad:?})");
        }
        assert_eq!(unescape_version("!master").as_deref(), Ok("Master"));
        for bad in ["Master", "!M", "x!", "a/b", "", "v1."] {
            assert!(unescape_version(bad).is_err(), "UnescapeVersion({bad:?})");
        }
    }

    #[test]
    fn messages_read_like_go() {
        assert_eq!(
            escape_version("a/b").unwrap_err().to_string(),
            r#"version "a/b" invalid: disallowed version string"#
        );
        assert_eq!(
            unescape_path("x.y/Z").unwrap_err().to_string(),
            r#"invalid escaped module path "x.y/Z""#
        );
        assert_eq!(
            unescape_path("x.y/z/v1").unwrap_err().to_string(),
            r#"invalid escaped module path "x.y/z/v1": malformed module path "x.y/z/v1": invalid version"#
        );
        assert_eq!(
            unescape_version("!!").unwrap_err().to_string(),
            r#"invalid escaped version "!!""#
        );
        assert_eq!(
            unescape_version("!aux").unwrap_err().to_string(),
            r#"invalid escaped version "Aux": "Aux" disallowed as path element component on Windows"#
        );
    }
}
