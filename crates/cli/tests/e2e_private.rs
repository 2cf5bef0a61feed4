//! Private modules: tokens over HTTPS with GOAUTH=netrc, publishing,
//! deny rules, and proof that private paths never leave modvault.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{keygen, modvault_bin};
use modvault_testkit::{file_url, make_test_ca, run_ok, Go, Modvault, TempDir};

const PRIVATE: &str = "github.com/corp/secret";
const PUBLIC: &str = "github.com/mvtest/hello";

fn module_repo(go: &Go, owner_and_name: &str, path: &str, content: &str) {
    let mut repo = go.repo(owner_and_name);
    repo.write("go.mod", format!("module {path}\n\ngo 1.21\n"))
        .write(
            "lib.go",
            format!("package lib\n\nconst Content = \"{content}\"\n"),
        );
    repo.commit("v1.0.0").tag("v1.0.0");
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("modvault.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn token(data_dir: &Path, config: &Path, name: &str, scope: &str, matches: &[&str]) -> String {
    let mut command = Command::new(modvault_bin());
    command
        .args([
            "token", "create", "--name", name, "--scope", scope, "--config",
        ])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir);
    for pattern in matches {
        command.args(["--match", pattern]);
    }
    String::from_utf8(run_ok(&mut command).stdout)
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn netrc_tokens_over_https_and_scopes() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    module_repo(&go, "corp/secret", PRIVATE, "secret");
    let data = dir.path().join("data");
    let (ca, cert, key) = make_test_ca(dir.path(), "private");
    let config = write_config(
        dir.path(),
        &format!(
            "upstream = \"direct\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n\n[auth]\nanonymous_read = []\n\n[sumdb]\nupstream = []\n\n[[rule]]\nmatch = \"github.com/corp\"\nsource = \"direct\"\nsumdb = false\n",
            cert.display(),
            key.display()
        ),
    );
    let reader = token(&data, &config, "ci-reader", "read", &["github.com/corp"]);
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data,
        "direct",
        &["--config", config.to_str().unwrap()],
        &[("GIT_CONFIG_GLOBAL", go.gitconfig().to_str().unwrap())],
    );
    let host_port = modvault.url.trim_start_matches("https://").to_owned();
    let (host, port) = host_port.split_once(':').unwrap();
    let netrc = dir.path().join("netrc");
    std::fs::write(&netrc, format!("machine {host}:{port}\nlogin ci\npassword {reader}\n\nmachine {host}\nlogin ci\npassword {reader}\n")).unwrap();
    let module = format!("{PRIVATE}@v1.0.0");

    // Without credentials: the go command fails, showing the 401.
    let anonymous = go
        .command(&modvault.url, &go.mod_cache("anonymous"))
        .env("SSL_CERT_FILE", &ca)
        .env("NETRC", dir.path().join("none"))
        .args(["mod", "download", "-json", &module])
        .output()
        .unwrap();
    assert!(!anonymous.status.success());
    let shown = String::from_utf8_lossy(&anonymous.stdout);
    assert!(
        shown.contains("401 Unauthorized") && shown.contains("needs a token"),
        "{shown}"
    );

    // GOAUTH=netrc (the default) with the read token.
    let authed = go
        .command(&modvault.url, &go.mod_cache("netrc"))
        .env("SSL_CERT_FILE", &ca)
        .env("NETRC", &netrc)
        .env("GOAUTH", "netrc")
        .args(["mod", "download", "-json", &module])
        .output()
        .unwrap();
    assert!(
        authed.status.success(),
        "{}",
        String::from_utf8_lossy(&authed.stdout)
    );
    let direct = go.download("direct", &go.mod_cache("direct"), &module);
    let authed: serde_json::Value = serde_json::from_slice(&authed.stdout).unwrap();
    assert_eq!(authed["Sum"], direct["Sum"]);

    // Bearer works too; a read token cannot publish; a revoked token is
    // refused by the running server without a restart; tokens never reach
    // the log.
    let pem = std::fs::read(&ca).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let url = |path: &str| format!("https://{host}:{port}{path}");
    let list = url(&format!("/{PRIVATE}/@v/list"));
    assert_eq!(
        client
            .get(&list)
            .bearer_auth(&reader)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let put = client
        .put(url(&format!("/{PRIVATE}/@v/v1.0.1.zip")))
        .bearer_auth(&reader)
        .body(Vec::new())
        .send()
        .unwrap();
    assert_eq!(put.status().as_u16(), 403);
    assert!(put.text().unwrap().contains("scope read"));
    let other = token(&data, &config, "other-team", "read", &["github.com/other"]);
    std::thread::sleep(std::time::Duration::from_millis(1200)); // the server re-reads tokens at most once a second
    assert_eq!(
        client
            .get(&list)
            .bearer_auth(&other)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    run_ok(
        Command::new(modvault_bin())
            .args(["token", "revoke", "ci-reader", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data),
    );
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let revoked = client
        .get(&list)
        .basic_auth("anyone", Some(&reader))
        .send()
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 401);
    assert!(revoked.headers().contains_key("www-authenticate"));
    let listed = String::from_utf8(
        run_ok(
            Command::new(modvault_bin())
                .args(["token", "list", "--config"])
                .arg(&config)
                .arg("--data-dir")
                .arg(&data),
        )
        .stdout,
    )
    .unwrap();
    assert!(
        listed.contains("other-team") && !listed.contains("ci-reader") && !listed.contains(&other),
        "{listed}"
    );
    assert!(modvault
        .log()
        .iter()
        .all(|line| !line.contains(&reader) && !line.contains(&other)));
}

#[test]
fn publish_then_get_and_versions_are_immutable() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        "[[rule]]\nmatch = \"corp.example\"\nsource = \"published\"\n\n[sumdb]\nupstream = []\n",
    );
    let publisher = token(&data, &config, "release", "publish", &["corp.example/*"]);
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data,
        "off",
        &["--config", config.to_str().unwrap()],
        &[],
    );

    // A zip with other content for the same version, made by the go command.
    let zip_of = |content: &str| {
        let scratch = Go::new();
        module_repo(&scratch, "corp/lib", "github.com/corp/lib", content);
        let tree = scratch.direct_tree("d", &["github.com/corp/lib@v1.0.0"]);
        std::fs::read(tree.join("github.com/corp/lib/@v/v1.0.0.zip")).unwrap()
    };
    // Rename the module inside: corp.example/lib instead of github.com/corp/lib.
    let rezip = |zip: Vec<u8>| {
        rename_zip_module(
            &zip,
            "github.com/corp/lib@v1.0.0/",
            "corp.example/lib@v1.0.0/",
            "github.com/corp/lib",
            "corp.example/lib",
        )
    };
    let first = rezip(zip_of("first"));
    let second = rezip(zip_of("second"));

    let client = reqwest::blocking::Client::new();
    let put = |body: &Vec<u8>, token: Option<&str>| {
        let mut request = client
            .put(format!("{}/corp.example/lib/@v/v1.0.0.zip", modvault.url))
            .body(body.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    assert_eq!(put(&first, None).0, 401);

    // `modvault publish` zips a directory as the go command would (skipping
    // .git, nested modules and vendored packages) and uploads it.
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(lib.join(".git")).unwrap();
    std::fs::create_dir_all(lib.join("nested")).unwrap();
    std::fs::write(
        lib.join("go.mod"),
        "module corp.example/lib

go 1.21
",
    )
    .unwrap();
    std::fs::write(
        lib.join("lib.go"),
        "package lib

const Content = \"first\"
",
    )
    .unwrap();
    std::fs::write(
        lib.join(".git/config"),
        "not part of the module
",
    )
    .unwrap();
    std::fs::write(
        lib.join("nested/go.mod"),
        "module corp.example/lib/nested
",
    )
    .unwrap();
    let publish = |token: &str| {
        Command::new(modvault_bin())
            .args(["publish", "--server", &modvault.url, "--token", token])
            .arg(&lib)
            .arg("v1.0.0")
            .output()
            .unwrap()
    };
    let published = publish(&publisher);
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let lines = String::from_utf8(published.stdout).unwrap();
    assert!(
        lines.starts_with("corp.example/lib v1.0.0 h1:")
            && lines.contains("\ncorp.example/lib v1.0.0/go.mod h1:"),
        "{lines}"
    );
    assert!(
        publish(&publisher).status.success(),
        "the same bytes again are fine"
    );
    let (status, reason) = put(&second, Some(&publisher));
    assert_eq!(status, 409, "{reason}");
    std::fs::write(
        lib.join("lib.go"),
        "package lib

const Content = \"changed\"
",
    )
    .unwrap();
    let changed = publish(&publisher);
    assert!(!changed.status.success());
    assert!(
        String::from_utf8_lossy(&changed.stderr).contains("409"),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let bad = client
        .put(format!("{}/corp.example/lib/@v/v2.0.0.zip", modvault.url))
        .bearer_auth(&publisher)
        .body(first.clone())
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let garbage = client
        .put(format!("{}/corp.example/lib/@v/v1.0.2.zip", modvault.url))
        .bearer_auth(&publisher)
        .body("not a zip")
        .send()
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);

    // The go command gets the first bytes, with the sums the upload reported.
    let app = go.dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        "package main\n\nimport \"corp.example/lib\"\n\nfunc main() { println(lib.Content) }\n",
    )
    .unwrap();
    let cache = go.mod_cache("client");
    run_ok(
        go.command(&modvault.url, &cache)
            .args(["get", "corp.example/lib@latest"])
            .current_dir(&app),
    );
    run_ok(
        go.command(&modvault.url, &cache)
            .args(["build", "-o", "app", "."])
            .current_dir(&app),
    );
    let output = run_ok(&mut Command::new(app.join("app")));
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), "first");
    let go_sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    for line in lines.lines() {
        assert!(go_sum.contains(line), "{line} not in go.sum:\n{go_sum}");
    }
    let latest: serde_json::Value =
        serde_json::from_str(&modvault.get("/corp.example/lib/@latest").text().unwrap()).unwrap();
    assert_eq!(
        latest["Version"], "v1.0.0",
        "@latest of a published-only module"
    );
    let versions = run_ok(
        go.command(&modvault.url, &cache)
            .args(["list", "-m", "-versions", "corp.example/lib"])
            .current_dir(&app),
    );
    assert_eq!(
        String::from_utf8_lossy(&versions.stdout).trim(),
        "corp.example/lib v1.0.0"
    );
}

/// Renames the module a zip is for: entry prefixes and the go.mod line.
fn rename_zip_module(
    zip: &[u8],
    old_prefix: &str,
    new_prefix: &str,
    old_path: &str,
    new_path: &str,
) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = String::from_utf8(entry.name_raw().to_vec())
            .unwrap()
            .replacen(old_prefix, new_prefix, 1);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        if name.ends_with("/go.mod") {
            content = String::from_utf8(content)
                .unwrap()
                .replace(old_path, new_path)
                .into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_denied_module_stops_the_clients_chain() {
    let go = Go::new();
    module_repo(&go, "corp/secret", PRIVATE, "secret");
    let tree = go.direct_tree("direct", &[&format!("{PRIVATE}@v1.0.0")]);
    let dir = TempDir::new().unwrap();
    let config = write_config(
        dir.path(),
        "[[rule]]\nmatch = \"github.com/corp/*\"\nsource = \"deny\"\n",
    );
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("data"),
        "off",
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let chain = format!("{},file://{}", modvault.url, tree.display());
    let output = go
        .command(&chain, &go.mod_cache("chain"))
        .args(["mod", "download", "-json", &format!("{PRIVATE}@v1.0.0")])
        .output()
        .unwrap();
    assert!(!output.status.success(), "a 403 must stop the `,` chain");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("403 Forbidden") && shown.contains("denied"),
        "{shown}"
    );
}

#[test]
fn private_paths_never_reach_the_upstream_proxy_or_a_public_checksum_database() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    module_repo(&go, "corp/secret", PRIVATE, "secret");
    module_repo(&go, "mvtest/hello", PUBLIC, "public");
    let tree = go.direct_tree("direct", &[&format!("{PUBLIC}@v1.0.0")]);

    // The "public world": an upstream proxy that also runs the checksum
    // database, and logs every request it receives.
    let (key_file, vkey) = keygen(dir.path(), "public.key", "sum.public.example");
    let public = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("public"),
        &file_url(&tree),
        &[
            "--sumdb-name",
            "sum.public.example",
            "--sumdb-signer-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );

    let config = write_config(
        dir.path(),
        "[[rule]]\nmatch = \"github.com/corp\"\nsource = \"direct\"\nsumdb = false\n",
    );
    let public_sumdb = format!("{vkey} {}/sumdb/sum.public.example", public.url);
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("private"),
        &format!("{},direct", public.url),
        &[
            "--config",
            config.to_str().unwrap(),
            "--sumdb-upstream",
            &public_sumdb,
            // GONOSUMDB alone, with no rule, keeps a path private too.
            "--sumdb-nosumdb",
            "corp.example/*",
        ],
        &[("GIT_CONFIG_GLOBAL", go.gitconfig().to_str().unwrap())],
    );

    for module in [format!("{PRIVATE}@v1.0.0"), format!("{PUBLIC}@v1.0.0")] {
        let through = go.download(&modvault.url, &go.mod_cache("client"), &module);
        let direct = go.download("direct", &go.mod_cache("direct"), &module);
        assert_eq!(through["Sum"], direct["Sum"], "{module}");
    }
    // Also a client that asks the relayed public database about it.
    for private in [PRIVATE, "corp.example/secret"] {
        let relayed = modvault.get(&format!(
            "/sumdb/sum.public.example/lookup/{private}@v1.0.0"
        ));
        assert_eq!(relayed.status().as_u16(), 404, "{private}");
    }

    let seen = public.log();
    assert!(
        seen.iter().any(|line| line.contains(PUBLIC)),
        "the public module went upstream:\n{}",
        seen.join("\n")
    );
    assert!(
        seen.iter()
            .any(|line| line.contains("/sumdb/sum.public.example/lookup/")),
        "and was verified"
    );
    let leaks: Vec<_> = seen.iter().filter(|line| line.contains("corp")).collect();
    assert!(
        leaks.is_empty(),
        "private path reached the public side: {leaks:?}"
    );
}
