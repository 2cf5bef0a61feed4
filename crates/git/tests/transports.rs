//! The git source over real transports, against the go command in direct
//! mode reaching the same servers with the same credentials: smart HTTP
//! over TLS behind Basic authentication (nginx, fcgiwrap, `git
//! http-backend`; a test CA through `http.sslCAInfo`), with a git
//! credential helper, with `~/.netrc`, and with credentials modvault holds
//! itself; and OpenSSH's sshd, with `ssh://` and scp-style remotes and
//! `GIT_SSH_COMMAND`. Then the ways this fails: a wrong password, a key the
//! server does not accept, an unknown host key, a host that never speaks.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use modvault_git::GitCredential;
use modvault_testkit::servers::{GitHttpsServer, SilentListener, SshServer};
use modvault_testkit::{GitRepo, TempDir};
use modvault_upstream::FetchError;
use support::{Harness, RepoExt};

const USER: &str = "alice";
const PASSWORD: &str = "pw-0f1e2d3c-secret";

/// A repository with a tag, commits after it on main, and a branch: the
/// shapes the comparisons below need.
fn build_repo(path: PathBuf, gitconfig: PathBuf, module: &str) -> GitRepo {
    let mut repo = GitRepo::init(path, gitconfig);
    repo.commit_files(
        &[
            ("go.mod", &format!("module {module}\n\ngo 1.21\n")),
            ("lib.go", "package lib\n"),
            ("LICENSE", "license\n"),
        ],
        "first",
    );
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.commit_files(&[("lib.go", "package lib\n\nconst X = 1\n")], "second");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit_files(&[("feature.go", "package lib\n")], "feature");
    repo.git(&["checkout", "-q", "main"]);
    repo
}

/// Sum, GoModSum and `.info` of a tag and of a pseudo-version, `list`,
/// `@latest`, and a branch query, as the go command in direct mode has
/// them.
fn assert_same_as_go(h: &Harness, module: &str) {
    assert_eq!(h.assert_list(module), ["v1.0.0"], "{module}: list");
    h.assert_latest(module).expect("a latest version");
    h.assert_download(module, "v1.0.0");
    let pseudo = h.assert_query(module, "main").expect("main").version;
    assert!(pseudo.starts_with("v1.0.1-0."), "{pseudo}");
    h.assert_download(module, &pseudo);
    h.assert_query(module, "feature").expect("a branch query");
}

fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A harness whose git (both sides) reaches `https://github.com/corp/` on
/// the HTTPS server and trusts its CA: the go command through
/// `http.sslCAInfo` in the shared git configuration, modvault's git
/// through `GIT_SSL_CAINFO`, which must be set because it would override
/// that setting when inherited from the environment (as on machines whose
/// environment points it at the system bundle).
fn https_harness(
    server: &GitHttpsServer,
    go_env: Vec<(String, String)>,
    configure: impl FnOnce(&mut modvault_git::GitSourceOptions),
) -> Harness {
    let ca = server.ca.display().to_string();
    let h = Harness::custom(
        go_env,
        |o| {
            o.git_env.push(("GIT_SSL_CAINFO".into(), ca.clone()));
            configure(o);
        },
        None,
    );
    h.append_gitconfig(&format!(
        "[http]\n\tsslCAInfo = {ca}\n[url \"{}/corp/\"]\n\tinsteadOf = https://github.com/corp/\n",
        server.url
    ));
    h
}

fn upstream_error<T: std::fmt::Debug>(result: Result<T, FetchError>) -> String {
    match result {
        Err(FetchError::Upstream(message)) => message,
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[test]
fn https_with_a_git_credential_helper() {
    let repos = TempDir::new().unwrap();
    let server = GitHttpsServer::start(repos.path(), USER, PASSWORD, &[]);
    // Every question reaches the server (no remembered failure), so that
    // the helper added below is used at once.
    let h = https_harness(&server, Vec::new(), |o| o.failure_ttl = Duration::ZERO);
    let module = "github.com/corp/helper";
    build_repo(repos.path().join("corp/helper"), h.go.gitconfig(), module);

    // Without credentials the server refuses.
    let refused = upstream_error(h.ours_list(module));
    assert!(
        refused.starts_with("authentication to https://github.com/corp/helper failed"),
        "{refused}"
    );

    // git's own store helper, in the configuration both sides read.
    let store = h.go.dir.path().join("git-credentials");
    write_private(
        &store,
        &format!("https://{USER}:{PASSWORD}@{}\n", server.authority()),
    );
    h.append_gitconfig(&format!(
        "[credential]\n\thelper = store --file={}\n",
        store.display()
    ));
    assert_same_as_go(&h, module);
}

#[test]
fn https_with_netrc() {
    let repos = TempDir::new().unwrap();
    let server = GitHttpsServer::start(repos.path(), USER, PASSWORD, &[]);
    let home = TempDir::new().unwrap();
    write_private(
        &home.path().join(".netrc"),
        &format!("machine 127.0.0.1\nlogin {USER}\npassword {PASSWORD}\n"),
    );
    let home_env = ("HOME".to_owned(), home.path().display().to_string());
    let h = https_harness(&server, vec![home_env.clone()], |o| {
        o.git_env.push(home_env.clone())
    });
    let module = "github.com/corp/netrc";
    build_repo(repos.path().join("corp/netrc"), h.go.gitconfig(), module);
    assert_same_as_go(&h, module);
}

#[test]
fn https_with_credentials_modvault_holds_and_token_rotation() {
    let repos = TempDir::new().unwrap();
    let server = GitHttpsServer::start(repos.path(), USER, PASSWORD, &[]);
    // The go command gets the same credentials from ~/.netrc; modvault's
    // git has an empty home, so only its own credentials can work.
    let go_home = TempDir::new().unwrap();
    let netrc = go_home.path().join(".netrc");
    let empty_home = TempDir::new().unwrap();
    let secrets = TempDir::new().unwrap();
    let token_file = secrets.path().join("token");
    write_private(&token_file, &format!("{PASSWORD}\n"));
    write_private(
        &netrc,
        &format!("machine 127.0.0.1\nlogin {USER}\npassword {PASSWORD}\n"),
    );
    let credential = GitCredential {
        url_prefix: format!("{}/corp", server.url),
        username: USER.into(),
        secret_file: token_file.clone(),
    };
    let h = https_harness(
        &server,
        vec![("HOME".into(), go_home.path().display().to_string())],
        |o| {
            o.git_env
                .push(("HOME".into(), empty_home.path().display().to_string()));
            o.credentials = vec![credential];
            // Every question reaches the server: rotation must work
            // without a restart.
            o.failure_ttl = Duration::ZERO;
        },
    );
    let module = "github.com/corp/held";
    let mut repo = build_repo(repos.path().join("corp/held"), h.go.gitconfig(), module);
    assert_same_as_go(&h, module);

    // Token rotation: the server takes only the new token, the file is
    // replaced, and the next fetch uses it.
    let rotated = "pw-rotated-7a6b5c4d";
    server.set_password(USER, rotated);
    write_private(
        &netrc,
        &format!("machine 127.0.0.1\nlogin {USER}\npassword {rotated}\n"),
    );
    repo.commit_files(&[("lib.go", "package lib\n\nconst X = 2\n")], "third");
    repo.tag("v1.1.0");
    let message = upstream_error(h.ours_list(module));
    assert!(message.contains("authentication to"), "{message}");
    write_private(&token_file, &format!("{rotated}\n"));
    assert_eq!(h.assert_list(module), ["v1.0.0", "v1.1.0"]);
    h.assert_download(module, "v1.1.0");
}

#[test]
fn ssh_remotes_by_url_and_scp_style() {
    let repos = TempDir::new().unwrap();
    let server = SshServer::start(&["git.corp.example"]);
    let ssh = ("GIT_SSH_COMMAND".to_owned(), server.ssh_command());
    let h = Harness::custom(vec![ssh.clone()], |o| o.git_env.push(ssh.clone()), None);
    // ssh://user@127.0.0.1:port/abs/path, and user@git.corp.example:/abs/path
    // (scp-style, the host an alias in the ssh config).
    h.append_gitconfig(&format!(
        "[url \"{}/\"]\n\tinsteadOf = https://github.com/corp/\n\
         [url \"{}@git.corp.example:{}/\"]\n\tinsteadOf = https://github.com/scp/\n",
        server.url(&repos.path().join("corp")),
        server.user,
        repos.path().join("scp").display()
    ));
    for (dir, module) in [
        ("corp/lib", "github.com/corp/lib"),
        ("scp/lib", "github.com/scp/lib"),
    ] {
        build_repo(repos.path().join(dir), h.go.gitconfig(), module);
        assert_same_as_go(&h, module);
    }
    assert!(server.connections() > 0);
}

/// Each failure: a one-line reason naming the repository's host, no
/// credential, remembered (a retry does not reach the server), and no
/// mirror or staging directory left behind.
fn assert_failure(
    h: &Harness,
    module: &str,
    expected: &str,
    contacts: &dyn Fn() -> usize,
    secrets: &[&str],
) {
    let message = upstream_error(h.ours_list(module));
    assert!(
        message.contains(expected),
        "{message}\nshould contain {expected:?}"
    );
    assert!(!message.contains('\n'), "one line: {message:?}");
    for secret in secrets {
        assert!(!message.contains(secret), "{message}");
    }
    let seen = contacts();
    assert!(seen > 0, "the server was contacted");
    // Retries (other questions about the same repository) are answered
    // from memory.
    assert_eq!(upstream_error(h.ours_list(module)), message);
    assert_eq!(
        upstream_error(h.ours_info(module, "v1.0.0")),
        message,
        "a canonical version"
    );
    upstream_error(h.ours_latest(module));
    assert_eq!(
        contacts(),
        seen,
        "{module}: retries must not reach the server"
    );
    assert_eq!(
        h.mirror_entries(),
        Vec::<String>::new(),
        "no half-made mirror"
    );
}

fn failing(configure: impl FnOnce(&mut modvault_git::GitSourceOptions)) -> Harness {
    Harness::custom(
        Vec::new(),
        |o| {
            o.failure_ttl = Duration::from_secs(3600);
            configure(o);
        },
        None,
    )
}

fn import(prefix: &str, repo: String) -> modvault_git::GoImport {
    modvault_git::GoImport {
        prefix: prefix.into(),
        vcs: "git".into(),
        repo,
        subdir: None,
    }
}

#[test]
fn a_wrong_password_is_clear_remembered_and_leaves_nothing() {
    let repos = TempDir::new().unwrap();
    let server = GitHttpsServer::start(repos.path(), USER, PASSWORD, &[]);
    let secrets = TempDir::new().unwrap();
    let token_file = secrets.path().join("token");
    write_private(&token_file, "wrong-token-9z8y7x\n");
    let url = format!("{}/corp/lib", server.url);
    let h = failing(|o| {
        o.go_imports = vec![import("corp.example/lib", url.clone())];
        o.git_env
            .push(("GIT_SSL_CAINFO".into(), server.ca.display().to_string()));
        o.credentials = vec![GitCredential {
            url_prefix: server.url.clone(),
            username: USER.into(),
            secret_file: token_file.clone(),
        }];
    });
    build_repo(
        repos.path().join("corp/lib"),
        h.go.gitconfig(),
        "corp.example/lib",
    );
    assert_failure(
        &h,
        "corp.example/lib",
        &format!("authentication to {url} failed"),
        &|| server.requests(),
        &["wrong-token-9z8y7x", PASSWORD],
    );
}

#[test]
fn ssh_failures_are_clear_remembered_and_leave_nothing() {
    let repos = TempDir::new().unwrap();
    let server = SshServer::start(&[]);
    let go = modvault_testkit::Go::new();
    build_repo(
        repos.path().join("corp/lib"),
        go.gitconfig(),
        "corp.example/lib",
    );
    let url = server.url(&repos.path().join("corp/lib"));
    let shown = url.replace(&format!("{}@", server.user), "");
    let with_ssh = |command: String| {
        failing(|o| {
            o.go_imports = vec![import("corp.example/lib", url.clone())];
            o.git_env.push(("GIT_SSH_COMMAND".into(), command));
        })
    };

    // A key the server does not accept.
    let h = with_ssh(server.ssh_command_with(&server.other_key(), &server.known_hosts));
    assert_failure(
        &h,
        "corp.example/lib",
        &format!("authentication to {shown} failed"),
        &|| server.connections(),
        &[],
    );
    let message = upstream_error(h.ours_list("corp.example/lib"));
    assert!(
        message.ends_with("Permission denied (publickey)."),
        "{message}"
    );

    // A host key the client does not know.
    let h = with_ssh(server.ssh_command_with(&server.client_key, &server.empty_known_hosts()));
    let before = server.connections();
    assert_failure(
        &h,
        "corp.example/lib",
        &format!("the ssh host key of {shown} is unknown"),
        &|| server.connections() - before,
        &[],
    );

    // A host that accepts the connection and never speaks: the connect
    // timeout (not the 2-minute command timeout) ends it.
    let silent = SilentListener::start();
    let hanging_url = format!("ssh://{}@127.0.0.1:{}/corp/lib", server.user, silent.port);
    let h = failing(|o| {
        o.go_imports = vec![import("hangs.example/lib", hanging_url.clone())];
        o.git_env
            .push(("GIT_SSH_COMMAND".into(), server.ssh_command()));
        o.http.connect_timeout = Duration::from_secs(2);
    });
    assert_failure(
        &h,
        "hangs.example/lib",
        &format!(
            "connecting to ssh://127.0.0.1:{}/corp/lib timed out",
            silent.port
        ),
        &|| silent.accepted(),
        &[],
    );
}
