//! Base64 exactly as Go's `encoding/base64.StdEncoding` does it.
//!
//! Every base64 field in this crate (key material, signatures, tree hashes)
//! is decoded by Go with `base64.StdEncoding.DecodeString`, which differs
//! from the `base64` crate's `STANDARD` engine in two ways that change which
//! inputs are accepted:
//!
//! * it silently skips `\r` and `\n` anywhere in the input, and
//! * it is not "strict": the unused low bits of the last symbol before the
//!   padding need not be zero.
//!
//! Padding itself is required and must be canonical in both.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Go's `base64.StdEncoding.EncodeToString`.
pub(crate) fn encode(data: &[u8]) -> String {
    GO_STD.encode(data)
}

/// Go's `base64.StdEncoding.DecodeString`; `None` where Go returns an error.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    if s.contains(['\r', '\n']) {
        let stripped: String = s.chars().filter(|&c| c != '\r' && c != '\n').collect();
        GO_STD.decode(stripped).ok()
    } else {
        GO_STD.decode(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quirks() {
        // Newlines are skipped anywhere, even inside the padding.
        assert_eq!(decode("aGk=\n").as_deref(), Some(&b"hi"[..]));
        assert_eq!(decode("aG\r\nk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(decode("YQ=\n=").as_deref(), Some(&b"a"[..]));
        // Non-zero trailing bits are accepted ("aGl=" and "aGk=" both mean "hi").
        assert_eq!(decode("aGl=").as_deref(), Some(&b"hi"[..]));
        // Missing or extra padding, and other whitespace, are errors.
        assert_eq!(decode("aGk"), None);
        assert_eq!(decode("aGk=="), None);
        assert_eq!(decode("aGk= "), None);
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
        assert_eq!(encode(b"hi"), "aGk=");
    }

    #[test]
    fn matches_go_std_encoding() {
        // Go's own answers, from tests/testdata/go_oracle.json.
        let oracle: serde_json::Value =
            serde_json::from_str(include_str!("../tests/testdata/go_oracle.json")).unwrap();
        for case in oracle["base64"].as_array().unwrap() {
            let input = case["in"].as_str().unwrap();
            let want = case["err"].is_null().then(|| match &case["out"] {
                serde_json::Value::String(b64) => GO_STD.decode(b64).unwrap(),
                _ => Vec::new(),
            });
            assert_eq!(decode(input), want, "DecodeString({input:?})");
        }
    }
}
