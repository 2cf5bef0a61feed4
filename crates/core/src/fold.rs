//! Case folding as x/mod/zip does it (`strToFold`), used to find file names
//! that would collide on a case-insensitive file system.

use crate::gounicode::fold_key;

/// Port of x/mod/zip `strToFold`: a string such that
/// `strings.EqualFold(s, t)` iff `str_to_fold(s) == str_to_fold(t)`.
///
/// Every rune is replaced by the smallest rune of its `unicode.SimpleFold`
/// orbit (then A-Z by a-z). This is *simple* folding: `ß` does not fold to
/// `ss`, but `K`, `k` and U+212A KELVIN SIGN all become `k`.
pub(crate) fn str_to_fold(s: &str) -> String {
    // Fast path, as in Go: ASCII without upper case is its own fold.
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return s.to_owned();
    }
    s.chars().map(fold_key).collect()
}

/// Go `strings.EqualFold` (Unicode simple case folding).
pub(crate) fn equal_fold(a: &str, b: &str) -> bool {
    a.chars().map(fold_key).eq(b.chars().map(fold_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_like_go() {
        assert_eq!(str_to_fold("abc/def.go"), "abc/def.go");
        assert_eq!(str_to_fold("ABC/Def.GO"), "abc/def.go");
        assert_eq!(str_to_fold("\u{212A}elvin"), "kelvin");
        assert_eq!(str_to_fold("Kelvin"), "kelvin");
        // Simple folding only: ß stays ß (full folding would give "ss").
        assert_eq!(str_to_fold("Straße"), "straße");
        assert!(equal_fold("go.MOD", "GO.mod"));
        assert!(equal_fold("\u{212A}", "k"));
        assert!(!equal_fold("ß", "ss"));
        assert!(!equal_fold("a", "ab"));
    }
}
