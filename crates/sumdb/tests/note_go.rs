//! Port of golang.org/x/mod/sumdb/note/note_test.go.
//!
//! Not portable: the `badSigner`/`errSigner` cases of TestSign and the
//! `fixedVerifier` cases of TestOpen need user-defined Signer/Verifiers
//! implementations, which this crate's concrete key types rule out (their
//! names are validated on construction and lookups are by name and hash).

use modvault_sumdb::note::{
    self, generate_key, key_hash, new_ed25519_verifier_key, open, sign, sign_note, Error, Note,
    Signature, Signer, Verifier,
};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> Signature {
    Signature {
        name: "PeterNeumann".into(),
        hash: 0xc74f20a3,
        base64: "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=".into(),
    }
}

fn enoch() -> Signature {
    Signature {
        name: "EnochRoot".into(),
        hash: 0xaf0cfe78,
        base64: "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=".into(),
    }
}

fn v(key: &str) -> Verifier {
    Verifier::new(key).unwrap()
}

/// Every proper substring and every one-byte increment of `key` must be
/// rejected by `parse` (the keys are ASCII, so these stay valid strings).
fn assert_manglings_rejected<T: std::fmt::Debug>(
    key: &str,
    parse: impl Fn(&str) -> Result<T, Error>,
) {
    let b = key.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let k = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(parse(k).is_err(), "{k:?} parsed, should have failed");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let k = String::from_utf8(m).unwrap();
        assert!(parse(&k).is_err(), "{k:?} parsed, should have failed");
    }
}

#[test]
fn new_verifier() {
    Verifier::new(PETER_VKEY).unwrap();
    assert_manglings_rejected(PETER_VKEY, Verifier::new);
    // Wrong length key, with adjusted key hash.
    assert_eq!(
        Verifier::new("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
            .unwrap_err(),
        Error::MalformedVerifierKey
    );
    // Unknown algorithm, with adjusted key hash.
    assert_eq!(
        Verifier::new("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap_err(),
        Error::UnknownVerifierAlgorithm
    );
}

#[test]
fn new_signer() {
    Signer::new(PETER_SKEY).unwrap();
    assert_manglings_rejected(PETER_SKEY, Signer::new);
}

fn check_signer_and_verifier(name: &str, signer: &Signer, verifier: &Verifier) {
    assert_eq!(signer.name(), name);
    assert_eq!(verifier.name(), name);
    assert_eq!(signer.key_hash(), verifier.key_hash());

    let mut msg = b"hi".to_vec();
    let mut sig = signer.sign(&msg);
    assert!(
        verifier.verify(&msg, &sig),
        "verify failed on signature returned by sign"
    );
    sig[0] = sig[0].wrapping_add(1);
    assert!(
        !verifier.verify(&msg, &sig),
        "verify succeeded on corrupt signature"
    );
    sig[0] = sig[0].wrapping_sub(1);
    msg[0] += 1;
    assert!(
        !verifier.verify(&msg, &sig),
        "verify succeeded on corrupt message"
    );
}

#[test]
fn generate_key_is_self_consistent() {
    let (skey, vkey) = generate_key("EnochRoot", [7; 32]);
    let signer = Signer::new(&skey).unwrap();
    let verifier = Verifier::new(&vkey).unwrap();
    check_signer_and_verifier("EnochRoot", &signer, &verifier);
    assert_eq!(signer.verifier_key(), vkey);
}

#[test]
fn from_ed25519() {
    // Go's newSignerFromEd25519Seed plus NewEd25519VerifierKey.
    let seed = [42u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let vkey = new_ed25519_verifier_key("EnochRoot", &public);
    let verifier = Verifier::new(&vkey).unwrap();
    let (skey, vkey2) = generate_key("EnochRoot", seed);
    assert_eq!(vkey, vkey2);
    check_signer_and_verifier("EnochRoot", &Signer::new(&skey).unwrap(), &verifier);
}

#[test]
fn sign_vectors() {
    let signer = Signer::new(PETER_SKEY).unwrap();
    let want = format!("{TEXT}\n{PETER_SIG}");
    assert_eq!(
        String::from_utf8(sign(TEXT, &signer).unwrap()).unwrap(),
        want
    );

    // An existing signature by the same key is replaced by the new one.
    let n = Note {
        text: TEXT.into(),
        sigs: vec![Signature {
            name: "PeterNeumann".into(),
            hash: 0xc74f20a3,
            base64: "BADSIGN=".into(),
        }],
        ..Note::default()
    };
    assert_eq!(
        String::from_utf8(sign_note(&n, &[&signer]).unwrap()).unwrap(),
        want
    );

    // Bad inputs.
    assert_eq!(
        sign("abc", &signer).unwrap_err().to_string(),
        "malformed note"
    );
    let bad_name = Note {
        text: TEXT.into(),
        sigs: vec![Signature {
            name: "a+b".into(),
            hash: 0,
            base64: "ABCD".into(),
        }],
        ..Note::default()
    };
    assert_eq!(
        sign_note(&bad_name, &[]).unwrap_err().to_string(),
        "malformed note"
    );
    let bad_hash = Note {
        text: TEXT.into(),
        sigs: vec![Signature {
            name: "PeterNeumann".into(),
            hash: 0xc74f20a3,
            base64: "BADHASH=".into(),
        }],
        ..Note::default()
    };
    assert_eq!(
        sign_note(&bad_hash, &[]).unwrap_err().to_string(),
        "malformed note"
    );
}

#[test]
fn verifier_list_ambiguity() {
    // Go's TestVerifierList: a duplicated key is only an error when used.
    let (peter_v, enoch_v) = (v(PETER_VKEY), v(ENOCH_VKEY));
    let list = [peter_v.clone(), enoch_v.clone(), enoch_v];
    let err = open(format!("{TEXT}\n{ENOCH_SIG}").as_bytes(), &list).unwrap_err();
    assert_eq!(err.to_string(), "ambiguous key EnochRoot+af0cfe78");
    let n = open(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &list).unwrap();
    assert_eq!(n.sigs, [peter()]);
}

#[test]
fn open_vectors() {
    let (peter_v, enoch_v) = (v(PETER_VKEY), v(ENOCH_VKEY));
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    // One signature verified, one not.
    let n = open(both.as_bytes(), std::slice::from_ref(&peter_v)).unwrap();
    assert_eq!(n.text, TEXT);
    assert_eq!(n.sigs, [peter()]);
    assert_eq!(n.unverified_sigs, [enoch()]);

    // Both verified.
    let n = open(both.as_bytes(), &[peter_v.clone(), enoch_v.clone()]).unwrap();
    assert_eq!(n.sigs, [peter(), enoch()]);
    assert!(n.unverified_sigs.is_empty());

    // Both unverified: the note is still available inside the error.
    let err = open(both.as_bytes(), &[]).unwrap_err();
    assert_eq!(err.to_string(), "note has no verifiable signatures");
    let Error::UnverifiedNote(n) = err else {
        panic!("want UnverifiedNote, got {err:?}")
    };
    assert!(n.sigs.is_empty());
    assert_eq!(n.unverified_sigs, [peter(), enoch()]);

    // Too many signatures, verified or not.
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(
        open(many.as_bytes(), std::slice::from_ref(&peter_v)).unwrap_err(),
        Error::MalformedNote
    );
    assert_eq!(
        open(many.as_bytes(), &[]).unwrap_err(),
        Error::MalformedNote
    );

    // Invalid signature.
    let corrupt = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let err = open(
        format!("{TEXT}\n{corrupt}").as_bytes(),
        std::slice::from_ref(&peter_v),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid signature for key PeterNeumann+c74f20a3"
    );

    // Duplicated verified and unverified signatures.
    let enoch_corrupt = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_corrupt}");
    let n = open(msg.as_bytes(), std::slice::from_ref(&peter_v)).unwrap();
    assert_eq!(n.sigs, [peter()]);
    let enoch_abcd = Signature {
        base64: "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=".into(),
        ..enoch()
    };
    assert_eq!(n.unverified_sigs, [enoch(), enoch_abcd]);

    // Invalid encoded message syntax.
    let bad_msgs = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ];
    for msg in &bad_msgs {
        assert_eq!(
            open(msg.as_bytes(), std::slice::from_ref(&peter_v)).unwrap_err(),
            Error::MalformedNote,
            "{msg:?}"
        );
    }
    let mut invalid_utf8 = b"\xff".to_vec();
    invalid_utf8.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
    assert_eq!(
        open(&invalid_utf8, std::slice::from_ref(&peter_v)).unwrap_err(),
        Error::MalformedNote
    );
}

#[test]
fn sum_golang_org_key() {
    // The go command's built-in key (cmd/go/internal/modfetch/key.go).
    let key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    let v = Verifier::new(key).unwrap();
    assert_eq!(v.name(), "sum.golang.org");
    assert_eq!(v.key_hash(), 0x033de0ae);
    // The hash recomputes from the name and the encoded key (0x01 ‖ pubkey).
    let mut encoded = vec![1u8];
    encoded.extend_from_slice(v.public_key());
    assert_eq!(key_hash("sum.golang.org", &encoded), 0x033de0ae);
    assert_eq!(
        new_ed25519_verifier_key("sum.golang.org", v.public_key()),
        key
    );
    assert_eq!(format!("{v:?}"), "Verifier(sum.golang.org+033de0ae)");
}

#[test]
fn invalid_curve_point_parses_but_never_verifies() {
    // Go's NewVerifier does not decode the point, so such keys parse; every
    // signature check then fails. Find 32 bytes that are not a point.
    let bad = (0u8..=255)
        .map(|b| [b; 32])
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .expect("some constant byte string is not a curve point");
    let vkey = new_ed25519_verifier_key("bad", &bad);
    let v = Verifier::new(&vkey).unwrap();
    assert!(!v.verify(b"hi", &[0; 64]));
    let (skey, _) = generate_key("bad", [1; 32]);
    let signer = Signer::new(&skey).unwrap();
    // Same name, different hash: this signature is simply unverified.
    let msg = sign("hello\n", &signer).unwrap();
    assert!(matches!(
        open(&msg, &[v]),
        Err(note::Error::UnverifiedNote(_))
    ));
}

#[test]
fn signer_debug_hides_the_key() {
    let s = Signer::new(PETER_SKEY).unwrap();
    assert_eq!(format!("{s:?}"), "Signer(PeterNeumann+c74f20a3)");
    assert_eq!(s.verifier_key(), PETER_VKEY);
}
