//! The web UI and JSON API against a real modvault with published modules:
//! access control (a private module is invisible anonymously everywhere),
//! JSON errors, CSRF, sanitized READMEs; then a real headless Chromium
//! (web/tests/ui.spec.mjs) and schemathesis against the OpenAPI description.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{create_token, keygen, modvault_bin};
use modvault_testkit::{run_ok, workspace_root, Modvault, TempDir};

const PUBLIC: &str = "corp.example/pub/hello";
const HOSTILE: &str = "corp.example/pub/hostile";
const PRIVATE: &str = "corp.example/secret/thing";

/// A README that would run script in many ways if it were not sanitized;
/// each payload sets `window.pwned`.
pub const HOSTILE_README: &str = "# Hostile\n\n<script>window.pwned = 1</script>\n\n<img src=x onerror=\"window.pwned = 1\">\n\n[click](javascript:window.pwned=1)\n\n<svg onload=\"window.pwned = 1\"><script>window.pwned = 1</script></svg>\n\n<a href=\"data:text/html,<script>window.pwned=1</script>\">data</a>\n\n<iframe srcdoc=\"<script>parent.pwned=1</script>\"></iframe>\n\n<style>body{display:none}</style>\n";

struct Site {
    modvault: Modvault,
    admin: String,
    reader: String,
    /// The `h1:` of the public module's v1.1.0 zip, as the publish answered.
    hello_h1: String,
    _dir: TempDir,
}

fn module_zip(path: &str, version: &str, readme: &str, extra_go_mod: &str) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let prefix = format!("{path}@{version}/");
    let options = zip::write::SimpleFileOptions::default();
    for (name, content) in [
        (
            "go.mod",
            format!("module {path}\n\ngo 1.21\n{extra_go_mod}"),
        ),
        ("README.md", readme.to_owned()),
        ("LICENSE", "Apache License 2.0 (test)\n".to_owned()),
        (
            "lib.go",
            "package lib\n\n// Answer is the answer.\nconst Answer = 42\n".to_owned(),
        ),
    ] {
        out.start_file(format!("{prefix}{name}"), options).unwrap();
        out.write_all(content.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn publish(modvault: &Modvault, token: &str, path: &str, version: &str, zip: Vec<u8>) -> String {
    let response = reqwest::blocking::Client::new()
        .put(format!("{}/{path}/@v/{version}.zip", modvault.url))
        .bearer_auth(token)
        .body(zip)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    assert_eq!(status, 201, "{text}");
    text
}

/// modvault with its own checksum database, anonymous reads for
/// `corp.example/pub` only, and three published modules.
fn site() -> Site {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let (key_file, _) = keygen(dir.path(), "sumdb.key", "sum.corp.example");
    let config = dir.path().join("modvault.toml");
    std::fs::write(
        &config,
        "[[rule]]\nmatch = \"corp.example\"\nsource = \"published\"\n\n[auth]\nanonymous_read = [\"corp.example/pub\"]\n",
    )
    .unwrap();
    let admin = create_token(&data, "admin", "admin");
    let reader = create_token(&data, "reader", "read");
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &data,
        "off",
        &[
            "--config",
            config.to_str().unwrap(),
            "--sumdb-name",
            "sum.corp.example",
            "--sumdb-signer-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );
    publish(
        &modvault,
        &admin,
        PUBLIC,
        "v1.0.0",
        module_zip(PUBLIC, "v1.0.0", "# hello\n\nThe first.\n", ""),
    );
    let answer = publish(
        &modvault,
        &admin,
        PUBLIC,
        "v1.1.0",
        module_zip(
            PUBLIC,
            "v1.1.0",
            "# hello\n\nSay **hello**. See [the docs](https://example.com/docs).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            &format!("\nrequire (\n\t{HOSTILE} v0.1.0\n\tgolang.org/x/mod v0.20.0 // indirect\n)\n\nretract v1.0.0 // the first was broken\n"),
        ),
    );
    let hello_h1 = answer
        .split_whitespace()
        .find(|w| w.starts_with("h1:"))
        .unwrap()
        .to_owned();
    publish(
        &modvault,
        &admin,
        HOSTILE,
        "v0.1.0",
        module_zip(HOSTILE, "v0.1.0", HOSTILE_README, ""),
    );
    publish(
        &modvault,
        &admin,
        PRIVATE,
        "v1.0.0",
        module_zip(PRIVATE, "v1.0.0", "# secret\n", ""),
    );
    Site {
        modvault,
        admin,
        reader,
        hello_h1,
        _dir: dir,
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn get(site: &Site, path: &str, token: Option<&str>) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = client().get(format!("{}{path}", site.modvault.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, response.text().unwrap(), headers)
}

fn get_json(site: &Site, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let (status, body, headers) = get(site, path, token);
    assert_eq!(
        headers[reqwest::header::CONTENT_TYPE],
        "application/json",
        "{path}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

fn paths(list: &serde_json::Value) -> Vec<String> {
    list["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn private_modules_are_invisible_without_a_token_everywhere() {
    let site = site();
    let (status, all) = get_json(&site, "/api/v1/modules?q=corp", None);
    assert_eq!(status, 200);
    assert_eq!(paths(&all), [PUBLIC, HOSTILE], "{all}");
    assert_eq!(all["total"], 2);
    let (_, all) = get_json(&site, "/api/v1/modules?q=corp", Some(&site.reader));
    assert_eq!(paths(&all), [PUBLIC, HOSTILE, PRIVATE]);
    let (_, searched) = get_json(&site, "/api/v1/modules?q=secret", None);
    assert_eq!(paths(&searched), Vec::<String>::new());
    let (_, paged) = get_json(
        &site,
        "/api/v1/modules?q=corp&per_page=1&page=2",
        Some(&site.reader),
    );
    assert_eq!(paths(&paged), [HOSTILE]);
    assert_eq!(paged["total"], 3);

    let (_, stats) = get_json(&site, "/api/v1/stats", None);
    assert_eq!(
        (stats["modules"].as_u64(), stats["versions"].as_u64()),
        (Some(2), Some(3)),
        "{stats}"
    );
    assert!(!stats.to_string().contains("secret"), "{stats}");
    let (_, stats) = get_json(&site, "/api/v1/stats", Some(&site.admin));
    assert_eq!(
        (stats["modules"].as_u64(), stats["versions"].as_u64()),
        (Some(3), Some(4))
    );

    // The private module answers exactly as a module that is not here.
    let (status, hidden) = get_json(&site, &format!("/api/v1/modules/{PRIVATE}"), None);
    let (_, absent) = get_json(&site, "/api/v1/modules/corp.example/secret/nothing", None);
    assert_eq!(status, 404);
    assert_eq!(hidden["error"]["kind"], "not_found");
    assert_eq!(
        hidden["error"]["message"]
            .as_str()
            .unwrap()
            .replace(PRIVATE, "M"),
        absent["error"]["message"]
            .as_str()
            .unwrap()
            .replace("corp.example/secret/nothing", "M")
    );
    for path in [
        format!("/api/v1/modules/{PRIVATE}/@v/v1.0.0"),
        format!("/ui/{PRIVATE}"),
        format!("/ui/{PRIVATE}/@v/v1.0.0"),
        format!("/badge/{PRIVATE}.svg"),
    ] {
        let (status, body, _) = get(&site, &path, None);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("secret\n"), "{path}: {body}");
        let (status, _, _) = get(&site, &path, Some(&site.reader));
        assert_eq!(status, 200, "{path} with a token");
    }
    let (_, home, _) = get(&site, "/ui/", None);
    assert!(home.contains(PUBLIC) && !home.contains(PRIVATE), "{home}");
    let (_, found, _) = get(&site, "/ui/-/search?q=corp", None);
    assert!(
        found.contains(PUBLIC) && !found.contains(PRIVATE),
        "{found}"
    );

    // The protocol itself is unchanged beside the UI.
    let (status, list, _) = get(&site, &format!("/{PUBLIC}/@v/list"), None);
    assert_eq!((status, list.as_str()), (200, "v1.0.0\nv1.1.0\n"));
    let (status, _, _) = get(&site, &format!("/{PRIVATE}/@v/list"), None);
    assert_eq!(status, 401);
}

#[test]
fn module_and_version_data_json_errors_and_badges() {
    let site = site();
    let (status, module) = get_json(&site, &format!("/api/v1/modules/{PUBLIC}"), None);
    assert_eq!(status, 200, "{module}");
    assert_eq!(module["latest"], "v1.1.0");
    assert_eq!(module["go_get"], format!("go get {PUBLIC}@v1.1.0"));
    let versions: Vec<(String, bool, String)> = module["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_owned(),
                v["retracted"].as_bool().unwrap(),
                v["origin"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("v1.1.0".into(), false, "published".into()),
            ("v1.0.0".into(), true, "published".into())
        ]
    );

    let (status, version) = get_json(&site, &format!("/api/v1/modules/{PUBLIC}/@v/v1.1.0"), None);
    assert_eq!(status, 200, "{version}");
    assert_eq!(
        version["h1"],
        site.hello_h1.as_str(),
        "the zip's h1 as the publish computed it"
    );
    let files: Vec<&str> = version["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["go.mod", "README.md", "LICENSE", "lib.go"]);
    assert_eq!(version["checksum"]["database"], "own");
    assert_eq!(version["checksum"]["name"], "sum.corp.example");
    assert!(
        version["checksum"]["record"].as_i64().is_some(),
        "{version}"
    );
    assert_eq!(version["license"]["name"], "LICENSE");
    assert_eq!(version["go_mod"]["go"], "1.21");
    let requires = version["go_mod"]["require"].as_array().unwrap();
    assert_eq!(requires[0]["path"], HOSTILE);
    assert_eq!(requires[0]["held"], true);
    assert_eq!(requires[1]["held"], false);
    assert_eq!(requires[1]["indirect"], true);
    assert_eq!(
        version["go_mod"]["retract"][0]["rationale"],
        "the first was broken"
    );
    let readme = version["readme_html"].as_str().unwrap();
    assert!(
        readme.contains("<strong>hello</strong>") && readme.contains("<table>"),
        "{readme}"
    );

    // JSON errors: the protocol's kinds and statuses.
    for (path, token, status, kind) in [
        ("/api/v1/nothing", None, 404, "not_found"),
        ("/api/v1/modules?per_page=0", None, 400, "invalid"),
        ("/api/v1/modules?page=x", None, 400, "invalid"),
        ("/api/v1/tokens", None, 401, "unauthenticated"),
        (
            "/api/v1/audit",
            Some(site.reader.as_str()),
            403,
            "forbidden",
        ),
        (
            "/api/v1/modules/corp.example/pub/hello/@v/v9.9.9",
            None,
            404,
            "not_found",
        ),
        ("/api/v1/modules/Not A Module", None, 404, "not_found"),
    ] {
        let (got, body) = get_json(&site, path, token);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["kind"], kind, "{path}: {body}");
        assert_eq!(body["error"]["status"], status);
    }
    let (status, body) = get_json(&site, "/api/v1/stats", Some("mvt_wrong"));
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (401, Some("unauthenticated"))
    );

    let (status, svg, headers) = get(&site, &format!("/badge/{PUBLIC}.svg"), None);
    assert_eq!(status, 200);
    assert_eq!(headers[reqwest::header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.starts_with("<svg") && svg.contains(">v1.1.0<"), "{svg}");

    let (_, spec) = get_json(&site, "/api/v1/openapi.json", None);
    assert_eq!(spec["openapi"], "3.0.3");

    // Downloads: counted per version (two zips of v1.1.0, one of v1.0.0),
    // all from the store (upstream is off), so the hit ratio is 1.
    for version in ["v1.1.0", "v1.1.0", "v1.0.0"] {
        let (status, _, _) = get(&site, &format!("/{PUBLIC}/@v/{version}.zip"), None);
        assert_eq!(status, 200);
    }
    let (_, module) = get_json(&site, &format!("/api/v1/modules/{PUBLIC}"), None);
    let counts: Vec<(&str, u64)> = module["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["downloads"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("v1.1.0", 2), ("v1.0.0", 1)], "{module}");
    assert_eq!(module["downloads"], 3);
    let (_, stats) = get_json(&site, "/api/v1/stats", None);
    assert_eq!(stats["hit_ratio"], 1.0, "{stats}");
    let days = stats["downloads"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{stats}");
    assert_eq!(
        (days[29]["hits"].as_u64(), days[29]["misses"].as_u64()),
        (Some(3), Some(0))
    );

    // Refresh from the API: admins only, and an audit event.
    let refresh = |token: &str| {
        let response = client()
            .post(format!("{}/api/v1/refresh/{PUBLIC}", site.modvault.url))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&response.text().unwrap()).unwrap(),
        )
    };
    let (status, body) = refresh(&site.reader);
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, body) = refresh(&site.admin);
    assert_eq!(
        (status, body["refreshed"].as_str()),
        (200, Some(PUBLIC)),
        "{body}"
    );
    let (_, audit) = get_json(&site, "/api/v1/audit", Some(&site.admin));
    assert_eq!(audit["events"][0]["event"], "admin_refresh", "{audit}");
    assert_eq!(audit["events"][0]["module"], PUBLIC, "{audit}");

    // `/` sends browsers to the UI and stays a protocol 404 for others.
    let response = client()
        .get(format!("{}/", site.modvault.url))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/ui/");
    let (status, body, _) = get(&site, "/", None);
    assert_eq!(status, 404, "{body}");
}

#[test]
fn hostile_readmes_are_inert_and_pages_carry_a_csp() {
    let site = site();
    let (_, version) = get_json(&site, &format!("/api/v1/modules/{HOSTILE}/@v/v0.1.0"), None);
    let readme = version["readme_html"].as_str().unwrap();
    for (status_path, body) in [
        ("api", readme.to_owned()),
        ("module page", get(&site, &format!("/ui/{HOSTILE}"), None).1),
        (
            "version page",
            get(&site, &format!("/ui/{HOSTILE}/@v/v0.1.0"), None).1,
        ),
    ] {
        let lower = body.to_lowercase();
        for bad in [
            "pwned",
            "onerror",
            "onload",
            "javascript:",
            "<svg",
            "<iframe",
            "srcdoc",
            "<style",
            "data:text",
        ] {
            assert!(
                !lower.contains(bad),
                "{status_path}: {bad} survived in {body}"
            );
        }
    }
    assert!(readme.contains("<h1>Hostile</h1>"), "{readme}");
    for path in [
        "/ui/",
        &format!("/ui/{HOSTILE}"),
        "/ui/-/login",
        "/ui/nope.example/x",
    ] {
        let (_, body, headers) = get(&site, path, None);
        let csp = headers[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        // Only our own script, loaded from a file: no inline script at all.
        assert_eq!(body.matches("<script").count(), 1, "{path}");
        let script = body
            .split(r#"<script src=""#)
            .nth(1)
            .and_then(|rest| rest.split_once('"'))
            .map(|(src, _)| src.to_owned())
            .unwrap_or_default();
        assert!(
            script.starts_with("/ui/-/static/app.js?v="),
            "{path}: {script}"
        );
        // The address pages give is kept for good; any other only briefly.
        let (status, _, asset) = get(&site, &script, None);
        assert_eq!(status, 200);
        assert_eq!(
            asset[reqwest::header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let (_, _, bare) = get(&site, "/ui/-/static/app.js", None);
        assert_eq!(bare[reqwest::header::CACHE_CONTROL], "public, max-age=300");
        assert!(body.len() < 200_000, "{path}: {} bytes", body.len());
    }
}

fn login(site: &Site, token: &str) -> String {
    let response = client()
        .post(format!("{}/ui/-/login", site.modvault.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

#[test]
fn sessions_need_the_csrf_value_to_change_anything() {
    let site = site();
    let cookie = login(&site, &site.admin);
    let page = |path: &str| {
        client()
            .get(format!("{}{path}", site.modvault.url))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let tokens = page("/ui/-/tokens");
    assert!(
        tokens.contains(">reader<") && !tokens.contains(&site.reader),
        "{tokens}"
    );
    let csrf = tokens
        .split(r#"<meta name=csrf-token content=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let revoke = |body: String, origin: Option<&str>| {
        let mut request = client()
            .post(format!("{}/ui/-/tokens/revoke", site.modvault.url))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().unwrap().status().as_u16()
    };
    let own_origin = site.modvault.url.clone();
    assert_eq!(revoke("name=reader".into(), None), 403, "no CSRF value");
    assert_eq!(
        revoke("name=reader&csrf=0000".into(), None),
        403,
        "a wrong one"
    );
    assert_eq!(
        revoke(
            format!("name=reader&csrf={csrf}"),
            Some("http://evil.example")
        ),
        403,
        "the right value from another site"
    );
    // The API with the session cookie needs the value in a header.
    let api_revoke = client()
        .delete(format!("{}/api/v1/tokens/reader", site.modvault.url))
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(api_revoke.status().as_u16(), 403);
    let (_, listed) = get_json(&site, "/api/v1/tokens", Some(&site.admin));
    assert!(
        listed.to_string().contains("\"reader\""),
        "nothing was revoked yet"
    );

    assert_eq!(
        revoke(format!("name=reader&csrf={csrf}"), Some(&own_origin)),
        303
    );
    let (_, listed) = get_json(&site, "/api/v1/tokens", Some(&site.admin));
    assert!(!listed.to_string().contains("\"reader\""), "{listed}");
    assert!(
        !listed.to_string().contains(&site.admin),
        "no secret is listed"
    );
    let (status, _, _) = get(&site, "/api/v1/stats", Some(&site.reader));
    assert_eq!(status, 401, "the revoked token is refused");

    // A token made through the API is shown once, and works.
    let response = client()
        .post(format!("{}/api/v1/tokens", site.modvault.url))
        .bearer_auth(&site.admin)
        .body(r#"{"name":"ci","scope":"read","match":["corp.example/secret"]}"#)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    let secret = created["token"].as_str().unwrap();
    let (status, _, _) = get(&site, &format!("/api/v1/modules/{PRIVATE}"), Some(secret));
    assert_eq!(status, 200);
    // Neither token ever reaches the log.
    assert!(site
        .modvault
        .log()
        .iter()
        .all(|l| !l.contains(secret) && !l.contains(&site.admin)));
}

fn tool(env: &str, default: &str, hint: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} is needed: {hint}, or set {env}",
        path.display()
    );
    path
}

/// web/tests/ui.spec.mjs in a real headless Chromium: search, module page,
/// copying the `go get` line, logging in and revoking a token, a private
/// module invisible, a hostile README inert, screenshots, page weights.
#[test]
fn browser() {
    let chromium = tool(
        "MVTEST_CHROMIUM",
        "/usr/bin/chromium",
        "run scripts/test (it installs Debian's chromium)",
    );
    let tests = workspace_root().join("web/tests");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "playwright-core is needed: run scripts/test (npm ci in web/tests)"
    );
    let site = site();
    let shots = std::env::var_os("MVTEST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| site._dir.path().join("screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    let output = run_ok(
        Command::new("node")
            .arg(tests.join("ui.spec.mjs"))
            .current_dir(&tests)
            .env("MODVAULT_URL", &site.modvault.url)
            .env("ADMIN_TOKEN", &site.admin)
            .env("CHROMIUM", &chromium)
            .env("SCREENSHOTS", &shots)
            .env("PUBLIC_MODULE", PUBLIC)
            .env("HOSTILE_MODULE", HOSTILE)
            .env("PRIVATE_MODULE", PRIVATE),
    );
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(report.contains("ok: all checks passed"), "{report}");
    for name in ["home", "search", "module", "version", "tokens", "hostile"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
    let (status, _, _) = get(&site, "/api/v1/stats", Some(&site.reader));
    assert_eq!(status, 401, "the browser revoked the reader token");
}

/// schemathesis against /api/v1/openapi.json on a server with data: no
/// 5xx, every answer matches its schema.
#[test]
fn openapi_holds_under_schemathesis() {
    let st = tool(
        "MVTEST_SCHEMATHESIS",
        &workspace_root()
            .join(".venv/bin/schemathesis")
            .display()
            .to_string(),
        "run scripts/test (it installs schemathesis into .venv)",
    );
    let site = site();
    let output = Command::new(&st)
        .args(["run", &format!("{}/api/v1/openapi.json", site.modvault.url)])
        .args(["--checks", "all", "--max-examples", "30", "--workers", "1"])
        .args(["--url", &format!("{}/api/v1", site.modvault.url)])
        .args(["-H", &format!("Authorization: Bearer {}", site.reader)])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = Path::new(&st);
}
