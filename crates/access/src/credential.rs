//! The token in an HTTP `Authorization` header.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::SecretToken;

/// Longer headers are not credentials of ours; refusing them early bounds
/// the work a hostile client can cause.
const MAX_HEADER_LEN: usize = 8 * 1024;

/// Standard base64, padded or not: clients differ.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credential in an `Authorization` header value:
///
/// * `Bearer <token>`;
/// * `Basic base64(<user>:<token>)` with any user name and the token as the
///   password, which is what the go command sends for a `~/.netrc` entry
///   (`GOAUTH=netrc`, the default) such as
///   `machine modvault.corp.example login ci password mvt_…`.
///
/// The scheme is case-insensitive (RFC 9110 §11.1). `None` for any other
/// scheme, an empty credential, or a malformed header. The value is not
/// checked against any store; see [`crate::TokenStore::authenticate`].
pub fn credential_from_header(authorization: &str) -> Option<SecretToken> {
    if authorization.len() > MAX_HEADER_LEN {
        return None;
    }
    let (scheme, rest) = authorization.trim().split_once([' ', '\t'])?;
    let value = rest.trim_matches([' ', '\t']);
    if scheme.eq_ignore_ascii_case("bearer") {
        // RFC 6750 token68 characters only, so "Bearer a b" is rejected.
        let ok = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
        return ok.then(|| SecretToken::new(value.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = BASIC_BASE64.decode(value).ok()?;
        let user_and_password = String::from_utf8(decoded).ok()?;
        // RFC 7617: the user name cannot contain ':', the password can.
        let (_user, password) = user_and_password.split_once(':')?;
        return (!password.is_empty()).then(|| SecretToken::new(password.to_owned()));
    }
    None
}
