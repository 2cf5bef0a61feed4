//! Signed notes, as served by checksum databases (Go's `sumdb/note`).
//!
//! A note is UTF-8 text ending in a newline, followed by a blank line and
//! one or more signature lines:
//!
//! ```text
//! If you think cryptography is the answer to your problem,
//! then you don't know what your problem is.
//!
//! — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
//! ```
//!
//! Each signature line is an em dash (U+2014), a space, the key's name, a
//! space and the base64 of the 4-byte big-endian key hash followed by the
//! Ed25519 signature of the text (final newline included, blank line not).
//!
//! Keys are strings: a verifier key is `<name>+<hash>+<base64(0x01‖pubkey)>`
//! and a signer key is `PRIVATE+KEY+<name>+<hash>+<base64(0x01‖seed)>`,
//! where `<hash>` is [`key_hash`] as eight hex digits.
//!
//! Go's `Verifier`, `Signer` and `Verifiers` interfaces become the concrete
//! Ed25519 [`Verifier`] and [`Signer`] types and a plain slice of verifiers:
//! Ed25519 is the only algorithm Go defines, and a slice lookup reproduces
//! `VerifierList` exactly, including its "ambiguous key" error.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature as Ed25519Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::gobase64;

/// The algorithm byte that prefixes Ed25519 key material (Go's `algEd25519`).
const ALG_ED25519: u8 = 1;

/// Go's `Open` rejects notes with more signatures than this, so that a
/// hostile note cannot make the verifier spend unbounded time.
const MAX_SIGNATURES: usize = 100;

/// Separates the text from the signature block (Go's `sigSplit`).
const SIG_SPLIT: &str = "\n\n";

/// Starts every signature line: em dash and space (Go's `sigPrefix`).
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a key could not be parsed or a note could not be signed or opened.
///
/// The messages are Go's, so logs read the same as the go command's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A verifier key string is not `<name>+<8 hex>+<base64>` with a valid
    /// name and non-empty key, or its Ed25519 key is not 32 bytes.
    #[error("malformed verifier id")]
    MalformedVerifierKey,
    /// A verifier key uses an algorithm byte other than 1 (Ed25519).
    #[error("unknown verifier algorithm")]
    UnknownVerifierAlgorithm,
    /// A verifier key's hash does not match its name and key material.
    #[error("invalid verifier hash")]
    InvalidVerifierHash,
    /// A signer key string is not `PRIVATE+KEY+<name>+<8 hex>+<base64>` with
    /// a valid name and a 32-byte seed. (Go reuses the verifier's message,
    /// "malformed verifier id", here; this port names the right key kind.)
    #[error("malformed signer key")]
    MalformedSignerKey,
    /// A signer key uses an algorithm byte other than 1 (Ed25519).
    #[error("unknown signer algorithm")]
    UnknownSignerAlgorithm,
    /// A signer key's hash does not match the public key derived from it.
    #[error("invalid signer hash")]
    InvalidSignerHash,
    /// The message is not a well-formed signed note, or a note to sign has
    /// text not ending in a newline or a malformed existing signature.
    #[error("malformed note")]
    MalformedNote,
    /// More than one known verifier has this name and key hash.
    #[error("ambiguous key {name}+{hash:08x}")]
    AmbiguousKey { name: String, hash: u32 },
    /// A known key's signature does not verify: the note was tampered with
    /// or signed by an impostor. This is never downgraded to "unverified".
    #[error("invalid signature for key {name}+{hash:08x}")]
    InvalidSignature { name: String, hash: u32 },
    /// The note is well formed but no signature is by a known key; the
    /// parsed note, with every signature unverified, is kept for callers
    /// that want to inspect it.
    #[error("note has no verifiable signatures")]
    UnverifiedNote(Box<Note>),
}

/// A text and its signatures (Go's `note.Note`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Signatures verified by a known key, in order of appearance.
    pub sigs: Vec<Signature>,
    /// Signatures by unknown keys, in order of appearance, kept verbatim
    /// so that re-signing a note ([`sign_note`]) preserves them.
    pub unverified_sigs: Vec<Signature>,
}

/// One signature line of a note (Go's `note.Signature`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Name of the key that made the signature.
    pub name: String,
    /// Hash of the key that made the signature.
    pub hash: u32,
    /// The signature line's base64 field: key hash and signature bytes.
    pub base64: String,
}

/// Computes the key hash for a key name and its encoded public key (the
/// algorithm byte followed by the key): the first four bytes, big-endian,
/// of SHA-256(name ‖ "\n" ‖ key). Port of Go's `keyHash`.
pub fn key_hash(name: &str, key: &[u8]) -> u32 {
    let sum = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update(key)
        .finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

/// Reports whether `name` may name a key: non-empty, with no Unicode white
/// space and no `+` (which separates the fields of key strings). Port of
/// Go's `isValidName`; Rust's `char::is_whitespace` and Go's
/// `unicode.IsSpace` both use the Unicode `White_Space` property.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// Go's `strings.Cut(s, "+")`: without a `+`, everything is `before`.
fn cut_plus(s: &str) -> (&str, &str) {
    s.split_once('+').unwrap_or((s, ""))
}

/// Go's `strconv.ParseUint(s, 16, 32)` on a field that must also be
/// exactly eight characters long. Checking the digits by hand keeps out
/// the leading `+` that Rust's `from_str_radix` would accept; upper-case
/// hex digits are accepted, as in Go.
fn parse_hash8(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// An Ed25519 public key that verifies signatures for one named key
/// (Go's `Verifier`, as built by `NewVerifier`).
#[derive(Clone)]
pub struct Verifier {
    name: String,
    hash: u32,
    public_key: [u8; 32],
    /// `None` when the 32 key bytes are not a curve point. Go accepts such
    /// keys in `NewVerifier` and only fails each verification, so we must
    /// not reject them at parse time either.
    key: Option<VerifyingKey>,
}

impl Verifier {
    /// Parses a verifier key `<name>+<hash>+<base64(0x01‖pubkey)>`.
    /// Port of Go's `NewVerifier`, checking in the same order.
    pub fn new(vkey: &str) -> Result<Self, Error> {
        let (name, rest) = cut_plus(vkey);
        let (hash16, key64) = cut_plus(rest);
        let hash = parse_hash8(hash16);
        let key = gobase64::decode(key64);
        let (Some(hash), Some(key)) = (hash, key) else {
            return Err(Error::MalformedVerifierKey);
        };
        if !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedVerifierKey);
        }
        // The hash covers the algorithm byte too, and is checked before the
        // algorithm so that an unknown algorithm is reported only for keys
        // that are otherwise intact.
        if hash != key_hash(name, &key) {
            return Err(Error::InvalidVerifierHash);
        }
        let (&alg, key) = key.split_first().ok_or(Error::MalformedVerifierKey)?;
        if alg != ALG_ED25519 {
            return Err(Error::UnknownVerifierAlgorithm);
        }
        let public_key: [u8; 32] = key.try_into().map_err(|_| Error::MalformedVerifierKey)?;
        Ok(Self {
            name: name.to_owned(),
            hash,
            public_key,
            key: VerifyingKey::from_bytes(&public_key).ok(),
        })
    }

    /// The key's name, usually the database's host name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash, as in the verifier key string and signature lines.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Reports whether `sig` is this key's signature of `msg`.
    ///
    /// Anything but a 64-byte signature is simply invalid, as with Go's
    /// `ed25519.Verify`. `VerifyingKey::verify` (not `verify_strict`) has
    /// Go's acceptance rules: it requires a canonical `S`, compares the
    /// encoding of the recomputed `R` with the signature's, and does not
    /// reject small-order keys, so both accept exactly the same signatures.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use ed25519_dalek::Verifier as _;
        let (Some(key), Ok(sig)) = (&self.key, Ed25519Signature::from_slice(sig)) else {
            return false;
        };
        key.verify(msg, &sig).is_ok()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({}+{:08x})", self.name, self.hash)
    }
}

impl FromStr for Verifier {
    type Err = Error;

    fn from_str(vkey: &str) -> Result<Self, Error> {
        Self::new(vkey)
    }
}

/// An Ed25519 private key that signs notes for one named key (Go's
/// `Signer`, as built by `NewSigner`). Its `Debug` output omits the key.
#[derive(Clone)]
pub struct Signer {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl Signer {
    /// Parses a signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01‖seed)>`.
    /// Port of Go's `NewSigner`: the hash is of the *public* key, so it is
    /// checked after deriving that key from the seed.
    pub fn new(skey: &str) -> Result<Self, Error> {
        let (priv1, rest) = cut_plus(skey);
        let (priv2, rest) = cut_plus(rest);
        let (name, rest) = cut_plus(rest);
        let (hash16, key64) = cut_plus(rest);
        let hash = parse_hash8(hash16);
        let key = gobase64::decode(key64);
        let (Some(hash), Some(key)) = (hash, key) else {
            return Err(Error::MalformedSignerKey);
        };
        if priv1 != "PRIVATE" || priv2 != "KEY" || !is_valid_name(name) || key.is_empty() {
            return Err(Error::MalformedSignerKey);
        }
        let (&alg, seed) = key.split_first().ok_or(Error::MalformedSignerKey)?;
        if alg != ALG_ED25519 {
            return Err(Error::UnknownSignerAlgorithm);
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| Error::MalformedSignerKey)?;
        let key = SigningKey::from_bytes(&seed);
        if hash != key_hash(name, &encoded_public_key(&key)) {
            return Err(Error::InvalidSignerHash);
        }
        Ok(Self {
            name: name.to_owned(),
            hash,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash of the corresponding public key.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The verifier key string for this signer's public key.
    pub fn verifier_key(&self) -> String {
        format_verifier_key(&self.name, self.hash, &encoded_public_key(&self.key))
    }

    /// Signs `msg` with Ed25519 (deterministic, so the same key and message
    /// always give the same signature, as in Go).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.hash)
    }
}

impl FromStr for Signer {
    type Err = Error;

    fn from_str(skey: &str) -> Result<Self, Error> {
        Self::new(skey)
    }
}

/// The algorithm byte followed by the public key, as hashed and encoded.
fn encoded_public_key(key: &SigningKey) -> Vec<u8> {
    let mut out = vec![ALG_ED25519];
    out.extend_from_slice(key.verifying_key().as_bytes());
    out
}

fn format_verifier_key(name: &str, hash: u32, encoded_key: &[u8]) -> String {
    format!("{name}+{hash:08x}+{}", gobase64::encode(encoded_key))
}

/// Generates a signer key and its verifier key for a named server from 32
/// bytes of randomness supplied by the caller, which keeps this crate free
/// of I/O. Returns `(signer_key, verifier_key)`. Port of Go's
/// `GenerateKey`, which likewise does not validate `name`: keys generated
/// for an invalid name will not parse.
pub fn generate_key(name: &str, rng_seed: [u8; 32]) -> (String, String) {
    let key = SigningKey::from_bytes(&rng_seed);
    let public = encoded_public_key(&key);
    let hash = key_hash(name, &public);
    let mut private = vec![ALG_ED25519];
    private.extend_from_slice(&rng_seed);
    let skey = format!(
        "PRIVATE+KEY+{name}+{hash:08x}+{}",
        gobase64::encode(&private)
    );
    (skey, format_verifier_key(name, hash, &public))
}

/// Returns the verifier key string for a name and raw Ed25519 public key.
/// Port of Go's `NewEd25519VerifierKey`; taking exactly 32 bytes makes its
/// "invalid public key size" error unrepresentable.
pub fn new_ed25519_verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let mut encoded = vec![ALG_ED25519];
    encoded.extend_from_slice(public_key);
    format_verifier_key(name, key_hash(name, &encoded), &encoded)
}

/// Finds the one known verifier for a name and key hash. Port of Go's
/// `verifierMap.Verifier` over `VerifierList(known...)`: no match means
/// the signature is merely unverified (`Ok(None)`), while two matches mean
/// the trusted key list itself is broken, which is an error.
fn find_verifier<'a>(
    known: &'a [Verifier],
    name: &str,
    hash: u32,
) -> Result<Option<&'a Verifier>, Error> {
    let mut matches = known.iter().filter(|v| v.name == name && v.hash == hash);
    match (matches.next(), matches.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v)),
        (Some(_), Some(_)) => Err(Error::AmbiguousKey {
            name: name.to_owned(),
            hash,
        }),
    }
}

/// Parses a signed note and verifies its signatures against the known keys.
/// Port of Go's `note.Open`, with the same rules:
///
/// * the whole message must be UTF-8 with no control characters other than
///   newline, and must end with a blank line and signature lines;
/// * every signature line must be well formed, and there may be at most
///   100 of them;
/// * a signature by a known key must verify, or the note is rejected with
///   [`Error::InvalidSignature`];
/// * signatures by unknown keys are kept in [`Note::unverified_sigs`]
///   (exact repeats once only);
/// * repeated signatures by one known key are dropped *without being
///   verified*: only the first one counts;
/// * if nothing verified, the result is [`Error::UnverifiedNote`].
pub fn open(msg: &[u8], known: &[Verifier]) -> Result<Note, Error> {
    let msg = std::str::from_utf8(msg).map_err(|_| Error::MalformedNote)?;
    // Multi-byte UTF-8 sequences never contain bytes below 0x80, so a byte
    // scan finds exactly the control characters Go's rune scan finds.
    if msg.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(Error::MalformedNote);
    }

    // The text ends at the last blank line; it keeps its final newline.
    let split = msg.rfind(SIG_SPLIT).ok_or(Error::MalformedNote)?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + SIG_SPLIT.len()..]);
    if !sigs.ends_with('\n') {
        return Err(Error::MalformedNote);
    }

    let mut note = Note {
        text: text.to_owned(),
        ..Note::default()
    };
    let mut seen: HashSet<(&str, u32)> = HashSet::new();
    let mut seen_unverified: HashSet<&str> = HashSet::new();
    // `sigs` ends in a newline, so the last split_terminator item is the
    // last line and no empty trailing item appears.
    for (count, line) in sigs.split_terminator('\n').enumerate() {
        let line = line.strip_prefix(SIG_PREFIX).ok_or(Error::MalformedNote)?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let raw = gobase64::decode(b64).ok_or(Error::MalformedNote)?;
        if !is_valid_name(name) || b64.is_empty() || raw.len() < 5 {
            return Err(Error::MalformedNote);
        }
        let (hash, sig) = raw.split_at(4);
        let hash = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);

        // Counted after the line parsed but before any verification work,
        // exactly where Go counts.
        if count + 1 > MAX_SIGNATURES {
            return Err(Error::MalformedNote);
        }

        let Some(verifier) = find_verifier(known, name, hash)? else {
            if seen_unverified.insert(line) {
                note.unverified_sigs.push(Signature {
                    name: name.to_owned(),
                    hash,
                    base64: b64.to_owned(),
                });
            }
            continue;
        };
        if !seen.insert((name, hash)) {
            continue;
        }
        if !verifier.verify(text.as_bytes(), sig) {
            return Err(Error::InvalidSignature {
                name: name.to_owned(),
                hash,
            });
        }
        note.sigs.push(Signature {
            name: name.to_owned(),
            hash,
            base64: b64.to_owned(),
        });
    }

    if note.sigs.is_empty() {
        return Err(Error::UnverifiedNote(Box::new(note)));
    }
    Ok(note)
}

/// Signs `text` (which must end in a newline) with one key and returns the
/// encoded note: Go's `Sign(&Note{Text: text}, signer)`.
pub fn sign(text: &str, signer: &Signer) -> Result<Vec<u8>, Error> {
    sign_note(
        &Note {
            text: text.to_owned(),
            ..Note::default()
        },
        &[signer],
    )
}

/// Encodes a note with its existing signatures plus new ones by `signers`.
/// Port of Go's `Sign`: existing signatures (verified, then unverified)
/// come first, minus any by a key that signs again, then the new ones.
///
/// Like Go, this checks only that the text ends in a newline, not the rest
/// of what [`open`] requires (no control characters), so callers signing
/// untrusted text should validate it first.
pub fn sign_note(note: &Note, signers: &[&Signer]) -> Result<Vec<u8>, Error> {
    if !note.text.ends_with('\n') {
        return Err(Error::MalformedNote);
    }
    let mut new_sigs = String::new();
    let mut resigned: HashSet<(&str, u32)> = HashSet::new();
    for signer in signers {
        resigned.insert((signer.name(), signer.key_hash()));
        let mut raw = signer.key_hash().to_be_bytes().to_vec();
        raw.extend_from_slice(&signer.sign(note.text.as_bytes()));
        push_sig_line(&mut new_sigs, signer.name(), &gobase64::encode(&raw));
    }

    let mut out = note.text.clone();
    out.push('\n');
    for sig in note.sigs.iter().chain(&note.unverified_sigs) {
        if !is_valid_name(&sig.name) {
            return Err(Error::MalformedNote);
        }
        if resigned.contains(&(sig.name.as_str(), sig.hash)) {
            continue;
        }
        // Refuse to copy a signature whose encoded key hash disagrees with
        // the one it is filed under.
        let raw = gobase64::decode(&sig.base64).ok_or(Error::MalformedNote)?;
        match raw.get(..4) {
            Some(h) if u32::from_be_bytes([h[0], h[1], h[2], h[3]]) == sig.hash => {}
            _ => return Err(Error::MalformedNote),
        }
        push_sig_line(&mut out, &sig.name, &sig.base64);
    }
    out.push_str(&new_sigs);
    Ok(out.into_bytes())
}

fn push_sig_line(out: &mut String, name: &str, b64: &str) {
    out.push_str(SIG_PREFIX);
    out.push_str(name);
    out.push(' ');
    out.push_str(b64);
    out.push('\n');
}
