//! Go's semantic versions: a port of `golang.org/x/mod/semver`.
//!
//! Versions must start with `v`; `vMAJOR` and `vMAJOR.MINOR` are accepted
//! as shorthands (without pre-release or build suffix). Numbers may be
//! arbitrarily long: they are compared as decimal strings, never parsed
//! into integers. An invalid version compares below every valid one.

use std::cmp::Ordering;

/// The parsed form of a version (Go's `parsed`). The fields borrow from the
/// input; `short` is the suffix that completes a shorthand (`".0.0"`).
#[derive(Debug, Default, Clone, Copy)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    short: &'static str,
    prerelease: &'a str,
    build: &'a str,
}

/// Reports whether `v` is a valid semantic version string (Go `IsValid`).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// The canonical formatting of `v` (Go `Canonical`): missing `.MINOR` and
/// `.PATCH` filled in, build metadata dropped; `""` if `v` is invalid.
pub fn canonical(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    if !p.build.is_empty() {
        return v[..v.len() - p.build.len()].to_owned();
    }
    format!("{v}{}", p.short)
}

/// The major version prefix (`"v2"` for `"v2.1.0"`); `""` if invalid.
pub fn major(v: &str) -> String {
    match parse(v) {
        Some(p) => v[..1 + p.major.len()].to_owned(),
        None => String::new(),
    }
}

/// The `major.minor` prefix (`"v2.1"` for `"v2.1.0"`); `""` if invalid.
pub fn major_minor(v: &str) -> String {
    let Some(p) = parse(v) else {
        return String::new();
    };
    let i = 1 + p.major.len();
    let j = i + 1 + p.minor.len();
    // The minor is spelled out in `v` unless `v` is the "vN" shorthand.
    if v.len() >= j && v.as_bytes()[i] == b'.' && &v[i + 1..j] == p.minor {
        return v[..j].to_owned();
    }
    format!("{}.{}", &v[..i], p.minor)
}

/// The pre-release suffix including its dash (`"-pre"`); `""` if none or invalid.
pub fn prerelease(v: &str) -> String {
    parse(v)
        .map(|p| p.prerelease.to_owned())
        .unwrap_or_default()
}

/// The build suffix including its plus (`"+meta"`); `""` if none or invalid.
pub fn build(v: &str) -> String {
    parse(v).map(|p| p.build.to_owned()).unwrap_or_default()
}

/// Semantic-version precedence (Go `Compare`). Build metadata is ignored;
/// invalid versions are equal to each other and less than valid ones.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(pa), Some(pb)) => compare_int(pa.major, pb.major)
            .then_with(|| compare_int(pa.minor, pb.minor))
            .then_with(|| compare_int(pa.patch, pb.patch))
            .then_with(|| compare_prerelease(pa.prerelease, pb.prerelease)),
    }
}

/// Whichever argument has the greater precedence; `b` when they are equal.
///
/// Unlike Go's `semver.Max`, this returns the argument as given rather than
/// its canonical form (it borrows). Use [`max_canonical`] for Go's exact
/// result.
pub fn max<'a>(a: &'a str, b: &'a str) -> &'a str {
    if compare(a, b) == Ordering::Greater {
        a
    } else {
        b
    }
}

/// Go's (deprecated) `semver.Max`: canonicalizes both arguments and returns
/// the greater one (the second on ties).
pub fn max_canonical(a: &str, b: &str) -> String {
    let (a, b) = (canonical(a), canonical(b));
    if compare(&a, &b) == Ordering::Greater {
        a
    } else {
        b
    }
}

/// Sorts by [`compare`], breaking ties by plain string order (Go `Sort`),
/// so the result is fully deterministic.
pub fn sort(list: &mut [String]) {
    list.sort_by(|a, b| compare_version(a, b));
}

/// Go `compareVersion`: [`compare`] with a string-order tiebreak.
pub fn compare_version(a: &str, b: &str) -> Ordering {
    compare(a, b).then_with(|| a.cmp(b))
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let mut p = Parsed::default();
    let (major, rest) = parse_int(rest)?;
    p.major = major;
    if rest.is_empty() {
        p.minor = "0";
        p.patch = "0";
        p.short = ".0.0";
        return Some(p);
    }
    let (minor, rest) = parse_int(rest.strip_prefix('.')?)?;
    p.minor = minor;
    if rest.is_empty() {
        p.patch = "0";
        p.short = ".0";
        return Some(p);
    }
    let (patch, mut rest) = parse_int(rest.strip_prefix('.')?)?;
    p.patch = patch;
    if rest.starts_with('-') {
        let (pre, r) = parse_prerelease(rest)?;
        p.prerelease = pre;
        rest = r;
    }
    if rest.starts_with('+') {
        let (build, r) = parse_build(rest)?;
        p.build = build;
        rest = r;
    }
    rest.is_empty().then_some(p)
}

/// A decimal number without superfluous leading zeros, and the rest.
fn parse_int(v: &str) -> Option<(&str, &str)> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (v.starts_with('0') && digits != 1) {
        return None;
    }
    Some(v.split_at(digits))
}

/// `-` and dot-separated identifiers up to `+` or the end.
fn parse_prerelease(v: &str) -> Option<(&str, &str)> {
    let end = v.find('+').unwrap_or(v.len());
    let body = v.get(1..end)?;
    let idents_ok = body
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_ident_char) && !is_bad_num(id));
    idents_ok.then(|| v.split_at(end))
}

/// `+` and dot-separated identifiers up to the end.
fn parse_build(v: &str) -> Option<(&str, &str)> {
    let body = v.get(1..)?;
    let idents_ok = body
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(is_ident_char));
    idents_ok.then_some((v, ""))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// A numeric identifier with a leading zero (`"01"`), which SemVer forbids.
fn is_bad_num(v: &str) -> bool {
    v.len() > 1 && v.starts_with('0') && is_num(v)
}

fn is_num(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_digit())
}

/// Compares decimal strings without leading zeros: longer is larger.
fn compare_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// SemVer 2.0 pre-release precedence; both arguments include their `-`.
fn compare_prerelease(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    // A release sorts after any of its pre-releases.
    if x.is_empty() {
        return Ordering::Greater;
    }
    if y.is_empty() {
        return Ordering::Less;
    }
    let mut xs = x[1..].split('.');
    let mut ys = y[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (Some(dx), Some(dy)) => {
                if dx == dy {
                    continue;
                }
                return match (is_num(dx), is_num(dy)) {
                    (true, true) => compare_int(dx, dy),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => dx.cmp(dy),
                };
            }
            // More identifiers win when all preceding ones are equal.
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Ported from golang.org/x/mod/semver/semver_test.go.
    use super::*;

    /// Go's `tests` table: input and expected `Canonical`, in increasing
    /// order of precedence (the Compare and Max tests rely on that order).
    const TESTS: &[(&str, &str)] = &[
        ("bad", ""),
        ("v1-alpha.beta.gamma", ""),
        ("v1-pre", ""),
        ("v1+meta", ""),
        ("v1-pre+meta", ""),
        ("v1.2-pre", ""),
        ("v1.2+meta", ""),
        ("v1.2-pre+meta", ""),
        ("v1.0.0-alpha", "v1.0.0-alpha"),
        ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
        ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
        ("v1.0.0-beta", "v1.0.0-beta"),
        ("v1.0.0-beta.2", "v1.0.0-beta.2"),
        ("v1.0.0-beta.11", "v1.0.0-beta.11"),
        ("v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("v1", "v1.0.0"),
        ("v1.0", "v1.0.0"),
        ("v1.0.0", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.0", "v1.2.0"),
        ("v1.2.3-456", "v1.2.3-456"),
        ("v1.2.3-456.789", "v1.2.3-456.789"),
        ("v1.2.3-456-789", "v1.2.3-456-789"),
        ("v1.2.3-456a", "v1.2.3-456a"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v1.2.3-pre.1", "v1.2.3-pre.1"),
        ("v1.2.3-zzz", "v1.2.3-zzz"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3+meta-pre", "v1.2.3"),
        ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
    ];

    #[test]
    fn test_is_valid() {
        for &(input, out) in TESTS {
            assert_eq!(is_valid(input), !out.is_empty(), "IsValid({input:?})");
        }
    }

    #[test]
    fn test_canonical() {
        for &(input, out) in TESTS {
            assert_eq!(canonical(input), out, "Canonical({input:?})");
        }
    }

    #[test]
    fn test_major() {
        for &(input, out) in TESTS {
            let want = out.find('.').map(|i| &out[..i]).unwrap_or("");
            assert_eq!(major(input), want, "Major({input:?})");
        }
    }

    #[test]
    fn test_major_minor() {
        for &(input, out) in TESTS {
            let mut want = String::new();
            if !out.is_empty() {
                want = input.to_owned();
                if let Some(i) = want.find('+') {
                    want.truncate(i);
                }
                if let Some(i) = want.find('-') {
                    want.truncate(i);
                }
                match want.matches('.').count() {
                    0 => want.push_str(".0"),
                    1 => {}
                    _ => want.truncate(want.rfind('.').unwrap()),
                }
            }
            assert_eq!(major_minor(input), want, "MajorMinor({input:?})");
        }
    }

    #[test]
    fn test_prerelease() {
        for &(input, out) in TESTS {
            let want = if out.is_empty() {
                ""
            } else {
                out.find('-').map(|i| &out[i..]).unwrap_or("")
            };
            assert_eq!(prerelease(input), want, "Prerelease({input:?})");
        }
    }

    #[test]
    fn test_build() {
        for &(input, out) in TESTS {
            let want = if out.is_empty() {
                ""
            } else {
                input.find('+').map(|i| &input[i..]).unwrap_or("")
            };
            assert_eq!(build(input), want, "Build({input:?})");
        }
    }

    #[test]
    fn test_compare() {
        for (i, &(vi, ci)) in TESTS.iter().enumerate() {
            for (j, &(vj, cj)) in TESTS.iter().enumerate() {
                let want = if ci == cj { Ordering::Equal } else { i.cmp(&j) };
                assert_eq!(compare(vi, vj), want, "Compare({vi:?}, {vj:?})");
            }
        }
        for (v, w, want) in [
            ("v1", "v1", Ordering::Equal),
            ("v2", "v1", Ordering::Greater),
            ("v1", "v2", Ordering::Less),
            // Go's semver_test.go (as fetched) lists -1 here, but the
            // vendored Go 1.27.3 code returns +1 (minor 19 > 2): code wins.
            ("v1.19", "v1.2", Ordering::Greater),
            ("v1.2", "v1.19", Ordering::Less),
        ] {
            assert_eq!(compare(v, w), want, "Compare({v:?}, {w:?})");
        }
    }

    #[test]
    fn test_sort() {
        let mut versions: Vec<String> = TESTS.iter().map(|t| t.0.to_owned()).collect();
        // A fixed "shuffle" (Go uses rand.Shuffle): reverse and rotate.
        versions.reverse();
        versions.rotate_left(7);
        sort(&mut versions);
        for pair in versions.windows(2) {
            assert_ne!(
                compare_version(&pair[0], &pair[1]),
                Ordering::Greater,
                "{pair:?} out of order"
            );
        }
        // Ties under Compare are broken by string order.
        let mut list = vec![
            "v1.0.0+b".to_owned(),
            "v1.0.0".to_owned(),
            "v1.0.0+a".to_owned(),
            "bad".to_owned(),
        ];
        sort(&mut list);
        assert_eq!(list, ["bad", "v1.0.0", "v1.0.0+a", "v1.0.0+b"]);
    }

    #[test]
    fn test_max() {
        for (i, &(vi, _)) in TESTS.iter().enumerate() {
            for (j, &(vj, _)) in TESTS.iter().enumerate() {
                let want = if i < j { canonical(vj) } else { canonical(vi) };
                assert_eq!(max_canonical(vi, vj), want, "Max({vi:?}, {vj:?})");
                // Our borrowing `max` picks the same argument Go's Max picks.
                assert_eq!(canonical(max(vi, vj)), want, "max({vi:?}, {vj:?})");
            }
        }
    }

    #[test]
    fn huge_numbers_and_odd_inputs() {
        assert!(is_valid("v123456789012345678901234567890.0.0"));
        assert_eq!(
            compare("v99999999999999999999.0.0", "v100000000000000000000.0.0"),
            Ordering::Less
        );
        assert_eq!(compare("v1.0.0-9", "v1.0.0-10"), Ordering::Less);
        assert_eq!(compare("v1.0.0-a", "v1.0.0-a.0"), Ordering::Less);
        for bad in [
            "",
            "v",
            "v01.0.0",
            "v1.0.0-01",
            "v1.0.0-",
            "v1.0.0+",
            "v1.0.0-a..b",
            "v1.0.0+a..b",
            "v1.0.0-é",
            "vé",
            "v1.0.0+é",
            "v1..0",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
            assert_eq!(major(bad), "");
            assert_eq!(major_minor(bad), "");
        }
        assert!(is_valid("v1.0.0-0"));
        assert!(is_valid("v1.0.0-00a"));
        assert_eq!(major_minor("v2"), "v2.0");
    }
}
