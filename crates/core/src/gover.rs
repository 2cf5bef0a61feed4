//! Go toolchain versions (`1.21`, `1.21.3`, `1.22rc1`): a port of Go's
//! `internal/gover` and the parts of `go/version` built on it. Used for the
//! go.mod `go` line, which decides the vendor rules of module zips.

use std::cmp::Ordering;

/// A parsed version: `major[.minor[.patch]][kind[pre]]`, as decimal
/// strings. The default value is Go's zero `Version`, i.e. "invalid".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Version<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// `""`, `"alpha"`, `"beta"` or `"rc"` (any lower-case word parses).
    kind: &'a str,
    pre: &'a str,
}

/// Go `gover.Parse`; `None` where Go returns the zero `Version`.
fn parse(x: &str) -> Option<Version<'_>> {
    let mut v = Version::default();
    let (major, x) = cut_int(x)?;
    v.major = major;
    if x.is_empty() {
        // "1" means "1.0.0".
        v.minor = "0";
        v.patch = "0";
        return Some(v);
    }
    let (minor, x) = cut_int(x.strip_prefix('.')?)?;
    v.minor = minor;
    if x.is_empty() {
        // A missing patch means ".0" before Go 1.21, and "language
        // version, below every 1.N.x release" from 1.21 on.
        if cmp_int(v.minor, "21").is_lt() {
            v.patch = "0";
        }
        return Some(v);
    }
    if let Some(patch) = x.strip_prefix('.') {
        // No pre-release on patch releases.
        let (patch, rest) = cut_int(patch)?;
        v.patch = patch;
        return rest.is_empty().then_some(v);
    }
    let kind_len = x.bytes().take_while(|b| !b.is_ascii_digit()).count();
    if kind_len == 0 || !x[..kind_len].bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let (kind, x) = x.split_at(kind_len);
    v.kind = kind;
    if x.is_empty() {
        return Some(v);
    }
    let (pre, rest) = cut_int(x)?;
    v.pre = pre;
    rest.is_empty().then_some(v)
}

/// Go `cutInt`: a leading decimal number without superfluous zeros.
fn cut_int(x: &str) -> Option<(&str, &str)> {
    let digits = x.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (x.starts_with('0') && digits != 1) {
        return None;
    }
    Some(x.split_at(digits))
}

/// Go `gover.CmpInt`: decimal strings, shorter is smaller.
fn cmp_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// Go `gover.Compare`: malformed versions are equal to each other and
/// below every well-formed one; `1.21 < 1.21rc1 < 1.21.0`.
pub(crate) fn compare(x: &str, y: &str) -> Ordering {
    let vx = parse(x).unwrap_or_default();
    let vy = parse(y).unwrap_or_default();
    cmp_int(vx.major, vy.major)
        .then_with(|| cmp_int(vx.minor, vy.minor))
        .then_with(|| cmp_int(vx.patch, vy.patch))
        .then_with(|| vx.kind.cmp(vy.kind))
        .then_with(|| cmp_int(vx.pre, vy.pre))
}

/// Go `gover.Lang`: the language version (`"1.21.3"` → `"1.21"`); `""` if
/// `x` is malformed.
pub(crate) fn lang(x: &str) -> String {
    let Some(v) = parse(x) else {
        return String::new();
    };
    if v.minor.is_empty() || (v.major == "1" && v.minor == "0") {
        return v.major.to_owned();
    }
    format!("{}.{}", v.major, v.minor)
}

/// Go `go/version`'s `stripGo` for a version written without the `go`
/// prefix: drops a `-custom` suffix.
pub(crate) fn strip_custom(v: &str) -> &str {
    v.split('-').next().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values printed by go 1.27.3's `go/version.Compare("go"+x, "go"+y)`.
    #[test]
    fn test_compare() {
        use Ordering::{Equal, Greater, Less};
        let tests = [
            ("", "", Equal),
            ("x", "x", Equal),
            ("", "x", Equal),
            ("1", "1.1", Less),
            ("1.5", "1.6", Less),
            ("1.5", "1.10", Less),
            ("1.6", "1.6.1", Less),
            ("1.19", "1.19.0", Equal),
            ("1.19rc1", "1.19", Less),
            ("1.20", "1.20.0", Equal),
            ("1.21", "1.21.0", Less),
            ("1.21", "1.21rc1", Less),
            ("1.21rc1", "1.21.0", Less),
            ("1.19", "1.19.1", Less),
            ("1.19rc1", "1.19.1", Less),
            ("1.19rc1", "1.19rc2", Less),
            ("1.19alpha3", "1.19beta2", Less),
            ("1.19beta2", "1.19rc1", Less),
            ("1.1", "1.99999999999999998", Less),
            ("1.99999999999999998", "1.99999999999999999", Less),
            ("1.24", "1.24.0", Less),
            ("1.23.9", "1.24", Less),
            ("1.21.x", "1", Less),
            ("2", "1.99", Greater),
        ];
        for (x, y, want) in tests {
            assert_eq!(compare(x, y), want, "Compare({x:?}, {y:?})");
            assert_eq!(compare(y, x), want.reverse(), "Compare({y:?}, {x:?})");
        }
    }

    #[test]
    fn test_lang() {
        for (x, want) in [
            ("1.2.3", "1.2"),
            ("1.2", "1.2"),
            ("1", "1"),
            ("1.0", "1"),
            ("1.0.5", "1"),
            ("2", "2.0"),
            ("1.21rc2", "1.21"),
            ("1.24.1", "1.24"),
            ("bad", ""),
            ("", ""),
        ] {
            assert_eq!(lang(x), want, "Lang({x:?})");
        }
        assert_eq!(strip_custom("1.21.0-custom"), "1.21.0");
    }
}
