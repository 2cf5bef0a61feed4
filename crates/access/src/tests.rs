use base64::Engine as _;

use super::*;
use crate::token::{looks_like_token, TokenDigest, TOKEN_LEN};

fn basic(user_and_password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_and_password)
    )
}

fn credential(header: &str) -> Option<String> {
    credential_from_header(header).map(|t| t.expose_secret().to_owned())
}

const TOKEN: &str = "mvt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn scopes_are_ordered_and_parse() {
    assert!(Scope::Read < Scope::Publish && Scope::Publish < Scope::Admin);
    for scope in [Scope::Read, Scope::Publish, Scope::Admin] {
        assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        assert_eq!(
            serde_json::to_string(&scope).unwrap(),
            format!("\"{scope}\"")
        );
    }
    let err = "Admin".parse::<Scope>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid scope \"Admin\": expected read, publish or admin"
    );
}

#[test]
fn generated_tokens_have_the_documented_shape() {
    let a = SecretToken::generate().unwrap();
    let b = SecretToken::generate().unwrap();
    assert_ne!(a, b);
    for token in [&a, &b] {
        let text = token.expose_secret();
        assert_eq!(text.len(), TOKEN_LEN);
        assert!(text.starts_with("mvt_"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&text[4..])
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert!(looks_like_token(text));
        assert_eq!(token.display_prefix(), &text[..10]);
    }
}

#[test]
fn token_shape_check() {
    assert!(looks_like_token(TOKEN));
    assert!(!looks_like_token(""));
    assert!(!looks_like_token("mvt_"));
    assert!(!looks_like_token(&TOKEN[..TOKEN_LEN - 1]));
    assert!(!looks_like_token(&format!("{TOKEN}A")));
    assert!(!looks_like_token(&TOKEN.replace("mvt_", "mvx_")));
    assert!(!looks_like_token(&TOKEN.replacen('A', "+", 1)));
    assert!(!looks_like_token(&TOKEN.replacen('A', "é", 1)[..TOKEN_LEN]));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let token = SecretToken::generate().unwrap();
    let debug = format!("{token:?} {:?}", Some(&token));
    assert!(!debug.contains(&token.expose_secret()[4..]), "{debug}");
    assert_eq!(format!("{token:?}"), "SecretToken(mvt_…)");
    let digest = TokenDigest::of(token.expose_secret());
    assert_eq!(format!("{digest:?}"), "TokenDigest(…)");
}

#[test]
fn digests_compare_equal_only_when_equal() {
    let a = TokenDigest::of(TOKEN);
    assert!(a.ct_eq(&TokenDigest::of(TOKEN)));
    assert!(!a.ct_eq(&TokenDigest::of(&TOKEN.replacen('A', "B", 1))));
}

#[test]
fn bearer_credentials() {
    assert_eq!(
        credential(&format!("Bearer {TOKEN}")).as_deref(),
        Some(TOKEN)
    );
    assert_eq!(
        credential(&format!("bearer {TOKEN}")).as_deref(),
        Some(TOKEN)
    );
    assert_eq!(
        credential(&format!("BEARER \t {TOKEN}  ")).as_deref(),
        Some(TOKEN)
    );
    assert_eq!(
        credential(&format!("  Bearer {TOKEN}")).as_deref(),
        Some(TOKEN)
    );
    assert_eq!(
        credential("Bearer abc.def-ghi_jkl~+/=").as_deref(),
        Some("abc.def-ghi_jkl~+/=")
    );
    for bad in [
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "Bearer a b",
        "Bearer a\"b",
        "Bearer\u{a0}x",
        "Bearerx y",
    ] {
        assert_eq!(credential(bad), None, "{bad:?}");
    }
}

#[test]
fn basic_credentials_carry_the_token_as_password() {
    // What the go command sends for `machine host login ci password <token>`.
    assert_eq!(
        credential(&basic(&format!("ci:{TOKEN}"))).as_deref(),
        Some(TOKEN)
    );
    // Any user name, including none; the password may contain ':'.
    assert_eq!(
        credential(&basic(&format!(":{TOKEN}"))).as_deref(),
        Some(TOKEN)
    );
    assert_eq!(credential(&basic("me:a:b")).as_deref(), Some("a:b"));
    assert_eq!(credential(&basic("x:é")).as_deref(), Some("é"));
    // Scheme case and padding do not matter.
    let header = basic(&format!("user:{TOKEN}x")); // 53 bytes: padded
    assert!(header.ends_with('='));
    let unpadded = header.trim_end_matches('=').replacen("Basic", "bAsIc", 1);
    assert_eq!(credential(&unpadded), Some(format!("{TOKEN}x")));
    // No password, no colon, not base64, not UTF-8: nothing.
    for bad in [
        basic("user:"),
        basic("user"),
        basic(""),
        "Basic".to_owned(),
        "Basic !!!!".to_owned(),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(b"u:\xff\xfe")
        ),
        format!("Digest {}", basic("u:p")[6..].to_owned()),
        format!("Token {TOKEN}"),
        TOKEN.to_owned(),
        String::new(),
    ] {
        assert_eq!(credential(&bad), None, "{bad:?}");
    }
}

#[test]
fn oversized_and_hostile_headers_are_refused_without_panicking() {
    let huge = format!("Bearer {}", "a".repeat(10_000));
    assert_eq!(credential(&huge), None);
    for header in [
        "\u{0}",
        "Basic \u{10ffff}",
        "Basic ====",
        "Basic =",
        "Bearer \u{0}",
        " ",
        "Basic  Og==",
    ] {
        let _ = credential_from_header(header);
    }
    // "Og==" is ":", an empty user and an empty password.
    assert_eq!(credential("Basic Og=="), None);
}

fn principal(scope: Scope, matches: &[&str]) -> Principal {
    Principal {
        name: "ci".to_owned(),
        scope,
        matches: matches.iter().map(|m| m.to_string()).collect(),
    }
}

#[test]
fn default_policy_reads_anonymously_but_publishing_needs_a_token() {
    let policy = AccessPolicy::default();
    assert_eq!(policy.anonymous_read, vec!["*".to_owned()]);
    // `*` covers every module path, however many elements it has.
    for path in [
        "example.com",
        "golang.org/x/mod",
        "git.corp.example/a/b/c/v2",
    ] {
        assert_eq!(policy.authorize(None, path, Scope::Read), Decision::Allow);
        assert_eq!(
            policy.authorize(None, path, Scope::Publish),
            Decision::Unauthenticated
        );
        assert_eq!(
            policy.authorize(None, path, Scope::Admin),
            Decision::Unauthenticated
        );
    }
}

#[test]
fn scope_hierarchy() {
    let policy = AccessPolicy::new(vec![]).unwrap();
    let path = "example.com/m";
    for (has, need, allowed) in [
        (Scope::Read, Scope::Read, true),
        (Scope::Read, Scope::Publish, false),
        (Scope::Read, Scope::Admin, false),
        (Scope::Publish, Scope::Read, true),
        (Scope::Publish, Scope::Publish, true),
        (Scope::Publish, Scope::Admin, false),
        (Scope::Admin, Scope::Read, true),
        (Scope::Admin, Scope::Publish, true),
        (Scope::Admin, Scope::Admin, true),
    ] {
        let decision = policy.authorize(Some(&principal(has, &[])), path, need);
        let expected = if allowed {
            Decision::Allow
        } else {
            Decision::Forbidden(Denial::ScopeTooLow {
                token: "ci".to_owned(),
                has,
                needs: need,
            })
        };
        assert_eq!(decision, expected, "{has} needing {need}");
    }
}

#[test]
fn private_modules_need_a_token_that_covers_them() {
    let policy = AccessPolicy::new(vec!["golang.org,github.com".to_owned()]).unwrap();
    assert_eq!(policy.anonymous_read, vec!["golang.org", "github.com"]);
    let private = "git.corp.example/team/app";
    assert_eq!(
        policy.authorize(None, "golang.org/x/mod", Scope::Read),
        Decision::Allow
    );
    assert_eq!(
        policy.authorize(None, private, Scope::Read),
        Decision::Unauthenticated
    );

    let team = principal(Scope::Publish, &["git.corp.example/team"]);
    assert_eq!(
        policy.authorize(Some(&team), private, Scope::Read),
        Decision::Allow
    );
    assert_eq!(
        policy.authorize(Some(&team), private, Scope::Publish),
        Decision::Allow
    );
    let other = "git.corp.example/other/app";
    let denied = policy.authorize(Some(&team), other, Scope::Read);
    assert_eq!(
        denied,
        Decision::Forbidden(Denial::ModuleNotCovered {
            token: "ci".to_owned(),
            module: other.to_owned(),
        })
    );
    let Decision::Forbidden(denial) = denied else {
        unreachable!()
    };
    assert_eq!(
        denial.to_string(),
        "token \"ci\" does not cover module git.corp.example/other/app"
    );
    // A token never makes a caller worse off than anonymous.
    assert_eq!(
        policy.authorize(Some(&team), "golang.org/x/mod", Scope::Read),
        Decision::Allow
    );
    // ...but publishing a public module still needs coverage.
    assert!(matches!(
        policy.authorize(Some(&team), "golang.org/x/mod", Scope::Publish),
        Decision::Forbidden(Denial::ModuleNotCovered { .. })
    ));
    // Scope is checked before coverage.
    let reader = principal(Scope::Read, &["git.corp.example/team"]);
    let Decision::Forbidden(denial) = policy.authorize(Some(&reader), other, Scope::Publish) else {
        panic!("expected forbidden")
    };
    assert_eq!(
        denial.to_string(),
        "token \"ci\" has scope read; this needs publish"
    );
}

/// The pattern semantics documented on `AccessPolicy`.
#[test]
fn patterns_use_match_prefix_semantics() {
    let covers = |pattern: &str, path: &str| principal(Scope::Read, &[pattern]).covers(path);
    assert!(covers("*", "example.com"));
    assert!(covers("*", "example.com/a/b"));
    assert!(!covers("*/*", "example.com"));
    assert!(covers("*/*", "example.com/a/b"));
    assert!(covers("corp.example", "corp.example/x/y"));
    assert!(!covers("corp.example", "corp.example.org/x"));
    assert!(covers("*.corp.example", "git.corp.example/x"));
    assert!(!covers("*.corp.example", "corp.example/x"));
    assert!(covers("corp.example/", "corp.example/x"));
    assert!(!covers("Corp.example", "corp.example/x"));
    // Entries loaded from a hand-edited file may be comma lists.
    assert!(covers("a.example,b.example", "b.example/x"));
    // No matches: every module.
    assert!(principal(Scope::Read, &[]).covers("anything.example/x"));
}

#[test]
fn policy_patterns_are_validated() {
    for (bad, message) in [
        ("", "invalid module pattern \"\": empty pattern"),
        ("a.example,", "invalid module pattern \"\": empty pattern"),
        (
            " a.example",
            "invalid module pattern \" a.example\": surrounding whitespace",
        ),
        (
            "a.example/[",
            "invalid module pattern \"a.example/[\": malformed glob",
        ),
    ] {
        let err = AccessPolicy::new(vec![bad.to_owned()]).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        AccessPolicy::new(vec![]).unwrap().anonymous_read,
        Vec::<String>::new()
    );
}
