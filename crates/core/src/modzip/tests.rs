//! Ported from golang.org/x/mod/zip (zip_test.go, vendor_test.go and the
//! txtar cases under testdata/), plus cases for each rule of spec §3.

use super::*;
use crate::dirhash::hash1;
use crate::gomod::parse_lax;

fn m(path: &str, version: &str) -> ModuleVersion {
    ModuleVersion::new(path, version)
}

fn regular(name: &str, size: u64) -> FileCandidate<'_> {
    FileCandidate {
        name,
        kind: FileKind::Regular,
        size,
    }
}

/// A txtar archive: `-- name --` headers, each followed by the file's lines.
fn txtar(archive: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in archive.split_inclusive('\n') {
        let header = line.trim_end_matches('\n');
        if let Some(name) = header
            .strip_prefix("-- ")
            .and_then(|h| h.strip_suffix(" --"))
        {
            files.push((name.to_owned(), String::new()));
        } else if let Some((_, data)) = files.last_mut() {
            data.push_str(line);
        }
    }
    files
}

/// Go's `formatCheckedFiles` for [`check_files`]' report.
fn format_checked(files: &[(String, String)], checked: &CheckedFiles) -> String {
    let mut out = String::from("valid:\n");
    for &i in &checked.included {
        out += &format!("{}\n", files[i].0);
    }
    out += "\nomitted:\n";
    for (i, reason) in &checked.omitted {
        out += &format!("{}: {reason}\n", files[*i].0);
    }
    out += "\ninvalid:\n";
    for (_, e) in &checked.invalid {
        out += &format!("{e}\n");
    }
    out
}

/// Runs a testdata/check_files case: the `want` file holds the expected report.
fn run_check_files_case(archive: &str) {
    let mut files = txtar(archive);
    let want_index = files
        .iter()
        .position(|(name, _)| name == "want")
        .expect("want section");
    let (_, want) = files.remove(want_index);
    let candidates: Vec<FileCandidate> = files
        .iter()
        .map(|(name, data)| regular(name, data.len() as u64))
        .collect();
    // The Go test reads the go version from the root go.mod, as checkFiles does.
    let go_mod = files
        .iter()
        .find(|(name, _)| name == "go.mod")
        .map(|(_, data)| parse_lax(data.as_bytes()));
    let go_version = go_mod.as_ref().and_then(|s| s.go_version_for_zip());
    let checked = check_files(&candidates, go_version);
    assert_eq!(format_checked(&files, &checked), want);
}

#[test]
fn check_files_various_go123() {
    // testdata/check_files/various_go123.txt
    run_check_files_case(
        r#"-- want --
valid:
valid.go
go.mod
vendor/modules.txt

omitted:
vendor/x/y: file is in vendor directory
sub/go.mod: file is in another module
.hg_archival.txt: file is inserted by 'hg archive' and is always omitted

invalid:
not/../clean: file path is not clean
invalid.go': malformed file path "invalid.go'": invalid char '\''
valid.go: multiple entries for file "valid.go"
-- valid.go --
-- not/../clean --
-- go.mod --
go 1.23
-- invalid.go' --
-- vendor/x/y --
-- vendor/modules.txt --
-- sub/go.mod --
-- .hg_archival.txt --
-- valid.go --
duplicate
-- valid.go --
another duplicate
"#,
    );
}

#[test]
fn check_files_various_go124() {
    // testdata/check_files/various_go124.txt
    run_check_files_case(
        r#"-- want --
valid:
valid.go
go.mod

omitted:
vendor/x/y: file is in vendor directory
vendor/modules.txt: file is in vendor directory
sub/go.mod: file is in another module
.hg_archival.txt: file is inserted by 'hg archive' and is always omitted

invalid:
not/../clean: file path is not clean
invalid.go': malformed file path "invalid.go'": invalid char '\''
valid.go: multiple entries for file "valid.go"
-- valid.go --
-- not/../clean --
-- go.mod --
go 1.24
-- invalid.go' --
-- vendor/x/y --
-- vendor/modules.txt --
-- sub/go.mod --
go 1.23
-- .hg_archival.txt --
-- valid.go --
duplicate
-- valid.go --
another duplicate
"#,
    );
}

/// testdata/create/exclude_vendor_go124.txt: plan the files, then hash the
/// zip Go would write, and compare with the hash in the test file.
#[test]
fn create_exclude_vendor_go124() {
    let files = txtar(
        "-- go.mod --
module example.com/m

go 1.24
modules.txt is excluded in 1.24+. See golang.org/issue/63395
-- vendor/modules.txt --
excluded
see comment in isVendoredPackage and golang.org/issue/31562.
-- vendor/example.com/x/x.go --
excluded
-- sub/vendor/sub.txt --
excluded
",
    );
    let module = m("example.com/m", "v1.0.0");
    let candidates: Vec<FileCandidate> = files
        .iter()
        .map(|(n, d)| regular(n, d.len() as u64))
        .collect();
    let go_mod = parse_lax(files[0].1.as_bytes());
    let plan = plan_files(&module, &candidates, go_mod.go_version_for_zip()).unwrap();
    // With go >= 1.24, sub/vendor/sub.txt is a file of package sub/vendor,
    // not of a vendored package, so it stays.
    assert_eq!(plan.included, [0, 3]);
    let names: Vec<String> = plan
        .included
        .iter()
        .map(|&i| format!("{module}/{}", files[i].0))
        .collect();
    let entries: Vec<(&str, &[u8])> = plan
        .included
        .iter()
        .zip(&names)
        .map(|(&i, name)| (name.as_str(), files[i].1.as_bytes()))
        .collect();
    // The fetched txtar says h1:WxQ7ERgHLILawPCiuSwXp5UHul7CUSRRftO8b7GTnV8=,
    // but running go 1.27.3's own zip.Create + dirhash.HashZip on exactly
    // these files gives the value below (it keeps sub/vendor/sub.txt, as
    // we do): the vendored code wins.
    assert_eq!(
        hash1(&entries).unwrap(),
        "h1:Rk38IOFfWaT3SrSJ5NPGUdUD8wHVK/XYHrwUkaano0s="
    );
}

/// vendor_test.go TestIsVendoredPackage, through the public go-version
/// handling (`lang_at_least`) rather than Go's internal "goX" strings.
#[test]
fn is_vendored_package_table() {
    // Go's `pre124` list, without the "go" prefix ("" = no go line).
    let pre124: &[Option<&str>] = &[
        None,
        Some("1.14"),
        Some("1.21.0"),
        Some("1.22.4"),
        Some("1.23"),
        Some("1.23.1"),
        Some("1.2"),
        Some("1.7"),
        Some("1.9"),
    ];
    let since124: &[Option<&str>] = &[Some("1.24.0"), Some("1.24"), Some("1.99.0")];
    let go_1_24 = |v: Option<&str>| v.is_some_and(|v| lang_at_least(v, "1.24"));

    let cases: &[(&str, bool, &[Option<&str>])] = &[
        ("vendor/foo/foo.go", true, pre124),
        ("pkg/vendor/foo/foo.go", true, pre124),
        ("longpackagename/vendor/foo/foo.go", true, pre124),
        ("vendor/vendor.go", false, pre124),
        ("vendor/foo/modules.txt", true, pre124),
        ("modules.txt", false, pre124),
        ("vendor/amodules.txt", false, pre124),
        // golang.org/issue/63395
        ("vendor/modules.txt", false, pre124),
        ("vendor/modules.txt", true, since124),
        // golang.org/issue/37397: false positives kept before 1.24...
        ("pkg/vendor/vendor.go", true, pre124),
        ("longpackagename/vendor/vendor.go", true, pre124),
        // ...and fixed from 1.24 on.
        ("pkg/vendor/vendor.go", false, since124),
        ("longpackagename/vendor/vendor.go", false, since124),
        ("pkg/vendor/foo/foo.go", true, since124),
    ];
    for &(path, want, versions) in cases {
        for &v in versions {
            assert_eq!(
                is_vendored_package(path, go_1_24(v)),
                want,
                "isVendoredPackage({path:?}, {v:?})"
            );
        }
    }
    // The pre-1.24 bug looks for a '/' after byte 8 of the *whole* name.
    assert!(is_vendored_package("x/vendor/y", false));
    assert!(!is_vendored_package("x/vendor/y", true));
    assert!(!is_vendored_package("/vendor/x", false));
    // Byte 8 inside a multi-byte rune must not panic.
    assert!(is_vendored_package("aaaaaaaé/vendor/x", false));
    assert!(!is_vendored_package("aaaaaaaé/vendor/x", true));
}

#[test]
fn spec_vendor_examples() {
    let module = m("example.com/m", "v1.0.0");
    let files = [
        regular("go.mod", 10),
        regular("vendor/modules.txt", 1),
        regular("vendor/example.com/x/x.go", 1),
        regular("pkg/vendor/vendor.go", 1),
        regular("pkg/vendor/sub/x.go", 1),
    ];
    let plan = plan_files(&module, &files, Some("1.23")).unwrap();
    assert_eq!(plan.included, [0, 1]);
    let plan = plan_files(&module, &files, None).unwrap();
    assert_eq!(plan.included, [0, 1]);
    let plan = plan_files(&module, &files, Some("1.24")).unwrap();
    assert_eq!(plan.included, [0, 3]);
    let plan = plan_files(&module, &files, Some("1.24.1")).unwrap();
    assert_eq!(plan.included, [0, 3]);
    assert_eq!(
        plan.omitted,
        [
            (1, "file is in vendor directory".to_owned()),
            (2, "file is in vendor directory".to_owned()),
            (4, "file is in vendor directory".to_owned())
        ]
    );
}

#[test]
fn nested_modules() {
    let module = m("example.com/m", "v1.0.0");
    let files = [
        regular("go.mod", 1),
        regular("a.go", 1),
        regular("sub/go.mod", 1),
        regular("sub/x.go", 1),
        regular("sub/deep/y.go", 1),
        regular("other/GO.MOD", 1), // any case marks a nested module
        regular("other/z.go", 1),
        FileCandidate {
            name: "link/go.mod",
            kind: FileKind::Symlink,
            size: 1,
        }, // a symlink does not
        regular("link/w.go", 1),
        regular("subx/v.go", 1),
    ];
    let plan = plan_files(&module, &files, None).unwrap();
    assert_eq!(plan.included, [0, 1, 8, 9]);
    let omitted: Vec<(usize, &str)> = plan.omitted.iter().map(|(i, r)| (*i, r.as_str())).collect();
    assert_eq!(
        omitted,
        [
            (2, "file is in another module"),
            (3, "file is in another module"),
            (4, "file is in another module"),
            (5, "file is in another module"),
            (6, "file is in another module"),
            (7, "file is a symbolic link"),
        ]
    );
}

#[test]
fn invalid_names() {
    let module = m("example.com/m", "v1.0.0");
    for (name, want) in [
        (
            "aux.go",
            r#"aux.go: malformed file path "aux.go": "aux" disallowed as path element component on Windows"#,
        ),
        (
            "a/COM1.txt",
            r#"a/COM1.txt: malformed file path "a/COM1.txt": "COM1" disallowed as path element component on Windows"#,
        ),
        ("a:b", r#"a:b: malformed file path "a:b": invalid char ':'"#),
        ("x*y", r#"x*y: malformed file path "x*y": invalid char '*'"#),
        ("a/../b", "a/../b: file path is not clean"),
        ("./a", "./a: file path is not clean"),
        ("a//b", "a//b: file path is not clean"),
        ("/abs", "/abs: file path is not relative"),
        ("GO.MOD", "GO.MOD: go.mod files must have lowercase names"),
        ("Go.mod", "Go.mod: go.mod files must have lowercase names"),
        (
            "emoji☺.go",
            r#"emoji☺.go: malformed file path "emoji☺.go": invalid char '☺'"#,
        ),
    ] {
        let files = [regular("ok.go", 1), regular(name, 1)];
        let err = plan_files(&module, &files, None).unwrap_err();
        assert_eq!(err.to_string(), want, "{name:?}");
        assert_eq!(err.invalid_files().len(), 1);
    }
    // Unicode letters, spaces and leading dots/dashes are fine.
    let files = [
        regular("испытание.go", 1),
        regular("a b.txt", 1),
        regular(".github/x", 1),
        regular("-x", 1),
        regular("vendor.go", 1),
    ];
    assert_eq!(
        plan_files(&module, &files, None).unwrap().included,
        [0, 1, 2, 3, 4]
    );
}

#[test]
fn case_collisions() {
    let module = m("example.com/m", "v1.0.0");
    let err = |names: &[&str]| {
        let files: Vec<FileCandidate> = names.iter().map(|n| regular(n, 1)).collect();
        plan_files(&module, &files, None)
            .map(|p| p.included)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        err(&["Foo.go", "foo.go"]),
        Err(r#"foo.go: case-insensitive file name collision: "Foo.go" and "foo.go""#.into())
    );
    // Parent directories collide too.
    assert_eq!(
        err(&["A/x.go", "a/y.go"]),
        Err(r#"a/y.go: case-insensitive file name collision: "A" and "a""#.into())
    );
    // Kelvin sign, K and k are one fold orbit.
    assert_eq!(
        err(&["\u{212A}.go", "k.go"]),
        Err("k.go: case-insensitive file name collision: \"\u{212A}.go\" and \"k.go\"".into())
    );
    assert_eq!(
        err(&["K.go", "\u{212A}.go"]),
        Err(
            "\u{212A}.go: case-insensitive file name collision: \"K.go\" and \"\u{212A}.go\""
                .into()
        )
    );
    // Simple folding only: ß and ss do not collide.
    assert_eq!(err(&["ß.go", "ss.go"]), Ok(vec![0, 1]));
    // File/directory clashes, in both orders.
    assert_eq!(
        err(&["a", "a/b"]),
        Err(r#"a/b: entry "a" is both a file and a directory"#.into())
    );
    assert_eq!(
        err(&["a/b", "a"]),
        Err(r#"a: entry "a" is both a file and a directory"#.into())
    );
    assert_eq!(
        err(&["x.go", "x.go"]),
        Err(r#"x.go: multiple entries for file "x.go""#.into())
    );
    assert_eq!(err(&["a/x.go", "a/y.go", "a/b/z.go"]), Ok(vec![0, 1, 2]));
    // Several invalid files: all reported, the first displayed.
    let e = err(&["Foo.go", "foo.go", "aux.go"]).unwrap_err();
    assert!(e.ends_with(" (and 1 more invalid file)"), "{e}");
}

#[test]
fn omitted_then_invalid_duplicate_is_dropped_like_go() {
    // Go reports each path once: the regular duplicate of a symlink gets a
    // "multiple entries" error that is swallowed, so the zip stays valid.
    let module = m("example.com/m", "v1.0.0");
    let files = [
        FileCandidate {
            name: "a.go",
            kind: FileKind::Symlink,
            size: 1,
        },
        regular("a.go", 1),
        regular("b.go", 1),
    ];
    let plan = plan_files(&module, &files, None).unwrap();
    assert_eq!(plan.included, [2]);
    assert_eq!(
        plan.omitted,
        [
            (0, "file is a symbolic link".to_owned()),
            (1, r#"multiple entries for file "a.go""#.to_owned())
        ]
    );
}

#[test]
fn irregular_files_and_directories() {
    let module = m("example.com/m", "v1.0.0");
    let files = [
        FileCandidate {
            name: "dev",
            kind: FileKind::Other,
            size: 0,
        },
        FileCandidate {
            name: "dir",
            kind: FileKind::Directory,
            size: 0,
        },
        regular("dir/x.go", 1),
        FileCandidate {
            name: ".git",
            kind: FileKind::Directory,
            size: 0,
        },
        regular(".hg/hgrc", 1), // Create keeps VCS directories; only CreateFromDir drops them
        regular(".hg_archival.txt", 1),
        regular("sub/.hg_archival.txt", 1),
    ];
    let plan = plan_files(&module, &files, None).unwrap();
    assert_eq!(plan.included, [2, 4, 6]);
    assert_eq!(
        plan.omitted.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [0, 1, 3, 5]
    );
}

/// zip_test.go `sizeLimitTests` (+ the "negative" case of TestCreateSizeLimits).
#[test]
fn size_limits() {
    let module = m("example.com/large", "v1.0.0");
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, u64)>,
        Option<&'a str>,
        Option<&'a str>,
    );
    // (desc, files, plan_files error, check_zip_entries error)
    let cases: Vec<Case> = vec![
        ("one_large", vec![("large.go", MAX_ZIP_FILE)], None, None),
        (
            "one_too_large",
            vec![("large.go", MAX_ZIP_FILE + 1)],
            Some("module source tree too large"),
            Some("total uncompressed size of module contents too large"),
        ),
        (
            "total_large",
            vec![("small.go", 10), ("large.go", MAX_ZIP_FILE - 10)],
            None,
            None,
        ),
        (
            "total_too_large",
            vec![("small.go", 10), ("large.go", MAX_ZIP_FILE - 9)],
            Some("module source tree too large"),
            Some("total uncompressed size of module contents too large"),
        ),
        ("large_gomod", vec![("go.mod", MAX_GO_MOD)], None, None),
        (
            "too_large_gomod",
            vec![("go.mod", MAX_GO_MOD + 1)],
            Some("go.mod file too large"),
            Some("go.mod file too large"),
        ),
        ("large_license", vec![("LICENSE", MAX_LICENSE)], None, None),
        (
            "too_large_license",
            vec![("LICENSE", MAX_LICENSE + 1)],
            Some("LICENSE file too large"),
            Some("LICENSE file too large"),
        ),
        (
            "negative",
            vec![("neg.go", 0x8000_0000_0000_0000)],
            Some("module source tree too large"),
            Some("total uncompressed size of module contents too large"),
        ),
        // Size limits apply to the root go.mod / LICENSE only.
        (
            "nested_license",
            vec![("sub/LICENSE", MAX_LICENSE + 1)],
            None,
            None,
        ),
    ];
    for (desc, files, want_plan, want_zip) in cases {
        let candidates: Vec<FileCandidate> = files.iter().map(|&(n, s)| regular(n, s)).collect();
        let got = plan_files(&module, &candidates, None)
            .err()
            .map(|e| e.to_string());
        match want_plan {
            None => assert_eq!(got, None, "{desc}"),
            Some(want) => assert!(
                got.as_deref().is_some_and(|g| g.contains(want)),
                "{desc}: {got:?}"
            ),
        }
        let names: Vec<String> = files.iter().map(|(n, _)| format!("{module}/{n}")).collect();
        let entries: Vec<ZipEntry> = names
            .iter()
            .zip(&files)
            .map(|(name, &(_, size))| ZipEntry {
                name,
                uncompressed_size: size,
            })
            .collect();
        let got = check_zip_entries(&module, &entries)
            .err()
            .map(|e| e.to_string());
        match want_zip {
            None => assert_eq!(got, None, "{desc}"),
            Some(want) => assert!(
                got.as_deref().is_some_and(|g| g.contains(want)),
                "{desc}: {got:?}"
            ),
        }
    }
}

#[test]
fn module_must_be_valid_and_canonical() {
    let files = [regular("a.go", 1)];
    let err = |path: &str, version: &str| {
        plan_files(&m(path, version), &files, None)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("example.com/m", "v1.0"),
        r#"version "v1.0" is not canonical (should be "v1.0.0")"#
    );
    assert_eq!(
        err("example.com/m", "v2.0.0"),
        "example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2"
    );
    assert_eq!(
        err("example", "v1.0.0"),
        r#"malformed module path "example": missing dot in first path element"#
    );
    assert!(plan_files(&m("example.com/m", "v2.0.0+incompatible"), &files, None).is_ok());
    assert!(check_zip_entries(&m("example.com/m", "v1.0.0+meta"), &[]).is_err());
}

#[test]
fn check_zip_entries_rules() {
    let module = m("example.com/Hello", "v1.0.0");
    let check = |names: &[&str]| {
        let entries: Vec<ZipEntry> = names
            .iter()
            .map(|name| ZipEntry {
                name,
                uncompressed_size: 1,
            })
            .collect();
        check_zip_entries(&module, &entries).map_err(|e| e.to_string())
    };
    // The spec §4 example, with and without directory entries.
    assert_eq!(
        check(&[
            "example.com/Hello@v1.0.0/go.mod",
            "example.com/Hello@v1.0.0/hello.go",
            "example.com/Hello@v1.0.0/sub/x.txt"
        ]),
        Ok(())
    );
    assert_eq!(
        check(&[
            "example.com/Hello@v1.0.0/",
            "example.com/Hello@v1.0.0/sub/",
            "example.com/Hello@v1.0.0/sub/x.txt",
            "example.com/Hello@v1.0.0/sub/"
        ]),
        Ok(())
    );
    assert_eq!(
        check(&["example.com/hello@v1.0.0/go.mod"]),
        Err(r#"example.com/hello@v1.0.0/go.mod: path does not have prefix "example.com/Hello@v1.0.0/""#.into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/sub/go.mod"]),
        Err("example.com/Hello@v1.0.0/sub/go.mod: go.mod file not in module root directory".into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/sub/GO.MOD"]),
        Err("example.com/Hello@v1.0.0/sub/GO.MOD: go.mod file not in module root directory".into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/Go.Mod"]),
        Err("example.com/Hello@v1.0.0/Go.Mod: go.mod files must have lowercase names".into())
    );
    // A directory named go.mod is just a directory.
    assert_eq!(check(&["example.com/Hello@v1.0.0/go.mod/"]), Ok(()));
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/a/../b"]),
        Err("example.com/Hello@v1.0.0/a/../b: file path is not clean".into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/a//"]),
        Err("example.com/Hello@v1.0.0/a//: file path is not clean".into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/aux.c"]),
        Err(r#"example.com/Hello@v1.0.0/aux.c: malformed file path "aux.c": "aux" disallowed as path element component on Windows"#.into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/a", "example.com/Hello@v1.0.0/a/"]),
        Err(r#"example.com/Hello@v1.0.0/a/: entry "a" is both a file and a directory"#.into())
    );
    assert_eq!(
        check(&["example.com/Hello@v1.0.0/k", "example.com/Hello@v1.0.0/\u{212A}"]),
        Err("example.com/Hello@v1.0.0/\u{212A}: case-insensitive file name collision: \"k\" and \"\u{212A}\"".into())
    );
    // Files in vendor/ and nested modules are not rejected on download.
    assert_eq!(
        check(&[
            "example.com/Hello@v1.0.0/vendor/a/b.go",
            "example.com/Hello@v1.0.0/.hg_archival.txt"
        ]),
        Ok(())
    );
}

#[test]
fn never_panics_on_odd_names() {
    let module = m("example.com/m", "v1.0.0");
    let names = [
        "",
        "/",
        "//",
        ".",
        "..",
        "é",
        "a/é/../b",
        "vendor/",
        "/vendor/",
        "aaaaaaé/vendor/x",
        "\u{212A}/k/K",
        "go.mod/",
        "\u{0}",
    ];
    let files: Vec<FileCandidate> = names.iter().map(|n| regular(n, 1)).collect();
    let _ = plan_files(&module, &files, Some("1.24"));
    let _ = check_files(&files, None);
    let entries: Vec<String> = names.iter().map(|n| format!("{module}/{n}")).collect();
    let entries: Vec<ZipEntry> = entries
        .iter()
        .map(|name| ZipEntry {
            name,
            uncompressed_size: u64::MAX,
        })
        .collect();
    let _ = check_zip_entries(&module, &entries);
}
