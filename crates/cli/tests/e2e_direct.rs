//! `modvault serve --upstream direct`: a go client builds a project whose
//! dependencies come only from local git repositories, through modvault's
//! own git source, verified against modvault's own checksum database.

mod common;

use std::process::Command;

use common::{keygen, modvault_bin};
use modvault_testkit::{run_ok, Go, Modvault, TempDir};

const HELLO: &str = "github.com/mvtest/hello";
const GREET: &str = "github.com/mvtest/multi/greet";
const UPPER: &str = "github.com/MVTest/Words";

#[test]
fn a_project_builds_from_local_git_repositories_through_direct() {
    let go = Go::new();
    let dir = TempDir::new().unwrap();

    let mut hello = go.repo("mvtest/hello");
    hello
        .write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"))
        .write(
            "hello.go",
            "package hello\n\nfunc Hi() string { return \"hi\" }\n",
        );
    hello.commit("v1.0.0").tag("v1.0.0");
    hello.write(
        "hello.go",
        "package hello\n\nfunc Hi() string { return \"hello\" }\n",
    );
    hello.commit("v1.1.0").tag("v1.1.0");

    // A module in a subdirectory, with prefixed tags, that needs hello.
    let mut multi = go.repo("mvtest/multi");
    multi
        .write("README.md", "several modules\n")
        .write("LICENSE", "the root license\n")
        .write("greet/go.mod", format!("module {GREET}\n\ngo 1.21\n\nrequire {HELLO} v1.0.0\n"))
        .write("greet/greet.go", format!("package greet\n\nimport \"{HELLO}\"\n\nfunc Greet() string {{ return hello.Hi() + \"!\" }}\n"));
    multi.commit("greet v0.1.0").tag("greet/v0.1.0");

    let mut words = go.repo("MVTest/Words");
    words
        .write("go.mod", format!("module {UPPER}\n\ngo 1.21\n"))
        .write("words.go", "package words\n\nconst Word = \"word\"\n");
    words.commit("untagged");

    let (key_file, vkey) = keygen(dir.path(), "sumdb.key", "sum.direct.example");
    let gitconfig = go.gitconfig();
    let modvault = Modvault::start_in(
        &modvault_bin(),
        &dir.path().join("data"),
        "direct",
        &[
            "--sumdb-name",
            "sum.direct.example",
            "--sumdb-signer-key-file",
            key_file.to_str().unwrap(),
        ],
        &[
            ("GIT_CONFIG_GLOBAL", gitconfig.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ],
    );

    let app = go.dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.21\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        format!("package main\n\nimport (\n\t\"{GREET}\"\n\t\"{UPPER}\"\n)\n\nfunc main() {{ println(greet.Greet(), words.Word) }}\n"),
    )
    .unwrap();
    let cache = go.mod_cache("client");
    let go_via_modvault = |args: &[&str]| {
        let output = run_ok(
            go.command(&modvault.url, &cache)
                .env("GOSUMDB", &vkey)
                .args(args)
                .current_dir(&app),
        );
        String::from_utf8(output.stdout).unwrap()
    };
    go_via_modvault(&[
        "get",
        &format!("{GREET}@v0.1.0"),
        &format!("{UPPER}@main"),
        &format!("{HELLO}@latest"),
    ]);
    go_via_modvault(&["build", "-o", "app", "."]);
    let output = run_ok(&mut Command::new(app.join("app")));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "hello! word"
    );

    // Everything matches the go command's own direct mode.
    let go_mod = std::fs::read_to_string(app.join("go.mod")).unwrap();
    let words_version = go_mod
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{UPPER} ")))
        .unwrap_or_else(|| panic!("no {UPPER} in go.mod:\n{go_mod}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        words_version.starts_with("v0.0.0-2024"),
        "a pseudo-version: {words_version}"
    );
    for module in [
        format!("{HELLO}@v1.1.0"),
        format!("{GREET}@v0.1.0"),
        format!("{UPPER}@{words_version}"),
    ] {
        let direct = go.download("direct", &go.mod_cache("direct"), &module);
        let through = go.download(&modvault.url, &go.mod_cache("compare"), &module);
        assert_eq!(through["Sum"], direct["Sum"], "{module}");
        assert_eq!(through["GoModSum"], direct["GoModSum"], "{module}");
    }
    assert_eq!(
        go_via_modvault(&["list", "-m", "-versions", HELLO]).trim(),
        format!("{HELLO} v1.0.0 v1.1.0")
    );

    // go.sum holds exactly what our checksum database recorded.
    let go_sum = std::fs::read_to_string(app.join("go.sum")).unwrap();
    for line in go_sum.lines() {
        let mut fields = line.split(' ');
        let (path, version) = (
            fields.next().unwrap(),
            fields.next().unwrap().trim_end_matches("/go.mod"),
        );
        let escaped = path
            .replace("MVTest", "!m!v!test")
            .replace("Words", "!words");
        let lookup = modvault
            .get(&format!(
                "/sumdb/sum.direct.example/lookup/{escaped}@{version}"
            ))
            .text()
            .unwrap();
        assert!(lookup.contains(line), "{line} not in\n{lookup}");
    }
}

/// The README's first command as a new user runs it: no data dir, no
/// configuration file, started in a scratch directory. The default data dir
/// is relative (`./modvault-data`), and git runs its commands in other
/// directories, so it must be resolved once at start.
#[test]
fn the_default_relative_data_dir_serves_direct() {
    let go = Go::new();
    let mut hello = go.repo("mvtest/hello");
    hello
        .write("go.mod", format!("module {HELLO}\n\ngo 1.21\n"))
        .write("hello.go", "package hello\n");
    hello.commit("v1.0.0").tag("v1.0.0");
    hello.write("hello.go", "package hello\n\nconst Branch = true\n");
    hello.commit("on main");

    let work = TempDir::new().unwrap();
    let mut command = Command::new(modvault_bin());
    // Only what this machine needs instead of the public defaults (no
    // proxy.golang.org or sum.golang.org here); the data dir stays default.
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(work.path())
        .env("MODVAULT_UPSTREAM", "direct")
        .env("MODVAULT_SUMDB_UPSTREAM", "off")
        .env("GIT_CONFIG_GLOBAL", go.gitconfig())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let data_dir = work.path().join("modvault-data");
    let modvault = Modvault::spawn(command, &data_dir);

    for query in ["v1.0.0", "main"] {
        let module = format!("{HELLO}@{query}");
        let direct = go.download("direct", &go.mod_cache(&format!("direct-{query}")), &module);
        let through = go.download(
            &modvault.url,
            &go.mod_cache(&format!("through-{query}")),
            &module,
        );
        for field in ["Version", "Sum", "GoModSum"] {
            assert_eq!(through[field], direct[field], "{module} {field}");
        }
    }
    assert!(
        data_dir.join(".modvault/git/mirrors").is_dir(),
        "mirrors live in ./modvault-data"
    );
    assert!(data_dir
        .join("github.com/mvtest/hello/@v/v1.0.0.zip")
        .is_file());
    let listening = modvault
        .log()
        .into_iter()
        .find(|l| l.contains("listening on"))
        .unwrap();
    assert!(
        listening.contains(&format!("data_dir={}", data_dir.display())),
        "the absolute data dir is logged: {listening}"
    );
}
