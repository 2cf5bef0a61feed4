//! Module and file paths: the checks, escaping and the path/major split.
//! Differential against the rules' own invariants: every path `check_path`
//! accepts escapes, and unescaping gives it back; an escaped path never
//! holds an upper-case letter (what makes it safe on case-folding disks).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modvault_core::escape::{escape_path, unescape_path};
use modvault_core::path::{check_file_path, check_import_path, check_path, split_path_version};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let _ = check_file_path(path);
    let import_ok = check_import_path(path).is_ok();
    if check_path(path).is_ok() {
        assert!(import_ok, "a valid module path {path:?} must be a valid import path");
        let escaped = escape_path(path).expect("a valid module path escapes");
        assert!(!escaped.chars().any(|c| c.is_ascii_uppercase()));
        assert_eq!(unescape_path(&escaped).as_deref(), Ok(path));
        if let Some((prefix, major)) = split_path_version(path) {
            assert_eq!(format!("{prefix}{major}"), path);
        }
    }
    if let Ok(unescaped) = unescape_path(path) {
        assert!(check_path(&unescaped).is_ok(), "unescape gave an invalid path");
        assert_eq!(escape_path(&unescaped).as_deref(), Ok(path));
    }
});
