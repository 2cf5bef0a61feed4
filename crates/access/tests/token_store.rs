//! The token store against a real file system: persistence, atomic and
//! locked writes, and a second process's changes seen without a restart.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use modvault_access::{AccessError, Principal, Scope, TokenStore, DEFAULT_REFRESH_INTERVAL};

fn token_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join(".modvault/tokens.json")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn create_list_revoke_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    let store = TokenStore::open(&path).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(!path.exists(), "opening must not create the file");

    let ci = store.create("ci", Scope::Read, vec![]).unwrap();
    let admin = store
        .create(
            "alice@corp",
            Scope::Admin,
            strings(&["git.corp.example/*,rsc.io/private"]),
        )
        .unwrap();
    assert_ne!(ci, admin);

    let list = store.list().unwrap();
    let summary: Vec<_> = list
        .iter()
        .map(|t| (t.name.as_str(), t.scope, t.matches.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ci", Scope::Read, vec![]),
            (
                "alice@corp",
                Scope::Admin,
                strings(&["git.corp.example/*", "rsc.io/private"])
            ),
        ]
    );
    assert_eq!(list[0].prefix, &ci.expose_secret()[..10]);
    let created = time::OffsetDateTime::parse(
        &list[0].created,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (time::OffsetDateTime::now_utc() - created)
            .whole_seconds()
            .abs()
            < 60
    );
    assert!(list[0].created.ends_with('Z'), "{}", list[0].created);

    assert_eq!(
        store.authenticate(ci.expose_secret()),
        Some(Principal {
            name: "ci".into(),
            scope: Scope::Read,
            matches: vec![]
        })
    );
    assert_eq!(
        store.authenticate(admin.expose_secret()).unwrap().name,
        "alice@corp"
    );

    // A fresh store (a restarted server) sees the same tokens.
    let reopened = TokenStore::open(&path).unwrap();
    assert_eq!(reopened.list().unwrap(), list);
    assert_eq!(
        reopened.authenticate(ci.expose_secret()).unwrap().name,
        "ci"
    );

    assert!(store.revoke("ci").unwrap());
    assert!(!store.revoke("ci").unwrap());
    assert!(!store.revoke("nobody").unwrap());
    assert_eq!(store.authenticate(ci.expose_secret()), None);
    assert_eq!(
        store.authenticate(admin.expose_secret()).unwrap().scope,
        Scope::Admin
    );
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn the_file_holds_digests_only_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    let store = TokenStore::open(&path).unwrap();
    let token = store.create("ci", Scope::Publish, vec![]).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let secret = &token.expose_secret()[4..];
    assert!(!text.contains(secret), "token stored in clear: {text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1);
    let record = &json["tokens"][0];
    assert_eq!(record["name"], "ci");
    assert_eq!(record["scope"], "publish");
    assert_eq!(record["prefix"], &token.expose_secret()[..10]);
    let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        token.expose_secret(),
    ));
    assert_eq!(record["sha256"], expected);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No temporary files are left behind.
    let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn invalid_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::open(&token_path(&dir)).unwrap();
    store.create("ci", Scope::Read, vec![]).unwrap();
    let err = store.create("ci", Scope::Admin, vec![]).unwrap_err();
    assert!(matches!(err, AccessError::DuplicateName(_)));
    assert_eq!(err.to_string(), "a token named \"ci\" already exists");
    for bad in ["", "has space", "tab\t", "slash/", "ü", &"x".repeat(65)] {
        let err = store.create(bad, Scope::Read, vec![]).unwrap_err();
        assert!(matches!(err, AccessError::InvalidName(_)), "{bad:?}: {err}");
    }
    store.create(&"x".repeat(64), Scope::Read, vec![]).unwrap();
    for bad in ["", "a.example,", "a.example/[", " a.example"] {
        let err = store
            .create("new", Scope::Read, strings(&[bad]))
            .unwrap_err();
        assert!(
            matches!(err, AccessError::InvalidPattern { .. }),
            "{bad:?}: {err}"
        );
    }
    // Nothing was written by the refused requests.
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn strangers_are_not_authenticated() {
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::open(&token_path(&dir)).unwrap();
    let token = store.create("ci", Scope::Read, vec![]).unwrap();
    let secret = token.expose_secret();
    let mut altered = secret.to_owned().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for stranger in [
        "",
        "mvt_",
        &altered,
        &secret[..secret.len() - 1],
        &format!("{secret}A"),
        &secret.to_uppercase(),
        &format!(" {secret}"),
        // The stored digest itself is not a credential.
        &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret)),
    ] {
        assert_eq!(store.authenticate(stranger), None, "{stranger:?}");
    }
}

#[test]
fn a_running_server_sees_other_processes_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    // The server starts before the file exists.
    let server = TokenStore::open(&path)
        .unwrap()
        .with_refresh_interval(Duration::from_millis(50));
    let cli = TokenStore::open(&path).unwrap();

    let token = cli.create("ci", Scope::Publish, vec![]).unwrap();
    wait_until(|| server.authenticate(token.expose_secret()).is_some());

    assert!(cli.revoke("ci").unwrap());
    wait_until(|| server.authenticate(token.expose_secret()).is_none());

    // Revoke and re-create under the same name: the old token stays dead.
    let second = cli.create("ci", Scope::Read, vec![]).unwrap();
    wait_until(|| server.authenticate(second.expose_secret()).is_some());
    assert_eq!(server.authenticate(token.expose_secret()), None);
    assert_eq!(
        server.authenticate(second.expose_secret()).unwrap().scope,
        Scope::Read
    );

    // The file removed: nothing is accepted.
    fs::remove_file(&path).unwrap();
    wait_until(|| server.authenticate(second.expose_secret()).is_none());
}

#[test]
fn the_default_interval_is_about_a_second() {
    assert_eq!(DEFAULT_REFRESH_INTERVAL, Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    let server = TokenStore::open(&path).unwrap();
    let token = TokenStore::open(&path)
        .unwrap()
        .create("ci", Scope::Read, vec![])
        .unwrap();
    // Within the interval the server answers from memory.
    assert_eq!(server.authenticate(token.expose_secret()), None);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(server.authenticate(token.expose_secret()).is_some());
}

#[test]
fn a_broken_file_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    let server = TokenStore::open(&path)
        .unwrap()
        .with_refresh_interval(Duration::ZERO);
    let token = server.create("ci", Scope::Read, vec![]).unwrap();
    assert!(server.authenticate(token.expose_secret()).is_some());

    let good = fs::read_to_string(&path).unwrap();
    fs::write(&path, &good[..good.len() / 2]).unwrap();
    assert_eq!(server.authenticate(token.expose_secret()), None);
    // Writers refuse to overwrite what they cannot read.
    assert!(matches!(
        server.create("other", Scope::Read, vec![]),
        Err(AccessError::Corrupt { .. })
    ));
    assert!(matches!(server.list(), Err(AccessError::Corrupt { .. })));
    assert!(matches!(
        TokenStore::open(&path),
        Err(AccessError::Corrupt { .. })
    ));

    fs::write(&path, &good).unwrap();
    assert!(server.authenticate(token.expose_secret()).is_some());
}

#[test]
fn invalid_files_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let digest = "0".repeat(64);
    let record = |name: &str, extra: &str| {
        format!(
            r#"{{"name":"{name}","scope":"read","created":"2025-01-01T00:00:00Z","prefix":"mvt_x","sha256":"{digest}"{extra}}}"#
        )
    };
    let cases = [
        ("[]".to_owned(), "expected struct TokenFile"),
        (
            r#"{"version":2,"tokens":[]}"#.to_owned(),
            "unsupported version 2",
        ),
        (
            format!(
                r#"{{"version":1,"tokens":[{},{}]}}"#,
                record("a", ""),
                record("a", "")
            ),
            "appears twice",
        ),
        (
            format!(r#"{{"version":1,"tokens":[{}]}}"#, record("a b", "")),
            "invalid token name",
        ),
        (
            format!(
                r#"{{"version":1,"tokens":[{}]}}"#,
                record("a", r#","matches":["x["]"#)
            ),
            "malformed glob",
        ),
        (
            format!(
                r#"{{"version":1,"tokens":[{}]}}"#,
                record("a", r#","token":"mvt_x""#)
            ),
            "unknown field",
        ),
        (
            format!(r#"{{"version":1,"tokens":[{}]}}"#, record("a", "")).replace(&digest, "zz"),
            "64 hex digits",
        ),
        (
            format!(r#"{{"version":1,"tokens":[{}]}}"#, record("a", "")).replace("read", "root"),
            "unknown variant",
        ),
    ];
    for (text, reason) in cases {
        fs::write(&path, &text).unwrap();
        let err = TokenStore::open(&path).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{}: invalid token file: ", path.display())),
            "{message}"
        );
        assert!(message.contains(reason), "{text}: {message}");
    }
    // A hand-written valid file with matches is accepted.
    fs::write(
        &path,
        format!(
            r#"{{"version":1,"tokens":[{}]}}"#,
            record("a", r#","matches":["x.example,y.example"]"#)
        ),
    )
    .unwrap();
    assert_eq!(
        TokenStore::open(&path).unwrap().list().unwrap()[0].matches,
        ["x.example,y.example"]
    );
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(token_path(&dir));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || {
                // A store per thread, like separate CLI processes.
                let store = TokenStore::open(&path).unwrap();
                (0..5)
                    .map(|j| {
                        store
                            .create(&format!("t{i}-{j}"), Scope::Read, vec![])
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let tokens: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let store = TokenStore::open(&path).unwrap();
    assert_eq!(store.list().unwrap().len(), 40);
    for token in &tokens {
        assert!(store.authenticate(token.expose_secret()).is_some());
    }
}

#[test]
fn errors_and_debug_output_never_contain_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_path(&dir);
    let store = TokenStore::open(&path).unwrap();
    let token = store.create("ci", Scope::Admin, vec![]).unwrap();
    let secret = &token.expose_secret()[4..];
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        token.expose_secret(),
    ));
    let debug = format!(
        "{store:?} {token:?} {:?}",
        store.authenticate(token.expose_secret())
    );
    assert!(
        !debug.contains(secret) && !debug.contains(&digest),
        "{debug}"
    );
    let err = store.create("ci", Scope::Admin, vec![]).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(secret));
}

fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("condition not met within 4 s");
}
