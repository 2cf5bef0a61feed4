//! Go's rune classification, for the handful of `unicode` predicates the
//! ported code depends on.
//!
//! The tables are generated from the Go toolchain that is our authority
//! (`tools/gentables`), because Rust's `char` methods follow a different
//! Unicode version and different definitions (`char::is_alphabetic` is the
//! Unicode `Alphabetic` property, not Go's "category L").
//!
//! Also home of [`decode_rune`], Go's `utf8.DecodeRune` over raw bytes.

mod tables;

use std::cmp::Ordering;

/// The replacement rune Go produces for invalid UTF-8 (`utf8.RuneError`).
pub(crate) const RUNE_ERROR: char = '\u{FFFD}';

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                Ordering::Less
            } else if lo > c {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Go `unicode.IsLetter`.
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_ranges(tables::LETTER, c)
}

/// Go `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space (but no other space).
pub(crate) fn is_print(c: char) -> bool {
    in_ranges(tables::PRINT, c)
}

/// Go `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    in_ranges(tables::SPACE, c)
}

/// The x/mod/zip `strToFold` key of one rune: the smallest rune of its
/// `unicode.SimpleFold` orbit, with A-Z mapped to a-z.
pub(crate) fn fold_key(c: char) -> char {
    let u = u32::from(c);
    match tables::FOLD_KEY.binary_search_by_key(&u, |&(r, _)| r) {
        // The table is generated from valid runes only, so this never fails;
        // falling back to `c` keeps the function total anyway.
        Ok(i) => char::from_u32(tables::FOLD_KEY[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// Go `utf8.DecodeRune`: the first rune of `b` and its width in bytes.
/// Invalid or truncated encodings yield `(RUNE_ERROR, 1)`; empty input
/// yields `(RUNE_ERROR, 0)`.
pub(crate) fn decode_rune(b: &[u8]) -> (char, usize) {
    let Some(&first) = b.first() else {
        return (RUNE_ERROR, 0);
    };
    if first < 0x80 {
        return (char::from(first), 1);
    }
    let width = match first {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    // `str::from_utf8` applies exactly Go's acceptance rules (no overlongs,
    // no surrogates, nothing above U+10FFFF).
    match b.get(..width).map(std::str::from_utf8) {
        Some(Ok(s)) => match s.chars().next() {
            Some(c) => (c, width),
            None => (RUNE_ERROR, 1),
        },
        _ => (RUNE_ERROR, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_from_go_unicode_17() {
        assert_eq!(tables::UNICODE_VERSION, "17.0.0");
    }

    #[test]
    fn letters_follow_go_not_rust() {
        assert!(is_letter('a') && is_letter('Z') && is_letter('и') && is_letter('ß'));
        assert!(!is_letter('1') && !is_letter('_') && !is_letter('☺'));
        // U+2160 ROMAN NUMERAL ONE is Alphabetic for Rust but category Nl for Go.
        assert!('\u{2160}'.is_alphabetic());
        assert!(!is_letter('\u{2160}'));
    }

    #[test]
    fn print_and_space() {
        assert!(is_print(' ') && is_print('a') && is_print('\u{FFFD}') && is_print('☺'));
        assert!(!is_print('\t') && !is_print('\u{A0}') && !is_print('\u{AD}') && !is_print('\u{7F}'));
        assert!(is_space(' ') && is_space('\u{85}') && is_space('\u{A0}') && is_space('\u{3000}'));
        assert!(!is_space('a') && !is_space('\u{200B}'));
    }

    #[test]
    fn fold_keys() {
        assert_eq!(fold_key('K'), 'k');
        assert_eq!(fold_key('k'), 'k');
        assert_eq!(fold_key('\u{212A}'), 'k'); // KELVIN SIGN
        assert_eq!(fold_key('ſ'), 's'); // LATIN SMALL LETTER LONG S
        assert_eq!(fold_key('Σ'), fold_key('ς'));
        assert_eq!(fold_key('Σ'), fold_key('σ'));
        assert_eq!(fold_key('/'), '/');
    }

    #[test]
    fn decode_rune_matches_go() {
        assert_eq!(decode_rune(b""), (RUNE_ERROR, 0));
        assert_eq!(decode_rune(b"a"), ('a', 1));
        assert_eq!(decode_rune("é".as_bytes()), ('é', 2));
        assert_eq!(decode_rune(b"\xff"), (RUNE_ERROR, 1));
        assert_eq!(decode_rune(b"\xc3"), (RUNE_ERROR, 1)); // truncated
        assert_eq!(decode_rune(b"\xc0\x80"), (RUNE_ERROR, 1)); // overlong
        assert_eq!(decode_rune(b"\xed\xa0\x80"), (RUNE_ERROR, 1)); // surrogate
        assert_eq!(decode_rune("😀x".as_bytes()), ('😀', 4));
    }
}
