//! End to end with the real go command: zips made by `zip_dir`, served
//! from a `GOPROXY=file://` tree, are downloaded, verified and extracted by
//! `go mod download`, which must report exactly the `h1:` hashes that
//! `zip_dir` returned, and build.

use std::fs;
use std::path::Path;
use std::process::Command;

use modvault_publish::zip_dir;

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Publishes `dir` as `path@version` into the GOPROXY tree at `proxy`;
/// returns (zip h1, go.mod h1).
fn publish(proxy: &Path, dir: &Path, path: &str, version: &str) -> (String, String) {
    // Valid module paths here are lower-case, so no !-escaping is needed.
    let at_v = proxy.join(path).join("@v");
    fs::create_dir_all(&at_v).unwrap();
    let zip = fs::File::create(at_v.join(format!("{version}.zip"))).unwrap();
    let summary = zip_dir(dir, path, version, zip).unwrap();
    fs::write(at_v.join(format!("{version}.mod")), &summary.go_mod).unwrap();
    fs::write(
        at_v.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-02T03:04:05Z\"}}"),
    )
    .unwrap();
    fs::write(at_v.join("list"), format!("{version}\n")).unwrap();
    (summary.zip_hash, summary.go_mod_hash)
}

fn go(work: &Path, proxy: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(modvault_testkit::go_binary())
        .current_dir(dir)
        .args(args)
        .env("GOPROXY", format!("file://{}", proxy.display()))
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOPATH", work.join("gopath"))
        .env("GOMODCACHE", work.join("modcache"))
        .env("GOCACHE", work.join("gocache"))
        .env("HOME", work.join("home"))
        .env("GOENV", "off")
        .env("GOPRIVATE", "")
        .env("GONOSUMDB", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_go_command_downloads_and_builds_published_zips() {
    let work = tempfile::tempdir().unwrap();
    let (proxy, src) = (work.path().join("proxy"), work.path().join("src"));

    // A library with everything that gets left out around it.
    let lib = src.join("lib");
    write(&lib, "go.mod", "module example.com/lib\n\ngo 1.24\n");
    write(&lib, "lib.go", "package lib\n\nimport \"example.com/lib/internal/greet\"\n\nfunc Hello() string { return greet.Word() }\n");
    write(
        &lib,
        "internal/greet/greet.go",
        "package greet\n\nfunc Word() string { return \"hello\" }\n",
    );
    write(&lib, "LICENSE", "MIT\n");
    write(&lib, ".git/HEAD", "ref: refs/heads/main\n");
    write(&lib, "vendor/modules.txt", "");
    write(&lib, "vendor/example.com/dep/dep.go", "package dep\n");
    write(&lib, "tools/go.mod", "module example.com/lib/tools\n");
    write(&lib, "tools/tool.go", "package main\n");
    std::os::unix::fs::symlink("lib.go", lib.join("link.go")).unwrap();
    let lib_hashes = publish(&proxy, &lib, "example.com/lib", "v1.2.3");

    // A module without a go.mod file: the synthesized one is served.
    let old = src.join("old");
    write(&old, "old.go", "package old\n\nconst Name = \"old\"\n");
    let old_hashes = publish(&proxy, &old, "example.com/old", "v0.1.0");

    for (module, (zip_hash, go_mod_hash)) in [
        ("example.com/lib@v1.2.3", &lib_hashes),
        ("example.com/old@v0.1.0", &old_hashes),
    ] {
        let out = go(
            work.path(),
            &proxy,
            work.path(),
            &["mod", "download", "-json", module],
        );
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["Error"], serde_json::Value::Null, "{out}");
        assert_eq!(json["Sum"], zip_hash.as_str(), "{module}");
        assert_eq!(json["GoModSum"], go_mod_hash.as_str(), "{module}");
        let extracted = Path::new(json["Dir"].as_str().unwrap());
        assert!(!extracted.join("vendor").exists() && !extracted.join("tools").exists());
        assert!(!extracted.join(".git").exists() && !extracted.join("link.go").exists());
    }

    // And a program that uses them builds and runs.
    let app = src.join("app");
    write(
        &app,
        "go.mod",
        "module example.com/app\n\ngo 1.24\n\nrequire (\n\texample.com/lib v1.2.3\n\texample.com/old v0.1.0\n)\n",
    );
    write(
        &app,
        "main.go",
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n\t\"example.com/old\"\n)\n\nfunc main() { fmt.Println(lib.Hello(), old.Name) }\n",
    );
    go(work.path(), &proxy, &app, &["mod", "tidy"]);
    let go_sum = fs::read_to_string(app.join("go.sum")).unwrap();
    assert!(
        go_sum.contains(&format!("example.com/lib v1.2.3 {}", lib_hashes.0)),
        "{go_sum}"
    );
    assert!(
        go_sum.contains(&format!("example.com/lib v1.2.3/go.mod {}", lib_hashes.1)),
        "{go_sum}"
    );
    assert_eq!(go(work.path(), &proxy, &app, &["run", "."]), "hello old\n");
}
