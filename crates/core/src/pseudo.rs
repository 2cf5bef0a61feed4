//! Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5` and friends): a
//! port of `golang.org/x/mod/module/pseudo.go`.
//!
//! The forms are
//!
//! 1. `vX.0.0-yyyymmddhhmmss-abcdef123456` (no earlier tag),
//! 2. `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456` (after tag `vX.Y.Z`),
//! 3. `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456` (after tag `vX.Y.Z-pre`),
//!
//! each optionally followed by `+incompatible`. Times are UTC; callers
//! format them as `yyyymmddhhmmss` (Go layout `20060102150405`), since this
//! crate has no clock or calendar type.

use crate::quote::quote;
use crate::semver;

/// Why a string is not a usable pseudo-version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PseudoReason {
    /// Not a pseudo-version at all (Go's `errPseudoSyntax`).
    #[error("syntax error")]
    Syntax,
    /// The 14-digit timestamp is not a real date and time.
    #[error("malformed time {}", quote(.0))]
    MalformedTime(String),
    /// `vX.0.0-T-R+incompatible`: no base tag, yet incompatible.
    #[error("lacks base version, but has build metadata {}", quote(.0))]
    BuildWithoutBase(String),
    /// `vX.Y.0-0.T-R`: the base would be `vX.Y.-1`.
    #[error("version before {0} would have negative patch number")]
    NegativePatch(String),
}

/// Go's `InvalidVersionError` with `Pseudo: true`:
/// `pseudo-version "v1.0.0-0.20060102150405-hash" invalid: version before v1.0.0 would have negative patch number`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pseudo-version {} invalid: {reason}", quote(.version))]
pub struct PseudoError {
    pub version: String,
    pub reason: PseudoReason,
}

/// Go `module.IsPseudoVersion`.
pub fn is_pseudo_version(v: &str) -> bool {
    v.matches('-').count() >= 2 && semver::is_valid(v) && matches_pseudo_syntax(v.as_bytes())
}

/// Go `module.ZeroPseudoVersion`: the placeholder pseudo-version with a
/// zero base, time (Go's zero `time.Time`, 0001-01-01) and revision.
pub fn zero_pseudo_version(major: &str) -> String {
    pseudo_version(major, "", "00010101000000", "000000000000")
}

/// Go `module.IsZeroPseudoVersion`.
pub fn is_zero_pseudo_version(v: &str) -> bool {
    v == zero_pseudo_version(&semver::major(v))
}

/// Go `module.PseudoVersion`: the pseudo-version for revision `rev` made at
/// `time_yyyymmddhhmmss` (UTC), given the major version (`""` means `v0`)
/// and the most recent older tag (`""` if none).
pub fn pseudo_version(major: &str, older: &str, time_yyyymmddhhmmss: &str, rev: &str) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{time_yyyymmddhhmmss}-{rev}");
    let build = semver::build(older);
    let older = semver::canonical(older);
    if older.is_empty() {
        return format!("{major}.0.0-{segment}"); // form (1)
    }
    if !semver::prerelease(&older).is_empty() {
        return format!("{older}.0.{segment}{build}"); // form (3)
    }
    // Form (2): bump the patch of vMAJOR.MINOR.PATCH.
    let (minor_prefix, patch) = older.split_at(older.rfind('.').map_or(0, |i| i + 1));
    format!("{minor_prefix}{}-0.{segment}{build}", inc_decimal(patch))
}

/// Go `module.PseudoVersionBase`: the canonical tag the pseudo-version `v`
/// builds on (with its `+incompatible`, if any), or `""` for form (1).
pub fn pseudo_version_base(v: &str) -> Result<String, PseudoError> {
    let parts = parse_pseudo_version(v)?;
    let error = |reason| PseudoError {
        version: v.to_owned(),
        reason,
    };
    let (base, build) = (parts.base, parts.build);
    match semver::prerelease(base).as_str() {
        "" => {
            // vX.0.0-yyyymmddhhmmss-abcdef123456 → "". With "+incompatible"
            // it is nonsensical: no parent tag, yet an incompatible one.
            if build.is_empty() {
                Ok(String::new())
            } else {
                Err(error(PseudoReason::BuildWithoutBase(build.to_owned())))
            }
        }
        "-0" => {
            // vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456 → vX.Y.Z
            let base = base.strip_suffix("-0").unwrap_or(base);
            let Some(dot) = base.rfind('.') else {
                return Err(error(PseudoReason::Syntax)); // Go panics; unreachable after the syntax check
            };
            let patch = dec_decimal(&base[dot + 1..]);
            if patch.is_empty() {
                // vX.Y.0-0 has been seen in the wild, but no tag precedes it.
                return Err(error(PseudoReason::NegativePatch(base.to_owned())));
            }
            Ok(format!("{}{patch}{build}", &base[..=dot]))
        }
        _ => {
            // vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456 → vX.Y.Z-pre
            match base.strip_suffix(".0") {
                Some(tag) => Ok(format!("{tag}{build}")),
                None => Err(error(PseudoReason::Syntax)), // Go panics; unreachable after the syntax check
            }
        }
    }
}

/// Go `module.PseudoVersionTime`, returning the 14-digit UTC timestamp
/// (`yyyymmddhhmmss`) after checking that it is a real date and time.
pub fn pseudo_version_time(v: &str) -> Result<String, PseudoError> {
    let parts = parse_pseudo_version(v)?;
    if !is_valid_timestamp(parts.timestamp) {
        return Err(PseudoError {
            version: v.to_owned(),
            reason: PseudoReason::MalformedTime(parts.timestamp.to_owned()),
        });
    }
    Ok(parts.timestamp.to_owned())
}

/// Go `module.PseudoVersionRev`: the revision identifier (commit hash prefix).
pub fn pseudo_version_rev(v: &str) -> Result<String, PseudoError> {
    Ok(parse_pseudo_version(v)?.rev.to_owned())
}

struct PseudoParts<'a> {
    /// `"vX.0.0"`, `"vX.Y.(Z+1)-0"` or `"vX.Y.Z-pre.0"`.
    base: &'a str,
    timestamp: &'a str,
    rev: &'a str,
    build: &'a str,
}

/// Go `parsePseudoVersion`.
fn parse_pseudo_version(v: &str) -> Result<PseudoParts<'_>, PseudoError> {
    let syntax_error = || PseudoError {
        version: v.to_owned(),
        reason: PseudoReason::Syntax,
    };
    if !is_pseudo_version(v) {
        return Err(syntax_error());
    }
    let build_len = semver::build(v).len();
    let (rest, build) = v.split_at(v.len() - build_len);
    let (rest, rev) = rest.rsplit_once('-').ok_or_else(syntax_error)?;
    let last_dash = rest.rfind('-').ok_or_else(syntax_error)?;
    let (base, timestamp) = match rest.rfind('.') {
        Some(dot) if dot > last_dash => (&rest[..dot], &rest[dot + 1..]),
        _ => (&rest[..last_dash], &rest[last_dash + 1..]),
    };
    Ok(PseudoParts {
        base,
        timestamp,
        rev,
        build,
    })
}

/// The pseudo-version regular expression of Go's `pseudoVersionRE`,
/// matched by hand:
/// `^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
fn matches_pseudo_syntax(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"v") else {
        return false;
    };
    let Some(rest) = skip_digits(rest).and_then(|r| r.strip_prefix(b".")) else {
        return false;
    };
    // Alternative 1: "0.0-" right before the timestamp.
    if let Some(tail) = rest.strip_prefix(b"0.0-") {
        if matches_timestamp_rev_build(tail) {
            return true;
        }
    }
    // Alternative 2: "\d+\.\d+-" then an optional "[^+]*\." then "0.".
    let Some(pre) = skip_digits(rest)
        .and_then(|r| r.strip_prefix(b"."))
        .and_then(skip_digits)
        .and_then(|r| r.strip_prefix(b"-"))
    else {
        return false;
    };
    // "0." may start right away, or right after any '.' that has no '+'
    // before it; try every such place (the regexp would backtrack).
    (0..pre.len()).any(|at| {
        let prefix_ok = at == 0 || (pre[at - 1] == b'.' && !pre[..at].contains(&b'+'));
        prefix_ok && pre[at..].starts_with(b"0.") && matches_timestamp_rev_build(&pre[at + 2..])
    })
}

/// Skips one or more ASCII digits; `None` if there are none.
fn skip_digits(s: &[u8]) -> Option<&[u8]> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    (n > 0).then(|| &s[n..])
}

/// `\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
fn matches_timestamp_rev_build(s: &[u8]) -> bool {
    if s.len() < 15 || !s[..14].iter().all(u8::is_ascii_digit) || s[14] != b'-' {
        return false;
    }
    let s = &s[15..];
    let rev_len = s.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    if rev_len == 0 {
        return false;
    }
    match &s[rev_len..] {
        [] => true,
        [b'+', build @ ..] => build
            .split(|&b| b == b'.')
            .all(|id| !id.is_empty() && id.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')),
        _ => false,
    }
}

/// Whether 14 ASCII digits `yyyymmddhhmmss` name a real instant, as Go's
/// `time.Parse("20060102150405", ...)` requires (day within the month,
/// leap years, seconds 00-59).
fn is_valid_timestamp(ts: &str) -> bool {
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let num = |range: std::ops::Range<usize>| ts[range].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let (hour, minute, second) = (num(8..10), num(10..12), num(12..14));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day) && hour < 24 && minute < 60 && second < 60
}

/// Go `incDecimal`: the decimal string plus one (`"99"` → `"100"`).
fn inc_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'9' {
        digits[i - 1] = b'0';
        i -= 1;
    }
    if i > 0 {
        digits[i - 1] += 1;
    } else {
        digits.insert(0, b'1');
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// Go `decDecimal`: the decimal string minus one, or `""` if it is all zeros.
fn dec_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'0' {
        digits[i - 1] = b'9';
        i -= 1;
    }
    if i == 0 {
        return String::new();
    }
    if i == 1 && digits[0] == b'1' && digits.len() > 1 {
        digits.remove(0);
    } else {
        digits[i - 1] -= 1;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    //! Ported from golang.org/x/mod/module/pseudo_test.go.
    use super::*;

    /// Go's `pseudoTests`: (major, older, version).
    const PSEUDO_TESTS: &[(&str, &str, &str)] = &[
        ("", "", "v0.0.0-20060102150405-hash"),
        ("v0", "", "v0.0.0-20060102150405-hash"),
        ("v1", "", "v1.0.0-20060102150405-hash"),
        ("v2", "", "v2.0.0-20060102150405-hash"),
        ("unused", "v0.0.0", "v0.0.1-0.20060102150405-hash"),
        ("unused", "v1.2.3", "v1.2.4-0.20060102150405-hash"),
        (
            "unused",
            "v1.2.99999999999999999",
            "v1.2.100000000000000000-0.20060102150405-hash",
        ),
        ("unused", "v1.2.3-pre", "v1.2.3-pre.0.20060102150405-hash"),
        ("unused", "v1.3.0-pre", "v1.3.0-pre.0.20060102150405-hash"),
        ("unused", "v0.0.0--", "v0.0.0--.0.20060102150405-hash"),
        (
            "unused",
            "v1.0.0+metadata",
            "v1.0.1-0.20060102150405-hash+metadata",
        ),
        (
            "unused",
            "v2.0.0+incompatible",
            "v2.0.1-0.20060102150405-hash+incompatible",
        ),
        (
            "unused",
            "v2.3.0-pre+incompatible",
            "v2.3.0-pre.0.20060102150405-hash+incompatible",
        ),
    ];

    /// Go's `pseudoTime`, 2006-01-02 15:04:05 UTC, in pseudo-version layout.
    const PSEUDO_TIME: &str = "20060102150405";

    #[test]
    fn test_pseudo_version() {
        for &(major, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version(major, older, PSEUDO_TIME, "hash"),
                version,
                "PseudoVersion({major:?}, {older:?})"
            );
        }
    }

    #[test]
    fn test_is_pseudo_version() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert!(is_pseudo_version(version), "IsPseudoVersion({version:?})");
            assert!(!is_pseudo_version(older), "IsPseudoVersion({older:?})");
        }
    }

    #[test]
    fn test_pseudo_version_time() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_time(version).as_deref(),
                Ok(PSEUDO_TIME),
                "PseudoVersionTime({version:?})"
            );
            assert!(
                pseudo_version_time(older).is_err(),
                "PseudoVersionTime({older:?})"
            );
        }
    }

    #[test]
    fn test_invalid_pseudo_version_time() {
        assert!(pseudo_version_time("---").is_err());
        // Syntactically a pseudo-version, but February 30th does not exist.
        let v = "v0.0.0-20060230150405-hash";
        assert!(is_pseudo_version(v));
        assert_eq!(
            pseudo_version_time(v).unwrap_err().to_string(),
            r#"pseudo-version "v0.0.0-20060230150405-hash" invalid: malformed time "20060230150405""#
        );
        assert!(pseudo_version_time("v0.0.0-20040229235959-hash").is_ok()); // leap day
        assert!(pseudo_version_time("v0.0.0-19000229000000-hash").is_err()); // 1900 is not leap
        assert!(pseudo_version_time("v0.0.0-20000229000000-hash").is_ok()); // 2000 is
        assert!(pseudo_version_time("v0.0.0-20061231235960-hash").is_err()); // no leap seconds
        assert!(pseudo_version_time("v0.0.0-20061231240000-hash").is_err());
    }

    #[test]
    fn test_pseudo_version_rev() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_rev(version).as_deref(),
                Ok("hash"),
                "PseudoVersionRev({version:?})"
            );
            assert!(
                pseudo_version_rev(older).is_err(),
                "PseudoVersionRev({older:?})"
            );
        }
    }

    #[test]
    fn test_pseudo_version_base() {
        for &(_, older, version) in PSEUDO_TESTS {
            assert_eq!(
                pseudo_version_base(version).as_deref(),
                Ok(older),
                "PseudoVersionBase({version:?})"
            );
        }
    }

    #[test]
    fn test_invalid_pseudo_version_base() {
        for input in [
            "v0.0.0",
            "v0.0.0-",                                 // malformed: empty prerelease
            "v0.0.0-0.20060102150405-hash",            // Z+1 == 0
            "v0.1.0-0.20060102150405-hash",            // Z+1 == 0
            "v1.0.0-0.20060102150405-hash",            // Z+1 == 0
            "v0.0.0-20060102150405-hash+incompatible", // "+incompatible without base version
            "v0.0.0-20060102150405-hash+metadata",     // other metadata without base version
        ] {
            assert!(
                pseudo_version_base(input).is_err(),
                "PseudoVersionBase({input:?})"
            );
        }
        assert_eq!(
            pseudo_version_base("v1.0.0-0.20060102150405-hash")
                .unwrap_err()
                .to_string(),
            r#"pseudo-version "v1.0.0-0.20060102150405-hash" invalid: version before v1.0.0 would have negative patch number"#
        );
    }

    #[test]
    fn test_inc_decimal() {
        for (input, want) in [
            ("0", "1"),
            ("1", "2"),
            ("99", "100"),
            ("100", "101"),
            ("101", "102"),
        ] {
            assert_eq!(inc_decimal(input), want, "incDecimal({input:?})");
        }
    }

    #[test]
    fn test_dec_decimal() {
        for (input, want) in [
            ("", ""),
            ("0", ""),
            ("00", ""),
            ("1", "0"),
            ("2", "1"),
            ("99", "98"),
            ("100", "99"),
            ("101", "100"),
        ] {
            assert_eq!(dec_decimal(input), want, "decDecimal({input:?})");
        }
    }

    #[test]
    fn zero_pseudo_versions() {
        assert_eq!(
            zero_pseudo_version("v0"),
            "v0.0.0-00010101000000-000000000000"
        );
        assert_eq!(
            zero_pseudo_version("v2"),
            "v2.0.0-00010101000000-000000000000"
        );
        assert!(is_zero_pseudo_version("v0.0.0-00010101000000-000000000000"));
        assert!(is_zero_pseudo_version("v3.0.0-00010101000000-000000000000"));
        assert!(!is_zero_pseudo_version("v0.0.0-20060102150405-hash"));
        assert!(!is_zero_pseudo_version(""));
    }

    #[test]
    fn syntax_edge_cases() {
        // The optional "[^+]*\." group may contain dashes and several dots.
        assert!(is_pseudo_version(
            "v1.2.3-pre-x.y.0.20060102150405-abcdef123456"
        ));
        assert_eq!(
            pseudo_version_base("v1.2.3-pre-x.y.0.20060102150405-abcdef123456").as_deref(),
            Ok("v1.2.3-pre-x.y")
        );
        assert!(is_pseudo_version("v1.2.3-0.0.20060102150405-abcdef123456"));
        assert_eq!(
            pseudo_version_base("v1.2.3-0.0.20060102150405-abcdef123456").as_deref(),
            Ok("v1.2.3-0")
        );
        assert!(!is_pseudo_version(
            "v1.2.3-pre.1.20060102150405-abcdef123456"
        )); // needs "0." before the time
        assert!(!is_pseudo_version("v1.0.0-2006010215040-abcdef123456")); // 13 digits
        assert!(!is_pseudo_version("v1.0.0-20060102150405-")); // empty rev
        assert!(!is_pseudo_version("v1.0.0-20060102150405-abc_def"));
        assert!(is_pseudo_version(
            "v1.0.0-20060102150405-abcdef123456+incompatible"
        ));
        assert!(!is_pseudo_version("v1.0.0-20060102150405-abcdef123456+"));
    }
}
