//! Differential tests: modvault's git source against the official go
//! command (1.27.3) in direct mode, on repositories built by each test.
//!
//! Both sides read the same repositories through the same git config (the
//! testkit's `GIT_CONFIG_GLOBAL`, whose `url.<base>.insteadOf` maps
//! `https://github.com/` to local directories). For every case the go
//! command's `Sum`, `GoModSum`, `.info` `Version`/`Time`/`Origin`, version
//! list and query answers must equal what `GitSource` produces, and where
//! the go command fails, `GitSource` must answer not-found.

mod support;

use support::http::TestServer;
use support::{timestamp, Harness, RepoExt};

#[test]
fn root_module_with_annotated_and_lightweight_tags_branch_and_hash_queries() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/root");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/root\n\ngo 1.21\n"),
            ("root.go", "package root\n"),
            ("LICENSE", "license text\n"),
            ("docs/readme.txt", "docs\n"),
        ],
        "first",
    );
    repo.git(&["tag", "-a", "v1.0.0", "-m", "annotated v1.0.0"]);
    repo.commit_files(&[("root.go", "package root\n\nconst X = 1\n")], "second");
    repo.tag("v1.1.0");
    let third = repo.commit_files(&[("root.go", "package root\n\nconst X = 2\n")], "third");
    repo.commit_files(&[("other.go", "package root\n")], "more");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let feature = repo.commit_files(&[("feature.go", "package root\n")], "feature work");
    repo.git(&["checkout", "-q", "main"]);

    let m = "github.com/owner/root";
    h.assert_list(m);
    h.assert_latest(m);
    h.assert_download(m, "v1.0.0");
    h.assert_download(m, "v1.1.0");
    for query in [
        "main",
        "feature",
        "HEAD",
        "v1.1.0",
        "v1.0.0",
        "v1.0",
        &third[..7],
        &third[..12],
        &third,
        &feature[..10],
    ] {
        h.assert_query(m, query);
    }
    // The pseudo-versions those queries produced download alike.
    let pseudo = h.go_query(m, &third).expect("pseudo-version").version;
    h.assert_download(m, &pseudo);
}

#[test]
fn module_in_subdirectory_with_prefixed_tags_nested_exclusion_and_license_copy() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/mono");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/mono\n\ngo 1.22\n"),
            ("LICENSE", "root license\n"),
            ("mono.go", "package mono\n"),
            (
                "sub/go.mod",
                "module github.com/owner/mono/sub\n\ngo 1.22\n",
            ),
            ("sub/sub.go", "package sub\n"),
            ("sub/deep/deep.go", "package deep\n"),
            (
                "sub/inner/go.mod",
                "module github.com/owner/mono/sub/inner\n",
            ),
            ("sub/inner/inner.go", "package inner\n"),
        ],
        "first",
    );
    repo.tag("v1.0.0")
        .tag("sub/v1.0.0")
        .tag("sub/v2.0.0")
        .tag("sub/inner/v0.1.0");
    repo.commit_files(
        &[("sub/sub.go", "package sub\n\nconst Y = 1\n")],
        "sub change",
    );
    repo.tag("sub/v1.1.0").tag("sub/v1.2.0-rc.1");
    repo.commit_files(&[("sub/LICENSE", "sub license\n")], "own license");
    repo.tag("sub/v1.2.0");
    repo.commit_files(&[("sub/sub.go", "package sub\n\nconst Y = 2\n")], "after");

    for m in [
        "github.com/owner/mono",
        "github.com/owner/mono/sub",
        "github.com/owner/mono/sub/inner",
    ] {
        h.assert_list(m);
        h.assert_latest(m);
        h.assert_query(m, "main");
    }
    // The root zip leaves out both nested modules; sub gets the root
    // LICENSE until it has its own.
    h.assert_download("github.com/owner/mono", "v1.0.0");
    for v in ["v1.0.0", "v1.1.0", "v1.2.0-rc.1", "v1.2.0"] {
        h.assert_download("github.com/owner/mono/sub", v);
    }
    h.assert_download("github.com/owner/mono/sub/inner", "v0.1.0");
    h.assert_query("github.com/owner/mono/sub", "v2.0.0");
    h.assert_query("github.com/owner/mono/sub", "v1");
    let pseudo = h
        .assert_query("github.com/owner/mono/sub", "main")
        .unwrap()
        .version;
    h.assert_download("github.com/owner/mono/sub", &pseudo);
    // A directory without a go.mod is not a module.
    h.assert_list("github.com/owner/mono/nothing");
    h.assert_latest("github.com/owner/mono/nothing");
}

#[test]
fn major_version_declared_by_the_root_go_mod() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/majroot");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/majroot\n"),
            ("m.go", "package m\n"),
        ],
        "v1",
    );
    repo.tag("v1.0.0");
    repo.commit_files(
        &[("go.mod", "module github.com/owner/majroot/v2\n\ngo 1.21\n")],
        "v2",
    );
    repo.tag("v2.0.0");
    repo.commit_files(&[("m.go", "package m\n\nconst V = 2\n")], "v2.1");
    repo.tag("v2.1.0");
    repo.commit_files(&[("m.go", "package m\n\nconst V = 3\n")], "after");

    for m in ["github.com/owner/majroot", "github.com/owner/majroot/v2"] {
        h.assert_list(m);
        h.assert_latest(m);
        h.assert_query(m, "main");
        h.assert_query(m, "v2.0.0");
        h.assert_query(m, "v1.0.0");
    }
    h.assert_download("github.com/owner/majroot", "v1.0.0");
    h.assert_download("github.com/owner/majroot/v2", "v2.0.0");
    h.assert_download("github.com/owner/majroot/v2", "v2.1.0");
    h.assert_download_fails("github.com/owner/majroot", "v2.0.0+incompatible");
    h.assert_list("github.com/owner/majroot/v3");
}

#[test]
fn major_version_in_a_subdirectory() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/majdir");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/majdir\n\ngo 1.20\n"),
            ("LICENSE", "the license\n"),
            ("m.go", "package m\n"),
            (
                "v2/go.mod",
                "module github.com/owner/majdir/v2\n\ngo 1.20\n",
            ),
            ("v2/m.go", "package m\n"),
        ],
        "both majors",
    );
    repo.tag("v1.0.0").tag("v2.0.0");
    repo.commit_files(&[("v2/m.go", "package m\n\nconst V = 2\n")], "v2 change");
    repo.tag("v2.0.1").tag("v1.1.0");
    repo.commit_files(&[("v2/extra.go", "package m\n")], "after");

    for m in ["github.com/owner/majdir", "github.com/owner/majdir/v2"] {
        h.assert_list(m);
        h.assert_latest(m);
        h.assert_query(m, "main");
    }
    // v1 leaves out v2/ (a nested module); v2 comes from v2/ with the root LICENSE.
    h.assert_download("github.com/owner/majdir", "v1.1.0");
    h.assert_download("github.com/owner/majdir/v2", "v2.0.0");
    h.assert_download("github.com/owner/majdir/v2", "v2.0.1");
    let pseudo = h
        .assert_query("github.com/owner/majdir/v2", "main")
        .unwrap()
        .version;
    h.assert_download("github.com/owner/majdir/v2", &pseudo);
    h.assert_query("github.com/owner/majdir", "v2.0.0");
    h.assert_download_fails("github.com/owner/majdir", "v2.0.0+incompatible");
}

#[test]
fn incompatible_versions_without_go_mod() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/legacy");
    repo.commit_files(&[("legacy.go", "package legacy\n")], "v1");
    repo.tag("v1.0.0");
    repo.commit_files(&[("legacy.go", "package legacy\n\nconst V = 2\n")], "v2");
    repo.tag("v2.0.0");
    repo.commit_files(&[("two.go", "package legacy\n")], "v2.1");
    repo.tag("v2.1.0");
    repo.commit_files(&[("legacy.go", "package legacy\n\nconst V = 3\n")], "v3");
    repo.git(&["tag", "-a", "v3.0.0", "-m", "three"]);
    repo.commit_files(&[("later.go", "package legacy\n")], "after");

    let m = "github.com/owner/legacy";
    let listed = h.assert_list(m);
    assert!(
        listed.contains(&"v3.0.0+incompatible".to_owned()),
        "{listed:?}"
    );
    h.assert_latest(m);
    for query in [
        "main",
        "v2.0.0",
        "v2.1.0+incompatible",
        "v2",
        "v3.0.0",
        "v1.0.0",
    ] {
        h.assert_query(m, query);
    }
    h.assert_download(m, "v1.0.0");
    h.assert_download(m, "v2.0.0+incompatible");
    h.assert_download(m, "v3.0.0+incompatible");
    let pseudo = h.assert_query(m, "main").unwrap().version;
    assert!(pseudo.ends_with("+incompatible"), "{pseudo}");
    h.assert_download(m, &pseudo);
    h.assert_download(m, "v2.0.0");
    h.assert_list("github.com/owner/legacy/v2");
}

#[test]
fn incompatible_versions_with_a_later_go_mod() {
    let h = Harness::new();
    // The latest v0/v1 version has a go.mod: no +incompatible in the list,
    // though explicit ones still resolve.
    let mut later = h.go.repo("owner/later");
    later.commit_files(&[("l.go", "package l\n")], "v1");
    later.tag("v1.0.0");
    later.commit_files(&[("l.go", "package l\n\nconst V = 2\n")], "v2");
    later.tag("v2.0.0");
    later.commit_files(&[("go.mod", "module github.com/owner/later\n")], "modules");
    later.tag("v1.1.0");
    let m = "github.com/owner/later";
    h.assert_list(m);
    h.assert_latest(m);
    h.assert_query(m, "v2.0.0");
    h.assert_query(m, "v2");
    h.assert_download(m, "v2.0.0+incompatible");
    h.assert_download(m, "v1.1.0");

    // Per major: a major whose latest version has a go.mod is dropped; a
    // vN/go.mod blocks +incompatible unless it is asked for explicitly.
    let mut mixed = h.go.repo("owner/mixed");
    mixed.commit_files(&[("x.go", "package x\n")], "v1");
    mixed.tag("v1.0.0");
    mixed.commit_files(&[("x.go", "package x\n\nconst V = 2\n")], "v2");
    mixed.tag("v2.0.0");
    mixed.commit_files(&[("x.go", "package x\n\nconst V = 4\n")], "v4");
    mixed.tag("v4.0.0");
    mixed.commit_files(
        &[("go.mod", "module github.com/owner/mixed/v4\n")],
        "v4 module",
    );
    mixed.tag("v4.1.0");
    mixed.git(&["rm", "-q", "go.mod"]);
    mixed.commit_files(
        &[
            ("v5/go.mod", "module github.com/owner/mixed/v5\n"),
            ("v5/x.go", "package x\n"),
        ],
        "v5 dir",
    );
    mixed.tag("v5.0.0");
    let m = "github.com/owner/mixed";
    h.assert_list(m);
    h.assert_latest(m);
    for query in [
        "v4.0.0",
        "v4.1.0",
        "v5.0.0",
        "v5.0.0+incompatible",
        "v2.0.0",
        "main",
    ] {
        h.assert_query(m, query);
    }
    h.assert_download(m, "v4.0.0+incompatible");
    h.assert_download_fails(m, "v4.1.0+incompatible");
    h.assert_download(m, "v5.0.0+incompatible");
    h.assert_download_fails(m, "v5.0.0");
    h.assert_list("github.com/owner/mixed/v5");
    h.assert_download("github.com/owner/mixed/v5", "v5.0.0");
}

#[test]
fn pseudo_versions_of_all_three_forms_and_their_validation() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/pseudo");
    let a = repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/pseudo\n"),
            ("p.go", "package p\n"),
        ],
        "a",
    );
    let b = repo.commit_files(&[("p.go", "package p\n\nconst B = 1\n")], "b");
    repo.tag("v1.0.0");
    let c = repo.commit_files(&[("p.go", "package p\n\nconst C = 1\n")], "c");
    let d = repo.commit_files(&[("p.go", "package p\n\nconst D = 1\n")], "d");
    repo.git(&["tag", "-a", "v1.1.0-pre", "-m", "pre"]);
    let e = repo.commit_files(&[("p.go", "package p\n\nconst E = 1\n")], "e");

    let m = "github.com/owner/pseudo";
    let form1 = h.assert_query(m, &a).unwrap().version;
    let form2 = h.assert_query(m, &c).unwrap().version;
    let form3 = h.assert_query(m, &e[..9]).unwrap().version;
    assert!(form1.starts_with("v0.0.0-"), "{form1}");
    assert!(form2.starts_with("v1.0.1-0."), "{form2}");
    assert!(form3.starts_with("v1.1.0-pre.0."), "{form3}");
    for version in [&form1, &form2, &form3] {
        h.assert_download(m, version);
    }
    h.assert_query(m, &b);
    h.assert_query(m, &d);
    h.assert_list(m);
    h.assert_latest(m);

    // Client-supplied pseudo-versions are checked before anything is served.
    let (short_b, short_c) = (&b[..12], &c[..12]);
    let time_b = timestamp(&h.go_query(m, &b).unwrap().time);
    let time_c = timestamp(&h.go_query(m, &c).unwrap().time);
    let invalid = [
        form2.replace(&time_c, "20240101000000"),   // wrong time
        form2.replace(short_c, &c[..11]),           // short revision
        form2.replace(short_c, &c[..13]),           // long revision
        format!("v1.1.0-pre.0.{time_c}-{short_c}"), // base is not an ancestor
        format!("v1.0.0-{time_c}-{short_c}"),       // v1 without a base
        format!("v0.9.1-0.{time_c}-{short_c}"),     // no such base tag
        form1.replacen("v0.0.0-", "v2.0.0-", 1),    // wrong major for the path
        format!("v1.0.1-0.{time_b}-{short_b}"),     // derived from the commit's own tag
        format!("v0.0.0-{time_c}-000000000000"),    // no such commit
    ];
    for version in &invalid {
        h.assert_download_fails(m, version);
        assert!(h.assert_query(m, version).is_none(), "{version}");
    }

    // Unknown revisions.
    for query in ["nonexistent", "v9.9.9", "0123456789ab", "deadbeef"] {
        assert!(h.assert_query(m, query).is_none(), "{query}");
    }
    h.assert_download_fails(m, "v9.9.9");

    // A commit reachable only from a ref that is neither a branch nor a
    // tag (a pull request) is refused.
    repo.git(&["checkout", "-q", "-b", "pr"]);
    let pr = repo.commit_files(&[("pr.go", "package p\n")], "pull request");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["update-ref", "refs/pull/1/head", &pr]);
    repo.git(&["branch", "-q", "-D", "pr"]);
    assert!(h.assert_query(m, &pr).is_none());
    assert!(h.assert_query(m, &pr[..12]).is_none());
}

#[test]
fn retracted_latest_version() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/retract");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/retract\n\ngo 1.21\n"),
            ("r.go", "package r\n"),
        ],
        "v1.0.0",
    );
    repo.tag("v1.0.0");
    repo.commit_files(&[("r.go", "package r\n\nconst V = 1\n")], "v1.1.0");
    repo.tag("v1.1.0");
    repo.commit_files(&[("r.go", "package r\n\nconst V = 11\n")], "v1.1.1");
    repo.tag("v1.1.1");
    repo.commit_files(
        &[("go.mod", "module github.com/owner/retract\n\ngo 1.21\n\nretract (\n\tv1.2.0 // oops, this one\n\t[v1.1.0, v1.1.1] // broken\n)\n")],
        "v1.2.0 retracts itself",
    );
    repo.tag("v1.2.0");
    repo.commit_files(&[("r.go", "package r\n\nconst V = 3\n")], "after");
    let m = "github.com/owner/retract";
    let listed = h.assert_list(m);
    assert!(
        listed.contains(&"v1.2.0".to_owned()),
        "retracted versions stay listed: {listed:?}"
    );
    let latest = h.assert_latest(m).unwrap();
    assert_eq!(latest.version, "v1.0.0");
    // Pseudo-versions skip retracted base tags.
    for query in [
        "main", "v1", "v1.1", "v1.2", "v1.2.0", ">=v1.1.0", "<v1.2.0", "<=v1.1.1", ">v1.0.0",
    ] {
        h.assert_query(m, query);
    }
    h.assert_download(m, "v1.2.0");

    // Everything tagged is retracted: @latest is the newest commit on the
    // default branch, as a pseudo-version (whose base skips the retracted tag).
    let mut all = h.go.repo("owner/allretracted");
    all.commit_files(
        &[
            (
                "go.mod",
                "module github.com/owner/allretracted\n\nretract v1.0.0\n",
            ),
            ("a.go", "package a\n"),
        ],
        "v1",
    );
    all.tag("v1.0.0");
    let m = "github.com/owner/allretracted";
    h.assert_latest(m);
    all.commit_files(&[("a.go", "package a\n\nconst V = 1\n")], "after");
    let latest = h.assert_latest(m).unwrap();
    assert!(latest.version.starts_with("v0.0.0-"), "{latest:?}");
    h.assert_list(m);
}

#[test]
fn tags_with_build_metadata() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/build");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/build\n"),
            ("b.go", "package b\n"),
        ],
        "a",
    );
    repo.tag("v1.0.0");
    repo.commit_files(&[("b.go", "package b\n\nconst V = 1\n")], "b");
    repo.tag("v1.1.0+build.5");
    repo.commit_files(&[("b.go", "package b\n\nconst V = 2\n")], "c");
    let m = "github.com/owner/build";
    h.assert_list(m);
    h.assert_latest(m);
    for query in ["v1.1.0+build.5", "v1.1.0", "main", "v1.0.0+other"] {
        h.assert_query(m, query);
    }
    let pseudo = h.assert_query(m, "v1.1.0+build.5").unwrap().version;
    h.assert_download(m, &pseudo);

    // The default branch's head carries only a +build tag below an older,
    // higher tag.
    let mut head = h.go.repo("owner/buildhead");
    head.commit_files(&[("go.mod", "module github.com/owner/buildhead\n")], "a");
    head.tag("v1.5.0");
    head.commit_files(&[("x.go", "package x\n")], "b");
    head.tag("v1.2.0+meta");
    let m = "github.com/owner/buildhead";
    h.assert_latest(m);
    h.assert_query(m, "main");
    h.assert_query(m, "v1.2.0+meta");
}

#[test]
fn vendor_directories_follow_the_go_version() {
    let h = Harness::new();
    for (name, go_line) in [
        ("vendor123", "1.23"),
        ("vendor124", "1.24"),
        ("vendornone", ""),
    ] {
        let mut repo = h.go.repo(&format!("owner/{name}"));
        let go_mod = if go_line.is_empty() {
            format!("module github.com/owner/{name}\n")
        } else {
            format!("module github.com/owner/{name}\n\ngo {go_line}\n")
        };
        repo.commit_files(
            &[
                ("go.mod", &go_mod),
                ("main.go", "package main\n"),
                ("vendor/modules.txt", "# example.com/x v1.0.0\n"),
                ("vendor/example.com/x/x.go", "package x\n"),
                ("vendor/top.go", "package vendor\n"),
                ("vendor/example.com/x/aux.go", "package x\n"),
                ("pkg/vendor/vendor.go", "package vendor\n"),
                ("pkg/vendor/sub/y.go", "package sub\n"),
                ("a/b/vendor/c/d.go", "package d\n"),
            ],
            "vendored",
        );
        repo.tag("v1.0.0");
        h.assert_download(&format!("github.com/owner/{name}"), "v1.0.0");
    }
}

#[test]
fn symlinks_and_submodules_are_left_out() {
    let h = Harness::new();
    let sub = h.go.repo("owner/submod");
    sub.write("s.txt", "s\n");
    let mut sub = sub;
    let sub_head = sub.commit_files(&[("s.txt", "s\n")], "sub");

    let mut repo = h.go.repo("owner/links");
    repo.write("go.mod", "module github.com/owner/links\n")
        .write("a.go", "package a\n")
        .write("LICENSE", "lic\n");
    repo.write("dir/b.go", "package dir\n")
        .write("other/LICENSE", "other\n")
        .write("other/go.mod", "module github.com/owner/links/other\n");
    repo.symlink("link.go", "a.go")
        .symlink("dirlink", "dir")
        .symlink("dangling", "nowhere")
        .symlink("other/LICENSE2", "../LICENSE");
    repo.write(
        ".gitmodules",
        "[submodule \"sm\"]\n\tpath = sm\n\turl = https://github.com/owner/submod\n",
    );
    std::fs::create_dir_all(repo.path.join("sm")).unwrap();
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{sub_head},sm"),
    ]);
    repo.commit_files(&[], "links and a submodule");
    let tree = String::from_utf8(repo.git(&["ls-tree", "HEAD", "sm"]).stdout).unwrap();
    assert!(
        tree.starts_with("160000 commit"),
        "the submodule is committed: {tree}"
    );
    repo.tag("v1.0.0").tag("other/v1.0.0");
    // A symlinked LICENSE in a subdirectory module counts as present, and
    // is then left out as a symlink: no LICENSE at all.
    repo.git(&["rm", "-q", "other/LICENSE"]);
    repo.symlink("other/LICENSE", "../LICENSE");
    repo.commit_files(&[], "symlinked license");
    repo.tag("other/v1.1.0");
    h.assert_download("github.com/owner/links", "v1.0.0");
    h.assert_download("github.com/owner/links/other", "v1.0.0");
    h.assert_download("github.com/owner/links/other", "v1.1.0");
}

#[test]
fn eol_and_ident_attributes_apply_to_zips_not_to_mod_files() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/attrs");
    repo.commit_files(
        &[
            (".gitattributes", "*.txt eol=crlf\ngo.mod text eol=crlf\nid.go ident\nignored.go export-ignore\nsubst.txt export-subst\n*.auto text=auto\n"),
            ("go.mod", "module github.com/owner/attrs\n\ngo 1.21\n"),
            ("a.txt", "line one\nline two\n"),
            ("id.go", "package attrs\n\n// $Id$\n"),
            ("ignored.go", "package attrs\n"),
            ("subst.txt", "$Format:%H$\n"),
            ("x.auto", "a\nb\n"),
            ("LICENSE", "license\nwith lines\n"),
            ("sub/go.mod", "module github.com/owner/attrs/sub\n"),
            ("sub/s.txt", "sub\ntext\n"),
        ],
        "attributes",
    );
    repo.tag("v1.0.0").tag("sub/v1.0.0");
    let m = "github.com/owner/attrs";
    h.assert_download(m, "v1.0.0");
    h.assert_download("github.com/owner/attrs/sub", "v1.0.0");
    // .mod is the raw blob; the zip's go.mod went through eol=crlf, and
    // ident expanded $Id$ (the sums above already prove the bytes equal).
    let raw = h.ours_go_mod(m, "v1.0.0").unwrap();
    assert!(!raw.contains(&b'\r'), "{raw:?}");
    let files = support::zip_files(&h.ours_zip(m, "v1.0.0").unwrap());
    assert_eq!(
        files["github.com/owner/attrs@v1.0.0/go.mod"],
        b"module github.com/owner/attrs\r\n\r\ngo 1.21\r\n"
    );
    assert_eq!(
        files["github.com/owner/attrs@v1.0.0/a.txt"],
        b"line one\r\nline two\r\n"
    );
    assert!(
        String::from_utf8_lossy(&files["github.com/owner/attrs@v1.0.0/id.go"]).contains("$Id: ")
    );
    // export-subst is switched off (and *.txt still gets CRLF).
    assert_eq!(
        files["github.com/owner/attrs@v1.0.0/subst.txt"],
        b"$Format:%H$\r\n"
    );
    assert!(files.contains_key("github.com/owner/attrs@v1.0.0/ignored.go"));
}

#[test]
fn invalid_versions_are_unavailable() {
    let h = Harness::new();
    let mut collide = h.go.repo("owner/collide");
    collide.commit_files(
        &[
            ("go.mod", "module github.com/owner/collide\n"),
            ("Foo.go", "package c\n"),
            ("foo.go", "package c\n"),
        ],
        "collision",
    );
    collide.tag("v1.0.0");
    collide.commit_files(
        &[("dir/x.go", "package d\n"), ("DIR/y.go", "package d\n")],
        "directory collision",
    );
    collide.tag("v1.1.0");
    h.assert_download_fails("github.com/owner/collide", "v1.0.0");
    h.assert_download_fails("github.com/owner/collide", "v1.1.0");

    let mut names = h.go.repo("owner/badname");
    names.commit_files(
        &[
            ("go.mod", "module github.com/owner/badname\n"),
            ("aux.go", "package b\n"),
        ],
        "reserved name",
    );
    names.tag("v1.0.0");
    names.git(&["rm", "-q", "aux.go"]);
    names.commit_files(&[("x*y.go", "package b\n")], "star");
    names.tag("v1.1.0");
    names.git(&["rm", "-q", "x*y.go"]);
    names.commit_files(
        &[("sub/GO.MOD", "module x\n"), ("Go.mod.txt", "fine\n")],
        "upper-case go.mod",
    );
    names.tag("v1.2.0");
    names.git(&["rm", "-q", "-r", "sub"]);
    // Omitted before it is checked: an invalid name inside vendor/ or a
    // nested module does not matter.
    names.commit_files(
        &[
            ("vendor/x/aux.go", "package x\n"),
            ("nested/go.mod", "module n\n"),
            ("nested/con.go", "package n\n"),
        ],
        "omitted",
    );
    names.tag("v1.3.0");
    for v in ["v1.0.0", "v1.1.0"] {
        h.assert_download_fails("github.com/owner/badname", v);
    }
    h.assert_download("github.com/owner/badname", "v1.2.0");
    h.assert_download("github.com/owner/badname", "v1.3.0");
}

#[test]
fn empty_repository_unknown_revisions_and_missing_repositories() {
    let h = Harness::new();
    let _empty = h.go.repo("owner/empty");
    let m = "github.com/owner/empty";
    assert!(h.assert_list(m).is_empty());
    assert!(h.assert_latest(m).is_none());
    assert!(h.assert_query(m, "main").is_none());
    h.assert_download_fails(m, "v1.0.0");

    // No go command here: for a missing repository it asks github.com
    // over the network. modvault answers not-found.
    support::expect_not_found(
        &h.ours_list("github.com/owner/missing"),
        "missing repository",
    );
    support::expect_not_found(
        &h.ours_latest("github.com/owner/missing/sub"),
        "missing repository",
    );
    // A failed first fetch leaves no mirror (nor its staging directory)
    // behind; only the empty repository's mirror exists.
    let mirrors: Vec<String> = std::fs::read_dir(h.go.dir.path().join("mirrors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        mirrors.len() == 1 && mirrors[0].contains("owner_empty"),
        "mirrors after a missing repository: {mirrors:?}"
    );
    // Paths the static rules reject.
    support::expect_not_found(&h.ours_list("github.com/owner"), "bare owner");
    support::expect_not_found(&h.ours_list("github.com/owner/repo.git"), "VCS suffix");
}

#[test]
fn discovery_gopkg_in_subdirectory_and_mod_entries() {
    let server = TestServer::start();
    let insecure = "gopkg.in,mvtest.example";
    // The go command reaches the discovery server as its HTTP proxy; HTTPS
    // tunnels are refused, so GOINSECURE lets it fall back to plain HTTP.
    let go_env = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
        .iter()
        .map(|k| (k.to_string(), server.url.clone()))
        .chain([
            ("GOINSECURE".to_string(), insecure.to_string()),
            ("NO_PROXY".into(), String::new()),
            ("no_proxy".into(), String::new()),
        ])
        .collect();
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(&server.url).unwrap())
        .build()
        .unwrap();
    let h = Harness::custom(go_env, |o| o.insecure = insecure.into(), Some(client));
    h.serve_host_from_repos("gopkg.in");

    // gopkg.in: the major version is in the path (.v1), the repository
    // has no go.mod, and the v2 tags belong to another module.
    let mut yaml = h.repo_at("gopkg.in/mvtest.v1");
    yaml.commit_files(&[("y.go", "package mvtest\n")], "v0");
    yaml.tag("v0.9.0");
    yaml.commit_files(&[("y.go", "package mvtest\n\nconst V = 1\n")], "v1");
    yaml.tag("v1.0.0");
    yaml.commit_files(&[("z.go", "package mvtest\n")], "v1.1");
    yaml.tag("v1.1.0");
    yaml.commit_files(&[("y.go", "package mvtest\n\nconst V = 2\n")], "v2");
    yaml.tag("v2.0.0");
    yaml.commit_files(&[("later.go", "package mvtest\n")], "after");
    server.go_import(
        "gopkg.in/mvtest.v1",
        "gopkg.in/mvtest.v1 git https://gopkg.in/mvtest.v1",
    );
    let m = "gopkg.in/mvtest.v1";
    assert_eq!(h.assert_list(m), ["v1.0.0", "v1.1.0"]);
    assert_eq!(h.assert_latest(m).unwrap().version, "v1.1.0");
    h.assert_download(m, "v1.1.0");
    let pseudo = h.assert_query(m, "main").unwrap().version;
    h.assert_download(m, &pseudo);
    h.assert_query(m, "v2.0.0");

    // The 4-field form: the prefix maps to a subdirectory, whose path is
    // also the tag prefix.
    let mut hosted = h.go.repo("owner/hosted");
    hosted.commit_files(
        &[
            ("LICENSE", "hosted license\n"),
            ("dir/inner/go.mod", "module mvtest.example/subm\n"),
            ("dir/inner/i.go", "package subm\n"),
        ],
        "inner module",
    );
    hosted.tag("dir/inner/v1.0.0");
    hosted.commit_files(
        &[("dir/inner/i.go", "package subm\n\nconst V = 1\n")],
        "after",
    );
    server.go_import(
        "mvtest.example/subm",
        "mvtest.example/subm git https://github.com/owner/hosted dir/inner",
    );
    let m = "mvtest.example/subm";
    assert_eq!(h.assert_list(m), ["v1.0.0"]);
    h.assert_latest(m).unwrap();
    h.assert_download(m, "v1.0.0");
    h.assert_query(m, "main").unwrap();

    // A `mod` entry: the module comes from that GOPROXY server.
    let tree = h.go.dir.path().join("served");
    support::write_proxy_tree(
        &tree,
        "mvtest.example/viaproxy",
        "v1.0.0",
        &[
            ("go.mod", "module mvtest.example/viaproxy\n"),
            ("p.go", "package p\n"),
        ],
    );
    server.files(tree);
    server.go_import(
        "mvtest.example/viaproxy",
        &format!("mvtest.example/viaproxy mod {}/files", server.url),
    );
    let m = "mvtest.example/viaproxy";
    assert_eq!(h.assert_list(m), ["v1.0.0"]);
    h.assert_download(m, "v1.0.0");

    // No go-import tags for this path: not found on both sides.
    assert!(h.assert_list("mvtest.example/unknown").is_empty());
}

#[test]
fn mirrors_persist_and_canonical_versions_need_no_fetch() {
    let h = Harness::custom(
        Vec::new(),
        |o| o.refs_ttl = std::time::Duration::from_secs(3600),
        None,
    );
    let mut repo = h.go.repo("owner/persist");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/persist\n"),
            ("p.go", "package p\n"),
        ],
        "v1",
    );
    repo.tag("v1.0.0");
    let m = "github.com/owner/persist";
    assert_eq!(h.ours_list(m).unwrap(), ["v1.0.0"]);
    let sum = h.ours_zip_sum(m, "v1.0.0").unwrap();

    // Within the refs TTL, list answers from the mirror.
    repo.commit_files(&[("p.go", "package p\n\nconst V = 1\n")], "v1.1");
    repo.tag("v1.1.0");
    assert_eq!(h.ours_list(m).unwrap(), ["v1.0.0"]);

    // With the repository gone, what the mirror has is still served.
    let moved = repo.path.with_file_name("persist-moved");
    std::fs::rename(&repo.path, &moved).unwrap();
    assert_eq!(h.ours_info(m, "v1.0.0").unwrap().version, "v1.0.0");
    assert_eq!(h.ours_zip_sum(m, "v1.0.0").unwrap(), sum);

    // So does a new process over the same mirrors, for canonical versions;
    // its first list must fetch, and the repository is not there.
    let restarted = Harness::custom(Vec::new(), |_| {}, None);
    let mut options = h.options.clone();
    // The failed fetch below would otherwise be answered from memory.
    options.failure_ttl = std::time::Duration::ZERO;
    let source = modvault_git::GitSource::new(options).unwrap();
    let info = restarted
        .block_on(modvault_upstream::Fetcher::info(&source, m, "v1.0.0"))
        .unwrap();
    assert_eq!(info.version, "v1.0.0");
    let gone = restarted.block_on(modvault_upstream::Fetcher::list(&source, m));
    support::expect_not_found(&gone, "list after the repository is gone");

    // Back in place: the next fetch is incremental and sees the new tag.
    std::fs::rename(&moved, &repo.path).unwrap();
    let list = restarted
        .block_on(modvault_upstream::Fetcher::list(&source, m))
        .unwrap();
    assert_eq!(list, "v1.0.0\nv1.1.0\n");
}

#[test]
fn concurrent_requests_share_one_mirror() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/busy");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/busy\n"),
            ("b.go", "package b\n"),
        ],
        "v1",
    );
    repo.tag("v1.0.0");
    repo.commit_files(&[("b.go", "package b\n\nconst V = 1\n")], "after");
    let m = "github.com/owner/busy";
    let source = h.source();
    let (lists, zips) = h.block_on(async {
        let lists =
            futures::future::join_all((0..12).map(|_| modvault_upstream::Fetcher::list(source, m)));
        let zips = futures::future::join_all(
            (0..6).map(|_| modvault_upstream::Fetcher::zip(source, m, "v1.0.0")),
        );
        futures::join!(lists, zips)
    });
    for list in lists {
        assert_eq!(list.unwrap(), "v1.0.0\n");
    }
    for zip in zips {
        assert!(zip.is_ok());
    }
    h.assert_download(m, "v1.0.0");
    h.assert_latest(m);
}

#[test]
fn failures_to_reach_a_repository_never_show_credentials() {
    let port = modvault_testkit::closed_port();
    let repo = format!("https://alice:s3cr3t-token@127.0.0.1:{port}/private/repo.git");
    let h = Harness::custom(
        Vec::new(),
        |o| {
            o.go_imports.push(modvault_git::GoImport {
                prefix: "private.example/repo".into(),
                vcs: "git".into(),
                repo: repo.clone(),
                subdir: None,
            })
        },
        None,
    );
    for result in [
        h.ours_list("private.example/repo").map(|_| ()),
        h.ours_info("private.example/repo/sub", "v1.0.0")
            .map(|_| ()),
    ] {
        match result {
            Err(modvault_upstream::FetchError::Upstream(message)) => {
                assert!(
                    !message.contains("s3cr3t") && !message.contains("alice"),
                    "{message}"
                );
                assert!(message.contains("127.0.0.1"), "{message}");
            }
            other => panic!("expected an upstream error, got {other:?}"),
        }
    }
}

#[test]
fn unusual_go_mod_files_and_upper_case_paths() {
    let h = Harness::new();
    // A go.mod naming another path with a compatible major is served as is.
    let mut renamed = h.go.repo("owner/renamed");
    renamed.commit_files(
        &[
            ("go.mod", "module example.com/elsewhere\n"),
            ("r.go", "package r\n"),
        ],
        "renamed",
    );
    renamed.tag("v1.0.0");
    h.assert_download("github.com/owner/renamed", "v1.0.0");
    h.assert_latest("github.com/owner/renamed");

    // A symlinked go.mod is read as the link's text (a blob): no module path.
    let mut linked = h.go.repo("owner/linkedmod");
    linked.write("real.mod", "module github.com/owner/linkedmod\n");
    linked.symlink("go.mod", "real.mod");
    linked.commit_files(&[("l.go", "package l\n")], "symlinked go.mod");
    linked.tag("v1.0.0");
    h.assert_download_fails("github.com/owner/linkedmod", "v1.0.0");
    h.assert_query("github.com/owner/linkedmod", "main");

    // Upper case in the path survives into the zip prefix and Origin.
    let mut upper = h.go.repo("Owner/CamelCase");
    upper.commit_files(
        &[
            ("go.mod", "module github.com/Owner/CamelCase\n"),
            ("Code.go", "package c\n"),
        ],
        "upper",
    );
    upper.tag("v1.0.0");
    let m = "github.com/Owner/CamelCase";
    h.assert_list(m);
    h.assert_download(m, "v1.0.0");
    h.assert_query(m, "main");
}

#[test]
fn a_new_base_tag_is_found_after_the_refs_go_stale() {
    let ttl = std::time::Duration::from_millis(300);
    let h = Harness::custom(Vec::new(), |o| o.refs_ttl = ttl, None);
    let mut repo = h.go.repo("owner/latetag");
    let a = repo.commit_files(&[("go.mod", "module github.com/owner/latetag\n")], "a");
    repo.commit_files(&[("b.go", "package b\n")], "b");
    let m = "github.com/owner/latetag";
    let before = h.ours_latest(m).unwrap().version;
    assert!(before.starts_with("v0.0.0-"), "{before}");

    // The commit is mirrored; its base tag appears upstream afterwards.
    repo.git(&["tag", "v1.0.0", &a]);
    std::thread::sleep(ttl * 2);
    let pseudo = h.go_query(m, "main").unwrap().version;
    assert!(pseudo.starts_with("v1.0.1-0."), "{pseudo}");
    assert_eq!(h.ours_info(m, &pseudo).unwrap().version, pseudo);
    h.assert_download(m, &pseudo);
}

#[test]
fn a_moved_tag_is_followed_once_the_refs_go_stale() {
    // What is memoized per refs snapshot (a tag's commit) must not outlive
    // the refs it came from.
    let ttl = std::time::Duration::from_millis(300);
    let h = Harness::custom(Vec::new(), |o| o.refs_ttl = ttl, None);
    let mut repo = h.go.repo("owner/movedtag");
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/movedtag\n"),
            ("a.go", "package a\n"),
        ],
        "a",
    );
    repo.tag("v1.0.0");
    let m = "github.com/owner/movedtag";
    let before = h.assert_latest(m).expect("a latest version");
    h.assert_download(m, "v1.0.0");

    let b = repo.commit_files(&[("a.go", "package a\n\nconst B = 1\n")], "b");
    repo.git(&["tag", "-f", "v1.0.0", &b]);
    std::thread::sleep(ttl * 2);
    let after = h.assert_latest(m).expect("a latest version");
    assert_eq!(after.version, "v1.0.0");
    assert_ne!(after.hash, before.hash, "the tag moved");
    h.assert_query(m, "v1.0.0");
    h.assert_download(m, "v1.0.0");
}

#[test]
fn sha256_repositories() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/sha256");
    std::fs::remove_dir_all(repo.path.join(".git")).unwrap();
    repo.git(&["init", "-q", "--object-format=sha256"]);
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/sha256\n\ngo 1.21\n"),
            ("a.go", "package a\n"),
        ],
        "first",
    );
    repo.tag("v1.0.0");
    let second = repo.commit_files(&[("a.go", "package a\n\nconst B = 2\n")], "second");
    assert_eq!(second.len(), 64, "the repository uses SHA-256");

    let m = "github.com/owner/sha256";
    h.assert_list(m);
    h.assert_latest(m);
    h.assert_download(m, "v1.0.0");
    for query in ["main", &second[..12], &second] {
        h.assert_query(m, query);
    }
    let pseudo = h.go_query(m, &second).expect("pseudo-version").version;
    h.assert_download(m, &pseudo);
}

// ---------------------------------------------------------------------
// Repositories at scale: fetch what each request needs (issue 10).

#[test]
fn a_long_history_is_fetched_tag_first_then_deepened_once_for_a_pseudo_version() {
    let h = Harness::new();
    let repo = h.go.repo("owner/long");
    let m = "github.com/owner/long";
    let tags = [(500, "v1.0.0"), (1500, "v1.1.0"), (2500, "v1.2.0")];
    let commits = support::fast_import_history(&repo, m, 3000, &tags);
    repo.git(&["branch", "feature", &commits[2799]]);
    let mirror = "github.com_owner_long";

    // The list and @latest come from the refs; @latest reads one tag.
    assert_eq!(h.assert_list(m), ["v1.0.0", "v1.1.0", "v1.2.0"]);
    assert_eq!(h.mirror_commits(mirror), 0, "a list transfers no commits");
    h.assert_latest(m);
    // Tagged versions: one commit each, however long the history.
    h.assert_download(m, "v1.1.0");
    h.assert_download(m, "v1.2.0");
    assert!(h.mirror_is_shallow(mirror));
    // The second tag fetch of a small repository brings its third tag.
    assert_eq!(h.mirror_commits(mirror), 3, "one commit per tagged version");

    // A pseudo-version needs its base tag: the whole history, once.
    let pseudo = h
        .go_query(m, &commits[1999])
        .expect("a pseudo-version")
        .version;
    assert!(pseudo.starts_with("v1.1.1-0."), "{pseudo}");
    h.assert_download(m, &pseudo);
    h.assert_query(m, &commits[1999][..12]);
    assert!(!h.mirror_is_shallow(mirror));
    assert_eq!(h.mirror_commits(mirror), 3000);

    // A branch query, then a tag and a hash, from the deep mirror.
    let branch = h.assert_query(m, "feature").expect("the branch resolves");
    assert!(branch.version.starts_with("v1.2.1-0."), "{branch:?}");
    h.assert_download(m, &branch.version);
    h.assert_download(m, "v1.0.0");
    h.assert_query(m, "main");
    h.assert_latest(m);
    assert_eq!(h.mirror_commits(mirror), 3000);
}

#[test]
fn a_branch_and_head_are_fetched_alone_when_their_commit_carries_the_tag() {
    let h = Harness::new();
    let repo = h.go.repo("owner/tiptag");
    let m = "github.com/owner/tiptag";
    let commits = support::fast_import_history(&repo, m, 400, &[(100, "v0.1.0")]);
    // The tip carries a version with build metadata: its own tags are the
    // pseudo-version base (Go's first `for-each-ref --merged`), no history.
    repo.git(&["tag", "v0.2.0+meta", &commits[399]]);
    let mirror = "github.com_owner_tiptag";
    let main = h.assert_query(m, "main").expect("main resolves");
    assert!(main.version.starts_with("v0.2.1-0."), "{main:?}");
    h.assert_latest(m);
    assert!(h.mirror_is_shallow(mirror));
    // The tip, and the latest tag for its go.mod's retractions (as Go).
    assert_eq!(h.mirror_commits(mirror), 2);
    h.assert_download(m, &main.version);
}

#[test]
fn damaged_old_history_still_serves_every_version_whose_tree_is_whole() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/damaged");
    let m = "github.com/owner/damaged";
    repo.commit_files(
        &[
            ("go.mod", "module github.com/owner/damaged\n"),
            ("d.go", "package d\n\n// The first revision.\n"),
        ],
        "first",
    );
    repo.tag("v1.0.0");
    let lost = String::from_utf8(repo.git(&["rev-parse", "v1.0.0:d.go"]).stdout).unwrap();
    let middle = repo.commit_files(&[("d.go", "package d\n\n// The second.\n")], "second");
    repo.commit_files(&[("e.go", "package d\n")], "third");
    repo.tag("v1.1.0");
    repo.commit_files(&[("d.go", "package d\n\n// The last.\n")], "fourth");
    repo.tag("v1.2.0");
    repo.commit_files(&[("f.go", "package d\n")], "untagged tip");
    // The server has lost one object of the oldest commit (its objects
    // are loose: straight from `git commit`).
    let lost = lost.trim();
    let object = repo
        .path
        .join(format!(".git/objects/{}/{}", &lost[..2], &lost[2..]));
    std::fs::remove_file(&object).expect("a loose object to remove");

    assert_eq!(h.assert_list(m), ["v1.0.0", "v1.1.0", "v1.2.0"]);
    h.assert_latest(m);
    h.assert_download(m, "v1.2.0");
    h.assert_download(m, "v1.1.0");
    // What needs the damaged tree or the whole history fails on both sides.
    h.assert_download_fails(m, "v1.0.0");
    assert!(
        h.assert_query(m, "main").is_none(),
        "main needs its base tag"
    );
    assert!(h.assert_query(m, &middle).is_none());
    // With a reason that says why.
    let why = h.ours_info(m, "main").unwrap_err().to_string();
    assert!(why.contains("history cannot be fetched"), "{why}");
    let local = h.go.dir.path().to_string_lossy().into_owned();
    assert!(
        !why.contains(&local),
        "a local path reached the client: {why}"
    );
    // The versions that worked still do.
    h.assert_download(m, "v1.2.0");
}

#[test]
fn tags_added_after_a_shallow_fetch_are_fetched_alone() {
    let ttl = std::time::Duration::from_millis(300);
    let h = Harness::custom(Vec::new(), |o| o.refs_ttl = ttl, None);
    let mut repo = h.go.repo("owner/later");
    let m = "github.com/owner/later";
    support::fast_import_history(&repo, m, 200, &[(150, "v1.0.0")]);
    let mirror = "github.com_owner/later".replace('/', "_");
    h.assert_download(m, "v1.0.0");
    assert_eq!(h.mirror_commits(&mirror), 1);

    repo.commit_files(&[("n.go", "package p\n")], "new");
    repo.tag("v1.1.0");
    repo.commit_files(&[("n.go", "package p\n\nconst N = 2\n")], "newer");
    repo.git(&["tag", "-a", "v1.2.0", "-m", "annotated"]);
    std::thread::sleep(ttl * 2);
    assert_eq!(h.assert_list(m), ["v1.0.0", "v1.1.0", "v1.2.0"]);
    h.assert_latest(m);
    h.assert_download(m, "v1.1.0");
    h.assert_download(m, "v1.2.0");
    assert!(h.mirror_is_shallow(&mirror));
    assert!(h.mirror_commits(&mirror) <= 3, "no history was fetched");
}

#[test]
fn a_tag_moved_after_a_shallow_fetch_is_served_as_stored_until_the_refs_go_stale() {
    let ttl = std::time::Duration::from_secs(2);
    let h = Harness::custom(Vec::new(), |o| o.refs_ttl = ttl, None);
    let mut repo = h.go.repo("owner/moving");
    let m = "github.com/owner/moving";
    support::fast_import_history(&repo, m, 50, &[(40, "v1.0.0")]);
    let mirror = "github.com_owner_moving";
    // What the go command answered when the version was first asked for.
    let before = h.assert_query(m, "v1.0.0").expect("v1.0.0");
    let first_sum = h.ours_zip_sum(m, "v1.0.0").unwrap();
    h.assert_download(m, "v1.0.0");

    let moved = repo.commit_files(&[("m.go", "package p\n")], "moved");
    repo.git(&["tag", "-f", "v1.0.0", &moved]);
    // Within the refs TTL the stored answer stands.
    let info = h.ours_info(m, "v1.0.0").unwrap();
    assert_eq!(info.origin["Hash"], before.hash.as_str());
    assert_eq!(h.ours_zip_sum(m, "v1.0.0").unwrap(), first_sum);

    // A canonical version is immutable: even with stale refs, what was
    // stored is what is served (no refresh for it).
    std::thread::sleep(ttl + std::time::Duration::from_millis(200));
    let info = h.ours_info(m, "v1.0.0").unwrap();
    assert_eq!(info.origin["Hash"], before.hash.as_str());

    // Once a list or @latest refreshes the refs, a fresh go command's
    // answer: the new commit, fetched alone into the shallow mirror.
    let latest = h.assert_latest(m).expect("a latest version");
    assert_eq!(latest.hash, moved);
    h.assert_query(m, "v1.0.0");
    h.assert_download(m, "v1.0.0");
    assert!(h.mirror_is_shallow(mirror));
}

#[test]
fn concurrent_versions_of_one_repository_share_fetches() {
    let h = Harness::new();
    let repo = h.go.repo("owner/batch");
    let m = "github.com/owner/batch";
    let tags: Vec<(usize, String)> = (1..=8).map(|i| (i * 10, format!("v1.{i}.0"))).collect();
    let tag_refs: Vec<(usize, &str)> = tags.iter().map(|(at, t)| (*at, t.as_str())).collect();
    support::fast_import_history(&repo, m, 90, &tag_refs);
    // Every pack the server makes is logged, and takes a second: requests
    // that arrive while one fetch runs must share the next one.
    let log = h.log_server_packs(1);
    let source = h.source();
    let infos = h.block_on(futures::future::join_all(
        tags.iter()
            .map(|(_, v)| modvault_upstream::Fetcher::info(source, m, v)),
    ));
    for ((_, v), info) in tags.iter().zip(infos) {
        assert_eq!(&info.unwrap().version, v);
    }
    let packs = Harness::server_packs(&log);
    assert!(packs <= 2, "8 versions took {packs} fetches");
    let mirror = "github.com_owner_batch";
    assert_eq!(h.mirror_commits(mirror), 8);
    assert!(h.mirror_is_shallow(mirror));
    for (_, v) in &tags {
        h.assert_download(m, v);
    }
}

#[test]
fn a_second_version_of_a_small_repository_brings_its_other_release_tags() {
    let h = Harness::new();
    let repo = h.go.repo("owner/siblings");
    let m = "github.com/owner/siblings";
    let versions: Vec<String> = (0..6).map(|i| format!("v1.{i}.0")).collect();
    let tags: Vec<(usize, &str)> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| (10 * (i + 1), v.as_str()))
        .collect();
    let commits = support::fast_import_history(&repo, m, 90, &tags);
    // Tags that are no version of this module stay behind.
    repo.git(&["tag", "nightly", &commits[74]]);
    repo.git(&["tag", "tools/v1.0.0", &commits[79]]);
    let log = h.log_server_packs(0);
    let mirror = "github.com_owner_siblings";

    // Only modvault's fetches are counted here (the go command's own
    // fetches reach the same server): its answers first, then the go
    // command's comparison.
    let fetch = |v: &str| {
        h.ours_info(m, v).unwrap();
        h.ours_zip_sum(m, v).unwrap();
    };
    // The first version comes alone, as in Go.
    fetch("v1.2.0");
    assert_eq!(Harness::server_packs(&log), 1);
    assert_eq!(h.mirror_commits(mirror), 1);
    // The second brings every other release tag in the same fetch.
    fetch("v1.4.0");
    assert_eq!(Harness::server_packs(&log), 2);
    assert_eq!(h.mirror_commits(mirror), 6);
    assert!(h.mirror_is_shallow(mirror));
    // So the others need no fetch, and answer as the go command does.
    for v in &versions {
        fetch(v);
    }
    assert_eq!(Harness::server_packs(&log), 2);
    for v in &versions {
        h.assert_download(m, v);
    }
    assert_eq!(h.assert_list(m), versions);
}

#[test]
fn versions_of_a_large_repository_are_fetched_one_by_one() {
    let h = Harness::new();
    let mut repo = h.go.repo("owner/heavy");
    let m = "github.com/owner/heavy";
    repo.commit_files(&[("go.mod", "module github.com/owner/heavy\n")], "go.mod");
    // A version of more than 4 MB that does not compress.
    let mut noise = vec![0u8; 5 << 20];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in &mut noise {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    std::fs::write(repo.path.join("data.bin"), &noise).unwrap();
    repo.commit_files(&[("h.go", "package h\n")], "data");
    repo.tag("v1.0.0");
    for i in 1..=3 {
        repo.commit_files(
            &[("h.go", &format!("package h\n\nconst V = {i}\n"))],
            "next",
        );
        repo.tag(&format!("v1.{i}.0"));
    }
    let log = h.log_server_packs(0);
    let mirror = "github.com_owner_heavy";
    for v in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        h.ours_zip_sum(m, v).unwrap();
    }
    assert_eq!(Harness::server_packs(&log), 3, "one fetch per version");
    assert_eq!(h.mirror_commits(mirror), 3);
    h.assert_download(m, "v1.1.0");
}

#[test]
fn a_tag_asked_for_during_a_whole_history_fetch_does_not_wait_for_it() {
    let h = Harness::new();
    let repo = h.go.repo("owner/beside");
    let m = "github.com/owner/beside";
    let tags = [(100, "v1.0.0"), (200, "v1.1.0"), (300, "v1.2.0")];
    let commits = support::fast_import_history(&repo, m, 300, &tags);
    // The server holds every whole-history pack (one made without
    // `--shallow`) until the test lets it go; depth-1 packs go through.
    let release = h.go.dir.path().join("release");
    h.hook_server_packs(&format!(
        "case \" $* \" in *\" --shallow \"*) ;; *)\n  n=0\n  while [ ! -e '{}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done ;;\nesac\n",
        release.display()
    ));
    let mirror = "github.com_owner_beside";
    h.ours_info(m, "v1.2.0").unwrap();
    assert!(h.mirror_is_shallow(mirror));

    let pseudo = std::thread::scope(|scope| {
        // A commit between two tags: its base tag needs the whole history.
        let deep = scope.spawn(|| h.ours_info(m, &commits[149]));
        let started = (0..600).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            h.mirror_entries()
                .iter()
                .any(|e| e.starts_with(".init-deep-"))
        });
        // A tag not in the mirror yet: its own depth-1 fetch, now.
        let tagged = h.ours_info(m, "v1.0.0");
        let held = !deep.is_finished();
        std::fs::write(&release, "").unwrap();
        let pseudo = deep.join().unwrap();
        assert!(started, "no whole-history fetch beside the mirror");
        assert_eq!(tagged.unwrap().version, "v1.0.0");
        assert!(held, "the whole-history fetch was not held by the server");
        pseudo.expect("a pseudo-version")
    });
    assert!(pseudo.version.starts_with("v1.0.1-0."), "{pseudo:?}");
    // The history was adopted: the mirror is whole, nothing is left beside.
    assert!(!h.mirror_is_shallow(mirror));
    assert_eq!(h.mirror_commits(mirror), 300);
    assert!(h.mirror_entries().iter().all(|e| !e.starts_with(".init-")));
    h.assert_download(m, "v1.0.0");
    h.assert_download(m, &pseudo.version);
    h.assert_query(m, &commits[149]);
    h.assert_download(m, "v1.1.0");
    h.assert_latest(m);
}
