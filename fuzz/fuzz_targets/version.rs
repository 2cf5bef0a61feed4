//! Versions: semver validity, canonical forms, ordering, escaping and
//! pseudo-versions, checked against the rules' invariants.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_core::escape::{escape_version, unescape_version};
use modvault_core::{pseudo, semver};
use std::cmp::Ordering;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, "v1.0.0"));
    for v in [a, b] {
        if semver::is_valid(v) {
            let canonical = semver::canonical(v);
            assert!(semver::is_valid(&canonical));
            assert_eq!(semver::compare(v, &canonical), Ordering::Equal);
            assert!(semver::major(v).starts_with('v'));
        } else {
            assert_eq!(semver::canonical(v), "");
        }
        if pseudo::is_pseudo_version(v) {
            // The shape is checked by pattern, as in Go: the timestamp may
            // still be no real date (month 22), which only the time parse finds.
            assert!(pseudo::pseudo_version_rev(v).is_ok());
            let _ = pseudo::pseudo_version_time(v);
            let _ = pseudo::pseudo_version_base(v);
        }
        if let Ok(escaped) = escape_version(v) {
            assert_eq!(unescape_version(&escaped).as_deref(), Ok(v));
        }
    }
    // compare is a total order on valid versions.
    assert_eq!(semver::compare(a, b), semver::compare(b, a).reverse());
});
