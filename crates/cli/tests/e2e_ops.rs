//! Operations end to end with real parts: a webhook signed as GitHub signs
//! them makes a just-pushed tag visible at once (and a wrongly signed one
//! changes nothing), an admin refresh does the same, the index feed read by
//! a Go program as index.golang.org's readers read it, and `modvault gc`
//! evicting what can be fetched again while keeping private versions.

mod common;

use std::process::Command;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use common::{create_token, modvault_bin};
use modvault_testkit::{build_xmod_program, run_ok, Go, Modvault, TempDir};

const HELLO: &str = "github.com/mvtest/hello";
const PRIVATE: &str = "github.com/mvtest/private";

fn git_env(go: &Go) -> Vec<(&'static str, String)> {
    vec![
        (
            "GIT_CONFIG_GLOBAL",
            go.gitconfig().to_str().unwrap().to_owned(),
        ),
        ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
    ]
}

fn start(go: &Go, data: &std::path::Path, args: &[&str]) -> Modvault {
    let env = git_env(go);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = vec!["--storage", ""];
    all.extend_from_slice(args);
    Modvault::start_in(&modvault_bin(), data, "direct", &all, &env)
}

fn list(modvault: &Modvault) -> String {
    let response = modvault.get(&format!("/{HELLO}/@v/list"));
    assert_eq!(response.status(), 200);
    let mut versions: Vec<String> = response
        .text()
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    versions.sort();
    versions.join(" ")
}

fn post(url: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.post(url).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn github_signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_signed_webhook_or_an_admin_refresh_shows_a_new_tag_at_once() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    let mut hello = go.repo("mvtest/hello");
    hello
        .write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"))
        .write("hello.go", "package hello\n");
    hello.commit("v1.0.0").tag("v1.0.0");

    let secret = "s3cret-for-hooks";
    let secret_file = dir.path().join("hook-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let data = dir.path().join("data");
    let token = create_token(&data, "ops", "admin");
    let reader = create_token(&data, "reader", "read");
    // Without a refresh, a new tag would show only after hours.
    let modvault = start(
        &go,
        &data,
        &[
            "--list-ttl",
            "5h",
            "--webhook-github-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    assert_eq!(list(&modvault), "v1.0.0");

    hello.write("hello.go", "package hello\n\nconst Two = 2\n");
    hello.commit("v1.1.0").tag("v1.1.0");
    let payload = r#"{"ref":"refs/tags/v1.1.0","repository":{"full_name":"mvtest/hello","clone_url":"https://github.com/mvtest/hello.git","html_url":"https://github.com/mvtest/hello"}}"#.to_owned();
    let hook = format!("{}/hooks/github", modvault.url);
    let event = ("x-github-event", "push".to_owned());

    let wrong = github_signature("not-the-secret", &payload);
    let (status, body) = post(
        &hook,
        &[event.clone(), ("x-hub-signature-256", wrong)],
        &payload,
    );
    assert_eq!(status, 401, "{body}");
    let (status, _) = post(&hook, std::slice::from_ref(&event), &payload);
    assert_eq!(status, 401, "an unsigned hook is refused");
    assert_eq!(list(&modvault), "v1.0.0", "a refused hook changes nothing");

    let good = github_signature(secret, &payload);
    let (status, body) = post(&hook, &[event, ("x-hub-signature-256", good)], &payload);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(HELLO), "{body}");
    assert_eq!(
        list(&modvault),
        "v1.0.0 v1.1.0",
        "the pushed tag is listed at once"
    );
    let latest = modvault.get(&format!("/{HELLO}/@latest")).text().unwrap();
    assert!(latest.contains("v1.1.0"), "{latest}");
    assert!(
        !modvault.log().iter().any(|l| l.contains(secret)),
        "the secret is never logged"
    );

    hello.write("hello.go", "package hello\n\nconst Three = 3\n");
    hello.commit("v1.2.0").tag("v1.2.0");
    let refresh = format!("{}/admin/refresh/{HELLO}", modvault.url);
    let (status, _) = post(&refresh, &[], "");
    assert_eq!(status, 401, "an admin refresh needs a token");
    let (status, _) = post(
        &refresh,
        &[("authorization", format!("Bearer {reader}"))],
        "",
    );
    assert_eq!(status, 403, "a read token is not an admin token");
    assert_eq!(list(&modvault), "v1.0.0 v1.1.0");
    let (status, body) = post(
        &refresh,
        &[("authorization", format!("Bearer {token}"))],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(list(&modvault), "v1.0.0 v1.1.0 v1.2.0");
}

/// Reads the feed as index.golang.org's readers do: pages from `since`
/// (the last Timestamp seen), dropping what was seen, each line checked.
const FEED_READER: &str = r#"package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

type entry struct {
	Path, Version string
	Timestamp     time.Time
}

func main() {
	base := os.Args[1]
	since := time.Time{}
	seen := map[string]bool{}
	var last time.Time
	for page := 0; page < 100; page++ {
		resp, err := http.Get(base + "/index?limit=2&since=" + since.Format(time.RFC3339Nano))
		if err != nil {
			panic(err)
		}
		if resp.StatusCode != 200 {
			panic(resp.Status)
		}
		fresh := 0
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			var e entry
			if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
				panic(fmt.Sprintf("%q: %v", scanner.Text(), err))
			}
			if err := module.CheckPath(e.Path); err != nil {
				panic(err)
			}
			if !semver.IsValid(e.Version) || semver.Canonical(e.Version) != e.Version {
				panic("bad version " + e.Version)
			}
			if e.Timestamp.Before(last) {
				panic("not ascending")
			}
			last = e.Timestamp
			since = e.Timestamp
			if !seen[e.Path+"@"+e.Version] {
				seen[e.Path+"@"+e.Version] = true
				fresh++
				fmt.Println(e.Path, e.Version)
			}
		}
		resp.Body.Close()
		if fresh == 0 {
			return
		}
	}
	panic("no end")
}
"#;

#[test]
fn the_index_feed_reads_as_index_golang_org_and_gc_keeps_private_versions() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();
    for (name, module) in [("mvtest/hello", HELLO), ("mvtest/private", PRIVATE)] {
        let mut repo = go.repo(name);
        repo.write("go.mod", format!("module {module}\n\ngo 1.21\n"))
            .write("x.go", "package x\n");
        repo.commit("v1.0.0").tag("v1.0.0");
        repo.write("x.go", "package x\n\nconst Two = 2\n");
        repo.commit("v1.1.0").tag("v1.1.0");
    }
    // The private module is routed direct: never evicted, never in the
    // feed for an anonymous reader who may not read it.
    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        format!("[[rule]]\nmatch = \"{PRIVATE}\"\nsource = \"direct\"\n\n[auth]\nanonymous_read = [\"{HELLO}\"]\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let reader = create_token(&data, "reader", "read");
    let modvault = start(&go, &data, &["--config", config.to_str().unwrap()]);
    let client = reqwest::blocking::Client::new();
    for module in [HELLO, PRIVATE] {
        for version in ["v1.0.0", "v1.1.0"] {
            let response = client
                .get(format!("{}/{module}/@v/{version}.zip", modvault.url))
                .bearer_auth(&reader)
                .send()
                .unwrap();
            assert_eq!(response.status(), 200, "{module}@{version}");
        }
    }

    let program = build_xmod_program(FEED_READER, &dir.path().join("feed"));
    let anonymous =
        String::from_utf8(run_ok(Command::new(&program).arg(&modvault.url)).stdout).unwrap();
    let mut lines: Vec<&str> = anonymous.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [format!("{HELLO} v1.0.0"), format!("{HELLO} v1.1.0")],
        "one line per version, paged two at a time, without what the caller may not read"
    );
    let authenticated = client
        .get(format!("{}/index", modvault.url))
        .bearer_auth(&reader)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(authenticated.lines().count(), 4, "{authenticated}");
    let bad = client
        .get(format!("{}/index?since=yesterday", modvault.url))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    drop(modvault);

    let gc = |args: &[&str]| {
        let mut command = Command::new(modvault_bin());
        command
            .args(["gc", "--config", config.to_str().unwrap(), "--data-dir"])
            .arg(&data)
            .args(["--storage", "", "--gc-max-size", "1", "--gc-min-idle", "0s"])
            .args(args);
        String::from_utf8(run_ok(&mut command).stdout).unwrap()
    };
    let zip = |module: &str, version: &str| data.join(format!("{module}/@v/{version}.zip"));

    let off = gc(&["--upstream", "off"]);
    assert!(off.contains("evicted 0 versions"), "{off}");
    let dry = gc(&["--upstream", "direct", "--dry-run"]);
    assert!(
        dry.contains(&format!("would evict\t{HELLO}@v1.0.0")),
        "{dry}"
    );
    assert!(zip(HELLO, "v1.0.0").is_file(), "a dry run changes nothing");
    let run = gc(&["--upstream", "direct"]);
    assert!(run.contains(&format!("evicted\t{HELLO}@v1.0.0")), "{run}");
    assert!(run.contains(&format!("evicted\t{HELLO}@v1.1.0")), "{run}");
    assert!(run.contains("kept 2 idle versions private"), "{run}");
    assert!(!zip(HELLO, "v1.0.0").exists() && !zip(HELLO, "v1.1.0").exists());
    for version in ["v1.0.0", "v1.1.0"] {
        assert!(zip(PRIVATE, version).is_file(), "private {version} kept");
    }

    // An evicted version is fetched again on demand.
    let modvault = start(&go, &data, &["--config", config.to_str().unwrap()]);
    let again = modvault.get(&format!("/{HELLO}/@v/v1.0.0.zip"));
    assert_eq!(again.status(), 200);
}
