//! Go's `strconv` quoting, so error messages read exactly like Go's `%q`,
//! and `strconv.Unquote` for the quoted strings of go.mod files.

use crate::gounicode::{decode_rune, is_print};
use std::fmt::Write as _;

/// Go `strconv.Quote` (what `%q` prints for a string).
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, '"')
}

/// Go `strconv.QuoteRune` (what `%q` prints for a rune).
pub(crate) fn quote_rune(c: char) -> String {
    let mut buf = [0u8; 4];
    quote_with(c.encode_utf8(&mut buf), '\'')
}

fn quote_with(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if is_print(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push(quote);
    out
}

/// Go `strconv.Unquote` for `"..."` and `` `...` `` strings (single-quoted
/// rune literals are not needed here and are rejected). Returns raw bytes
/// because `\xNN` escapes may produce invalid UTF-8, as in Go.
pub(crate) fn unquote(input: &[u8]) -> Option<Vec<u8>> {
    let (&quote, rest) = input.split_first()?;
    if input.len() < 2 {
        return None;
    }
    match quote {
        b'`' => {
            let body = rest.strip_suffix(b"`")?;
            if body.contains(&b'`') {
                return None;
            }
            // Carriage returns inside raw strings are discarded.
            Some(body.iter().copied().filter(|&b| b != b'\r').collect())
        }
        b'"' => unquote_double(rest),
        _ => None,
    }
}

/// The body of a double-quoted string, after the opening quote.
fn unquote_double(mut s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    loop {
        let (&c, tail) = s.split_first()?;
        match c {
            b'"' => return tail.is_empty().then_some(out),
            b'\n' => return None,
            b'\\' => {
                let (&e, tail) = tail.split_first()?;
                s = tail;
                match e {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'x' | b'u' | b'U' => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let digits = s.get(..n)?;
                        let mut v: u32 = 0;
                        for &d in digits {
                            v = (v << 4) | char::from(d).to_digit(16)?;
                        }
                        s = &s[n..];
                        if e == b'x' {
                            // A single byte, possibly not UTF-8.
                            out.push(u8::try_from(v).ok()?);
                        } else {
                            let c = char::from_u32(v)?;
                            out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                        }
                    }
                    b'0'..=b'7' => {
                        let digits = s.get(..2)?;
                        let mut v = u32::from(e - b'0');
                        for &d in digits {
                            if !(b'0'..=b'7').contains(&d) {
                                return None;
                            }
                            v = (v << 3) | u32::from(d - b'0');
                        }
                        s = &s[2..];
                        out.push(u8::try_from(v).ok()?);
                    }
                    _ => return None,
                }
            }
            c if c < 0x80 => {
                out.push(c);
                s = tail;
            }
            _ => {
                // Go decodes the rune; invalid UTF-8 becomes U+FFFD.
                let (r, width) = decode_rune(s);
                out.extend_from_slice(r.encode_utf8(&mut [0u8; 4]).as_bytes());
                s = &s[width.max(1)..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_go() {
        assert_eq!(quote("abc"), r#""abc""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("x\ty\n\u{1}\u{7f}"), r#""x\ty\n\x01\x7f""#);
        assert_eq!(quote("испытание☺"), "\"испытание☺\"");
        assert_eq!(quote("\u{AD}\u{10FFFF}"), r#""\u00ad\U0010ffff""#);
        assert_eq!(quote_rune('\''), r"'\''");
        assert_eq!(quote_rune('"'), "'\"'");
        assert_eq!(quote_rune('☺'), "'☺'");
    }

    #[test]
    fn unquote_like_go() {
        let ok = |s: &str| unquote(s.as_bytes());
        assert_eq!(ok(r#""abc""#), Some(b"abc".to_vec()));
        assert_eq!(ok("`a\\b\r`"), Some(b"a\\b".to_vec()));
        assert_eq!(
            ok(r#""a\tb\x41\101\u263a""#),
            Some("a\tbAA☺".as_bytes().to_vec())
        );
        assert_eq!(ok(r#""\xff""#), Some(vec![0xff]));
        for bad in [
            r#"""#,
            r#""abc"#,
            r#""a"b""#,
            r#""\q""#,
            r#""\400""#,
            "\"a\nb\"",
            "`a`b`",
            "'a'",
            r#""\ud800""#,
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
    }
}
