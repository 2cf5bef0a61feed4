//! Private repositories as companies serve them, through the `modvault`
//! binary: a GitLab-like HTTPS server (nginx, `git http-backend`, Basic
//! authentication for git *and* for `?go-get=1` discovery) reached at
//! `git.corp.example` through an HTTPS proxy, with a `[[git_credential]]`
//! token modvault holds itself; and an SSH server reached with a deploy key
//! through an scp-style `[[go_import]]`. A go client using modvault as its
//! GOPROXY must see exactly what the go command in direct mode sees with the
//! same credentials. Then a wrong token, and a token file anyone can read.

use std::path::{Path, PathBuf};
use std::process::Command;

use modvault_testkit::servers::{ConnectProxy, GitHttpsServer, SshServer};
use modvault_testkit::{run_ok, GitRepo, Go, Modvault, TempDir};
use serde_json::Value;

fn modvault_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_modvault"))
}

const TOKEN: &str = "glpat-0a1b2c3d4e5f-secret";
const WRONG_TOKEN: &str = "glpat-wrong-9f8e7d";
const HTTPS_MODULE: &str = "git.corp.example/corp/lib";
const SSH_MODULE: &str = "github.com/team/lib";
const DENIED_MODULE: &str = "git.corp.example/other/lib";

fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn build_repo(path: PathBuf, go: &Go, module: &str) {
    let mut repo = GitRepo::init(path, go.gitconfig());
    repo.write("go.mod", format!("module {module}\n\ngo 1.21\n"))
        .write("lib.go", "package lib\n");
    repo.commit("first");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    repo.write("lib.go", "package lib\n\nconst X = 1\n");
    repo.commit("second");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.go", "package lib\n");
    repo.commit("feature");
    repo.git(&["checkout", "-q", "main"]);
}

/// What a go client learns about `module`: the version list, `@latest`, a
/// branch query, and for v1.0.0 and the pseudo-version of main: Version,
/// Time, Sum and GoModSum.
fn observe(
    go: &Go,
    goproxy: &str,
    name: &str,
    env: &[(&str, String)],
    module: &str,
) -> Vec<String> {
    let cache = go.mod_cache(name);
    let json = |args: &[&str]| -> Value {
        let mut command = go.command(goproxy, &cache);
        command.envs(env.iter().map(|(k, v)| (k, v))).args(args);
        serde_json::from_slice(&run_ok(&mut command).stdout).unwrap()
    };
    let query = |q: &str| {
        let v = json(&["list", "-m", "-json", &format!("{module}@{q}")]);
        format!("{module}@{q}: {} {}", v["Version"], v["Time"])
    };
    let mut facts = vec![
        format!(
            "list: {}",
            json(&["list", "-m", "-versions", "-json", module])["Versions"]
        ),
        query("latest"),
        query("feature"),
    ];
    let pseudo = json(&["list", "-m", "-json", &format!("{module}@main")])["Version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(pseudo.starts_with("v1.0.1-0."), "{pseudo}");
    for version in ["v1.0.0", pseudo.as_str()] {
        let d = json(&["mod", "download", "-json", &format!("{module}@{version}")]);
        let info: Value =
            serde_json::from_slice(&std::fs::read(d["Info"].as_str().unwrap()).unwrap()).unwrap();
        facts.push(format!(
            "{module}@{version}: {} {} {} {} {}",
            d["Version"], info["Version"], info["Time"], d["Sum"], d["GoModSum"]
        ));
    }
    facts
}

#[test]
fn private_gitlab_over_https_and_a_deploy_key_over_ssh() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let repos = dir.path().join("repos");
    let https = GitHttpsServer::start(&repos, "oauth2", TOKEN, &["git.corp.example"]);
    let proxy = ConnectProxy::start(&[("git.corp.example:443", https.port)]);
    let ssh = SshServer::start(&["git.corp.example"]);
    build_repo(repos.join("corp/lib"), &go, HTTPS_MODULE);
    build_repo(repos.join("other/lib"), &go, DENIED_MODULE);
    build_repo(repos.join("team/lib"), &go, SSH_MODULE);
    let scp_repo = format!(
        "{}@git.corp.example:{}",
        ssh.user,
        repos.join("team/lib").display()
    );

    let token_file = dir.path().join("gitlab.token");
    write_private(&token_file, &format!("{TOKEN}\n"));
    let wrong_file = dir.path().join("other.token");
    write_private(&wrong_file, &format!("{WRONG_TOKEN}\n"));
    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        format!(
            r#"upstream = "direct"

[sumdb]
upstream = []

[[rule]]
match = "git.corp.example,github.com/team"
source = "direct"
sumdb = false

[[git_credential]]
host = "git.corp.example"
username = "oauth2"
token_file = "{token}"

[[git_credential]]
url = "https://git.corp.example/other/"
username = "oauth2"
token_file = "{wrong}"

[[go_import]]
prefix = "{DENIED_MODULE}"
vcs = "git"
repo = "https://git.corp.example/other/lib"

[[go_import]]
prefix = "{SSH_MODULE}"
vcs = "git"
repo = "{scp_repo}"
"#,
            token = token_file.display(),
            wrong = wrong_file.display(),
        ),
    )
    .unwrap();

    // modvault: no netrc, no git credential helper of its own user; the
    // test CA for git (GIT_SSL_CAINFO) and for discovery (SSL_CERT_FILE).
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let empty_gitconfig = dir.path().join("empty-gitconfig");
    std::fs::write(&empty_gitconfig, "").unwrap();
    let ca = https.ca.display().to_string();
    let ssh_command = ssh.ssh_command();
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("data"),
        "direct",
        &["--config", config.to_str().unwrap()],
        &[
            ("HOME", home.to_str().unwrap()),
            ("GIT_CONFIG_GLOBAL", empty_gitconfig.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("HTTPS_PROXY", &proxy.url),
            ("https_proxy", &proxy.url),
            ("SSL_CERT_FILE", &ca),
            ("GIT_SSL_CAINFO", &ca),
            ("GIT_SSH_COMMAND", &ssh_command),
        ],
    );

    // The go command in direct mode, with the same credentials its own
    // way: ~/.netrc for discovery and git over HTTPS, the deploy key for
    // ssh, the scp-style remote through insteadOf.
    let go_home = dir.path().join("go-home");
    std::fs::create_dir_all(&go_home).unwrap();
    write_private(
        &go_home.join(".netrc"),
        &format!("machine git.corp.example\nlogin oauth2\npassword {TOKEN}\n"),
    );
    {
        use std::io::Write;
        let mut gitconfig = std::fs::OpenOptions::new()
            .append(true)
            .open(go.gitconfig())
            .unwrap();
        writeln!(
            gitconfig,
            "[url \"{scp_repo}\"]\n\tinsteadOf = https://github.com/team/lib"
        )
        .unwrap();
    }
    let direct_env = [
        ("HOME", go_home.display().to_string()),
        ("HTTPS_PROXY", proxy.url.clone()),
        ("SSL_CERT_FILE", ca.clone()),
        ("GIT_SSL_CAINFO", ca.clone()),
        ("GIT_SSH_COMMAND", ssh_command.clone()),
    ];
    // A client of modvault: GOPROXY, and GONOSUMDB for the private paths
    // (the public checksum database must never hear of them).
    let client_env = [
        ("GOSUMDB", "sum.golang.org".to_owned()),
        ("GONOSUMDB", "git.corp.example,github.com/team".to_owned()),
    ];
    for module in [HTTPS_MODULE, SSH_MODULE] {
        let direct = observe(
            &go,
            "direct",
            &format!("direct-{module}"),
            &direct_env,
            module,
        );
        let through = observe(
            &go,
            &modvault.url,
            &format!("through-{module}"),
            &client_env,
            module,
        );
        assert_eq!(through, direct, "{module}");
    }
    assert!(
        proxy.tunnels() > 0,
        "git.corp.example was reached through the proxy"
    );
    assert!(ssh.connections() > 0);

    // A wrong token: every request answers one line naming the repository,
    // the failure is logged once, and the server is asked once.
    let path = format!("/{DENIED_MODULE}/@v/list");
    let first = modvault.get(&path);
    assert_eq!(first.status().as_u16(), 404);
    let body = first.text().unwrap();
    let served = https.requests();
    for _ in 0..3 {
        let again = modvault.get(&path);
        assert_eq!(again.status().as_u16(), 404);
        assert_eq!(again.text().unwrap(), body);
    }
    assert_eq!(
        https.requests(),
        served,
        "retries must not reach the server"
    );
    assert_eq!(body.lines().count(), 1, "{body:?}");
    assert!(
        body.contains("authentication to https://git.corp.example/other/lib failed"),
        "{body}"
    );
    let log = modvault.log();
    let failures: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("cannot fetch from the repository"))
        .collect();
    assert_eq!(failures.len(), 1, "{log:#?}");
    assert!(
        failures[0].contains("git.corp.example/other/lib"),
        "{}",
        failures[0]
    );
    for secret in [TOKEN, WRONG_TOKEN] {
        assert!(!body.contains(secret));
        assert!(log.iter().all(|l| !l.contains(secret)), "{log:#?}");
    }
    assert!(
        !dir.path()
            .join("data/.modvault/git/mirrors")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("other")),
        "no half-made mirror"
    );
}

#[test]
fn a_token_file_anyone_can_read_stops_start_up() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        format!(
            "[[git_credential]]\nhost = \"git.corp.example\"\nusername = \"oauth2\"\ntoken_file = \"{}\"\n",
            token.display()
        ),
    )
    .unwrap();
    let out = Command::new(modvault_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("git_credential[0].token_file")
            && stderr.contains(&format!("{} is readable by everyone", token.display()))
            && !stderr.contains("t0ken"),
        "{stderr}"
    );
}
