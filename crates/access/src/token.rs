//! Token values and their digests.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AccessError;

/// Every token starts with this, so it is recognisable in a leaked file or
/// a secret scanner, and a wrong kind of credential is rejected cheaply.
pub const TOKEN_PREFIX: &str = "mvt_";

/// Random bytes per token.
const TOKEN_BYTES: usize = 32;
/// `TOKEN_PREFIX` plus 32 bytes in unpadded base64url (43 characters).
pub(crate) const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;
/// How much of a token is kept for display: the prefix and six characters
/// (36 of its 256 random bits), enough to tell tokens apart in a list.
const DISPLAY_PREFIX_LEN: usize = TOKEN_PREFIX.len() + 6;

/// A secret token. Its `Debug` shows only `mvt_…`; read it with
/// [`SecretToken::expose_secret`] where it must be shown or compared.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    pub(crate) fn new(value: String) -> SecretToken {
        SecretToken(value)
    }

    /// Generates `mvt_` + 32 random bytes in unpadded base64url.
    pub(crate) fn generate() -> Result<SecretToken, AccessError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(AccessError::Random)?;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Ok(SecretToken(format!("{TOKEN_PREFIX}{encoded}")))
    }

    /// The token itself: to show it once, or to send it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The non-secret beginning kept for display (`mvt_AbCdEf`).
    pub(crate) fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretToken({TOKEN_PREFIX}…)")
    }
}

/// Whether `token` has the shape of a modvault token, checked before any
/// hashing so that other credentials (a git password, a JWT) are rejected
/// at once. Shape is not secret, so this need not be constant-time.
pub(crate) fn looks_like_token(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of a token: all the token file keeps. Debug is redacted too,
/// so that dumping a store shows nothing an attacker could match against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> TokenDigest {
        TokenDigest(bytes)
    }

    pub(crate) fn bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Constant-time comparison, so that response times reveal nothing
    /// about how close a guess came to a stored digest.
    pub(crate) fn ct_eq(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(…)")
    }
}

impl Serialize for TokenDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for TokenDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TokenDigest, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&text, &mut digest)
            .map_err(|_| serde::de::Error::custom("sha256 must be 64 hex digits"))?;
        Ok(TokenDigest(digest))
    }
}
