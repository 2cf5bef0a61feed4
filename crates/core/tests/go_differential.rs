//! Differential test: runs thousands of generated inputs through both
//! modvault-core and the x/mod code vendored into the Go toolchain, and
//! requires identical answers (including error messages).
//!
//! The Go side is `tests/oracle/main.go`, built against a copy of
//! `$GOROOT/src/cmd/vendor/golang.org/x/mod` with the network off. The go
//! binary is `$MVTEST_GO`, else `<workspace>/.venv/bin/go`, else
//! `/tmp/govenv/bin/go`. Without one the test fails (it never skips).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use modvault_core::modzip::{
    check_files, check_zip_entries, FileCandidate, FileKind, ZipEntry, ZipError,
};
use modvault_core::{escape, gomod, path, pattern, pseudo, semver, ModuleVersion};

const ORACLE_SOURCE: &str = include_str!("oracle/main.go");

/// Questions for the oracle, each with modvault-core's own answer.
#[derive(Default)]
struct Batch {
    requests: Vec<String>,
    ours: Vec<String>,
}

impl Batch {
    fn ask(&mut self, op: &str, args: &[&str], ours: String) {
        let mut line = op.to_owned();
        for arg in args {
            line.push('\t');
            line.push_str(&hex::encode(arg.as_bytes()));
        }
        self.requests.push(line);
        self.ours.push(ours);
    }

    /// Runs the oracle and returns every disagreement.
    fn run(self, oracle: &Path) -> Vec<String> {
        let mut child = Command::new(oracle)
            .env("GODEBUG", "zipinsecurepath=1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the oracle");
        let mut stdin = child.stdin.take().unwrap();
        let input = self.requests.join("\n") + "\n";
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
        let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(|line| String::from_utf8(hex::decode(line.unwrap()).unwrap()).unwrap())
            .collect();
        writer.join().unwrap();
        assert!(child.wait().unwrap().success(), "oracle failed");
        assert_eq!(
            answers.len(),
            self.requests.len(),
            "oracle answered too few questions"
        );
        // Guard against vacuous generators: every operation must have seen
        // several distinct answers (e.g. both valid and invalid inputs).
        let mut distinct: std::collections::BTreeMap<&str, (HashSet<&str>, usize, usize)> =
            Default::default();
        for (request, go) in self.requests.iter().zip(&answers) {
            let op = request.split('\t').next().unwrap_or_default();
            let (seen, total, errors) = distinct.entry(op).or_default();
            seen.insert(go);
            *total += 1;
            *errors += usize::from(go.starts_with("err:"));
        }
        for (op, (seen, total, errors)) in &distinct {
            eprintln!(
                "go_differential: {op}: {total} cases, {} distinct answers, {errors} errors",
                seen.len()
            );
            assert!(seen.len() >= 2, "{op}: inputs too uniform");
        }
        let mut diffs = Vec::new();
        for ((request, ours), go) in self.requests.iter().zip(&self.ours).zip(&answers) {
            if ours != go {
                let (op, args) = request.split_once('\t').unwrap_or((request, ""));
                let args: Vec<String> = args
                    .split('\t')
                    .map(|a| format!("{:?}", String::from_utf8_lossy(&hex::decode(a).unwrap())))
                    .collect();
                diffs.push(format!(
                    "{op}({})\n   go:  {go:?}\n   ours: {ours:?}",
                    args.join(", ")
                ));
            }
        }
        diffs
    }
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// 1..=max_parts random fragments, concatenated.
    fn build(&mut self, fragments: &[&str], max_parts: usize) -> String {
        let parts = 1 + self.below(max_parts);
        (0..parts).map(|_| self.pick(fragments)).collect()
    }
}

impl Rng {
    /// A mostly well-formed module path, sometimes with one odd fragment.
    fn module_path(&mut self) -> String {
        const ELEMS: &[&str] = &[
            "quote",
            "x",
            "Azure",
            "go-autorest",
            "yaml",
            "a_b",
            "a~b",
            "v",
            "v2",
            "v1",
            "sub",
            "pkg",
            "Aux",
            "a.b",
            "x+y",
        ];
        let mut p = self
            .pick(&[
                "example.com",
                "github.com",
                "golang.org",
                "rsc.io",
                "gopkg.in",
                "a-b.c",
                "x.y",
                "localhost",
            ])
            .to_owned();
        for _ in 0..self.below(4) {
            p.push('/');
            p.push_str(self.pick(ELEMS));
        }
        match self.below(6) {
            0 => p.push_str(self.pick(&["/v2", "/v3", "/v10", "/v0", "/v1", "/v02", "/v2.1"])),
            1 => p.push_str(self.pick(&[".v0", ".v1", ".v2", ".v2-unstable", ".v01"])),
            2 => p.push_str(self.pick(PATH_FRAGMENTS)),
            _ => {}
        }
        p
    }

    /// A mostly well-formed semantic version, sometimes slightly broken.
    fn version(&mut self) -> String {
        const NUMS: &[&str] = &[
            "0",
            "1",
            "2",
            "9",
            "10",
            "11",
            "123",
            "01",
            "99999999999999999999",
        ];
        const IDENTS: &[&str] = &[
            "alpha",
            "beta",
            "rc",
            "1",
            "2",
            "11",
            "0",
            "01",
            "x-y",
            "A",
            "incompatible",
            "pre",
        ];
        let mut v = format!("v{}", self.pick(NUMS));
        let parts = self.below(4);
        if parts >= 1 {
            v = format!("{v}.{}", self.pick(NUMS));
        }
        if parts >= 2 {
            v = format!("{v}.{}", self.pick(NUMS));
        }
        if self.below(2) == 0 {
            let n = 1 + self.below(3);
            let ids: Vec<&str> = (0..n).map(|_| self.pick(IDENTS)).collect();
            v = format!("{v}-{}", ids.join("."));
        }
        if self.below(3) == 0 {
            v = format!(
                "{v}+{}",
                self.pick(&["incompatible", "meta", "meta.1", "x-y", ""])
            );
        }
        if self.below(8) == 0 {
            v.push_str(self.pick(VERSION_FRAGMENTS));
        }
        v
    }
}

const PATH_FRAGMENTS: &[&str] = &[
    "example.com",
    "x.y",
    "gopkg.in/",
    "github.com",
    "rsc.io",
    "/",
    "/",
    "/",
    "/v2",
    "/v1",
    "/v0",
    "/v02",
    "/v2.0",
    ".v1",
    ".v0",
    ".v2",
    ".v01",
    "-unstable",
    ".",
    "..",
    "a",
    "b",
    "Z",
    "Azure",
    "_",
    "~",
    "~1",
    "+",
    "-",
    "!",
    "!a",
    "!B",
    "aux",
    "AUX",
    "COM1",
    "lpt9",
    "con.txt",
    "é",
    "испытание",
    "☺",
    "K",
    "\u{212A}",
    " ",
    ":",
    "*",
    "?",
    "[",
    "]",
    "@",
    "#",
    "1",
    "0",
    "9",
    "\\",
    "'",
    "\"",
    "`",
    "yaml",
    "v",
    "go.mod",
    "vendor",
    "%",
    "\u{0}",
    "\t",
];

const VERSION_FRAGMENTS: &[&str] = &[
    "v",
    "v",
    "v1",
    "v0",
    "v2",
    "0",
    "1",
    "2",
    "10",
    "01",
    "99999999999999999999",
    ".",
    ".",
    "-",
    "-",
    "+",
    "pre",
    "alpha",
    "rc",
    "+incompatible",
    "incompatible",
    "meta",
    "0.",
    ".0",
    "-0",
    "20060102150405",
    "20060230150405",
    "00010101000000",
    "000000000000",
    "abcdef123456",
    "hash",
    "x",
    "A",
    "é",
    "--",
    "..",
    ".0.0",
    "0.0-",
];

const GLOB_FRAGMENTS: &[&str] = &[
    "*",
    "*",
    "?",
    "[",
    "]",
    "^",
    "-",
    "\\",
    "a",
    "b",
    "z",
    ".",
    "/",
    "/",
    ",",
    ",",
    "rsc.io",
    "example.com",
    "é",
    "[a-z]",
    "[^a]",
    "[\\]]",
    "quote",
    "io",
];

fn err_string<E: std::fmt::Display>(r: Result<(), E>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("err:{e}"),
    }
}

fn value_and_err<E: std::fmt::Display>(r: Result<String, E>) -> String {
    match r {
        Ok(s) => format!("{s}|ok"),
        Err(e) => format!("|err:{e}"),
    }
}

fn ask_paths(batch: &mut Batch, rng: &mut Rng) {
    let mut inputs: Vec<String> = (0..4000)
        .map(|i| {
            if i % 2 == 0 {
                rng.build(PATH_FRAGMENTS, 8)
            } else {
                rng.module_path()
            }
        })
        .collect();
    inputs.extend(
        [
            "",
            "x.y/z",
            "github.com/Azure/go-autorest",
            "gopkg.in/yaml.v2-unstable",
            "gopkg.in/yaml.v-unstable",
        ]
        .map(String::from),
    );
    for p in &inputs {
        batch.ask("checkpath", &[p], err_string(path::check_path(p)));
        batch.ask("checkimport", &[p], err_string(path::check_import_path(p)));
        batch.ask("checkfile", &[p], err_string(path::check_file_path(p)));
        batch.ask("escapepath", &[p], value_and_err(escape::escape_path(p)));
        batch.ask(
            "unescapepath",
            &[p],
            value_and_err(escape::unescape_path(p)),
        );
        batch.ask(
            "escapeversion",
            &[p],
            value_and_err(escape::escape_version(p)),
        );
        batch.ask(
            "unescapeversion",
            &[p],
            value_and_err(escape::unescape_version(p)),
        );
        let split = match path::split_path_version(p) {
            Some((prefix, major)) => format!("{prefix}|{major}|true"),
            None => format!("{p}||false"),
        };
        batch.ask("split", &[p], split);
        let v = rng.version();
        batch.ask("check", &[p, &v], err_string(path::check(p, &v)));
    }
    for _ in 0..1500 {
        let v = rng.version();
        let major = rng.pick(&[
            "",
            "/v2",
            "/v3",
            ".v1",
            ".v0",
            ".v1-unstable",
            ".v2-unstable",
            "v2",
            "/v1.2",
            "/",
        ]);
        batch.ask(
            "pathmajor",
            &[&v, major],
            err_string(path::check_path_major(&v, major)),
        );
    }
}

fn ask_versions(batch: &mut Batch, rng: &mut Rng) {
    let versions: Vec<String> = (0..4000)
        .map(|i| {
            if i % 4 == 0 {
                rng.build(VERSION_FRAGMENTS, 10)
            } else {
                rng.version()
            }
        })
        .collect();
    for v in &versions {
        let summary = [
            semver::is_valid(v).to_string(),
            semver::canonical(v),
            semver::major(v),
            semver::major_minor(v),
            semver::prerelease(v),
            semver::build(v),
            path::canonical_version(v),
        ]
        .join("|");
        batch.ask("semver", &[v], summary);
        let w = &versions[rng.below(versions.len())];
        let ord = match semver::compare(v, w) {
            std::cmp::Ordering::Less => "-1",
            std::cmp::Ordering::Equal => "0",
            std::cmp::Ordering::Greater => "1",
        };
        batch.ask("compare", &[v, w], ord.into());
    }
    // Pseudo-versions: generated around the real forms.
    for i in 0..4000 {
        let v = if i % 2 == 0 {
            rng.build(VERSION_FRAGMENTS, 10)
        } else {
            let base = rng.pick(&[
                "v0.0.0-",
                "v1.2.4-0.",
                "v1.2.3-pre.0.",
                "v2.0.0-",
                "v1.0.0-0.",
                "v1.2.3-a.b.0.",
                "v0.0.0-0.",
                "v1.2.3-0.0.",
            ]);
            let time = rng.pick(&[
                "20060102150405",
                "00010101000000",
                "20060230150405",
                "20061231235960",
                "2006010215040",
                "19000229000000",
            ]);
            let rev = rng.pick(&["abcdef123456", "000000000000", "hash", "", "ab-cd"]);
            let build = rng.pick(&["", "", "+incompatible", "+meta.1", "+"]);
            format!("{base}{time}-{rev}{build}")
        };
        let parts = [
            pseudo::is_pseudo_version(&v).to_string(),
            pseudo::is_zero_pseudo_version(&v).to_string(),
            pseudo::pseudo_version_base(&v).unwrap_or_default(),
            err_string(pseudo::pseudo_version_base(&v).map(|_| ())),
            pseudo::pseudo_version_time(&v).unwrap_or_default(),
            err_string(pseudo::pseudo_version_time(&v).map(|_| ())),
            pseudo::pseudo_version_rev(&v).unwrap_or_default(),
            err_string(pseudo::pseudo_version_rev(&v).map(|_| ())),
        ];
        batch.ask("pseudo", &[&v], parts.join("|"));
    }
    for _ in 0..1000 {
        let major = rng.pick(&["", "v0", "v1", "v2", "v17"]);
        let older = rng.version();
        let time = rng.pick(&["20060102150405", "00010101000000", "19991231235959"]);
        let rev = rng.pick(&["abcdef123456", "hash"]);
        batch.ask(
            "mkpseudo",
            &[major, &older, time, rev],
            pseudo::pseudo_version(major, &older, time, rev),
        );
    }
    for _ in 0..1000 {
        let v = rng.pick(&[
            "1.24.1",
            "1.24",
            "1.23.9",
            "1.21rc1",
            "1.24rc1",
            "2",
            "1",
            "1.0",
            "bad",
            "",
            "1.24-custom",
            "v1.24",
            "1.099",
        ]);
        let lang = rng.pick(&["1.24", "1.21", "1.0", "2.0"]);
        batch.ask(
            "lang",
            &[v, lang],
            gomod::lang_at_least(v, lang).to_string(),
        );
    }
}

fn ask_patterns(batch: &mut Batch, rng: &mut Rng) {
    for _ in 0..4000 {
        let globs = rng.build(GLOB_FRAGMENTS, 8);
        let target = rng.build(
            &[
                "rsc.io",
                "/",
                "quote",
                "example.com",
                "a",
                "b",
                "z",
                "é",
                "v3",
                ".",
                "-",
                "]",
            ],
            6,
        );
        batch.ask(
            "matchprefix",
            &[&globs, &target],
            pattern::match_prefix_patterns(&globs, &target).to_string(),
        );
        let answer = match pattern::matches(&globs, &target) {
            Ok(b) => format!("{b}|ok"),
            Err(e) => format!("false|err:{e}"),
        };
        batch.ask("pathmatch", &[&globs, &target], answer);
    }
}

fn gomod_answer(data: &str) -> String {
    let s = gomod::parse_lax(data.as_bytes());
    if !s.errors.is_empty() {
        let messages: Vec<String> = s.errors.iter().map(ToString::to_string).collect();
        return format!("err:{}", messages.join("\n"));
    }
    let mut out = String::new();
    if let Some(m) = &s.module {
        writeln!(out, "module={m}").unwrap();
    }
    if let Some(go) = &s.go {
        writeln!(out, "go={go}").unwrap();
    }
    for r in &s.retract {
        writeln!(
            out,
            "retract={},{},{}",
            r.low,
            r.high,
            hex::encode(&r.rationale)
        )
        .unwrap();
    }
    out
}

fn ask_gomod(batch: &mut Batch, rng: &mut Rng) {
    const LINE_FRAGMENTS: &[&str] = &[
        "module ",
        "module ",
        "go ",
        "go ",
        "retract ",
        "retract ",
        "retract (\n",
        "require ",
        "require (\n",
        "ignore ",
        "toolchain go1.22\n",
        "replace a => b\n",
        "exclude x v1\n",
        ")\n",
        ")\n",
        "\n",
        "\n",
        "// comment\n",
        " // why\n",
        "// Deprecated: old\n",
        "example.com/m",
        "\"example.com/q\"",
        "`example.com/b`",
        "v1.0.0",
        "v1.0",
        "[v1.0.0, v1.2.0]",
        "[",
        "]",
        ",",
        " ",
        "\t",
        "1.21",
        "1.24.1",
        "1.21.x",
        "v1.22-x",
        "1.05",
        "master",
        "\"v1.3.0\"",
        "example.com/x/v2",
        "v2.0.0",
        "\r\n",
        "/*",
        "(",
        "()",
        "é",
        "\"a\\tb\"",
        "'x'",
        "\u{a0}",
        "\"unterminated",
        "\\",
    ];
    for _ in 0..3000 {
        let data = rng.build(LINE_FRAGMENTS, 14);
        batch.ask("gomod", &[&data], gomod_answer(&data));
        batch.ask(
            "modulepath",
            &[&data],
            gomod::module_path(data.as_bytes()).unwrap_or_default(),
        );
    }
}

fn ask_zip(batch: &mut Batch, rng: &mut Rng) {
    const NAME_FRAGMENTS: &[&str] = &[
        "a",
        "b",
        "A",
        "B",
        "x.go",
        "X.go",
        "go.mod",
        "GO.MOD",
        "Go.mod",
        "LICENSE",
        "vendor/",
        "vendor/modules.txt",
        "modules.txt",
        "/",
        "/",
        "sub/",
        "pkg/",
        "vendor",
        ".hg_archival.txt",
        "aux.go",
        "a:b",
        "..",
        ".",
        "é",
        "\u{212A}",
        "k",
        "K",
        "ß",
        "ss",
        "/vendor/",
        " ",
        "x*y",
    ];
    for _ in 0..2500 {
        let count = 1 + rng.below(8);
        let mut files: Vec<(String, FileKind, u64, String)> = Vec::new();
        for _ in 0..count {
            let name = rng.build(NAME_FRAGMENTS, 4);
            let kind = match rng.below(10) {
                0 => FileKind::Symlink,
                1 => FileKind::Other,
                2 => FileKind::Directory,
                _ => FileKind::Regular,
            };
            let size = match rng.below(20) {
                0 => 16 << 20,
                1 => (16 << 20) + 1,
                2 => 300 << 20,
                3 => 1 << 63,
                _ => rng.below(100) as u64,
            };
            let content = if name == "go.mod" {
                rng.pick(&[
                    "go 1.23\n",
                    "go 1.24\n",
                    "go 1.24.1\n",
                    "module m\ngo 1.25\n",
                    "go 1.24\ngo 1.25\n",
                    "",
                    "go bad\n",
                ])
                .to_owned()
            } else {
                String::new()
            };
            files.push((name, kind, size, content));
        }
        let mut args: Vec<String> = Vec::new();
        for (name, kind, size, content) in &files {
            let kind = match kind {
                FileKind::Regular => "r",
                FileKind::Symlink => "l",
                FileKind::Other => "o",
                FileKind::Directory => "d",
            };
            args.extend([
                name.clone(),
                kind.to_owned(),
                size.to_string(),
                content.clone(),
            ]);
        }
        // checkFiles reads the go version from the last regular root "go.mod".
        let go_mod = files
            .iter()
            .rev()
            .find(|(n, k, ..)| n == "go.mod" && *k == FileKind::Regular);
        let summary = go_mod.map(|(.., content)| gomod::parse_lax(content.as_bytes()));
        let go_version = summary.as_ref().and_then(|s| s.go_version_for_zip());
        let candidates: Vec<FileCandidate> = files
            .iter()
            .map(|(name, kind, size, _)| FileCandidate {
                name,
                kind: *kind,
                size: *size,
            })
            .collect();
        let checked = check_files(&candidates, go_version);

        // Render like the oracle (Go's CheckedFiles, which reports a path once).
        let mut out = String::from("valid:\n");
        for &i in &checked.included {
            writeln!(out, "{}", files[i].0).unwrap();
        }
        let mut reports: Vec<(usize, bool, String)> = checked
            .omitted
            .iter()
            .map(|(i, r)| (*i, true, r.clone()))
            .collect();
        reports.extend(
            checked
                .invalid
                .iter()
                .map(|(i, e)| (*i, false, e.problem.to_string())),
        );
        reports.sort_by_key(|r| r.0);
        let mut seen = HashSet::new();
        let (mut omitted, mut invalid) = (String::new(), String::new());
        for (i, is_omitted, reason) in reports {
            if seen.insert(files[i].0.as_str()) {
                let list = if is_omitted {
                    &mut omitted
                } else {
                    &mut invalid
                };
                writeln!(list, "{}: {reason}", files[i].0).unwrap();
            }
        }
        write!(
            out,
            "omitted:\n{omitted}invalid:\n{invalid}sizeerror: {}\n",
            checked.size_error
        )
        .unwrap();
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        batch.ask("checkfiles", &arg_refs, out);

        // The same names as entries of a downloaded zip.
        let module = ModuleVersion::new(
            rng.pick(&[
                "example.com/m",
                "example.com/M",
                "example.com/m/v2",
                "gopkg.in/x.v1",
            ]),
            rng.pick(&[
                "v1.0.0",
                "v2.0.0",
                "v1.0",
                "v2.0.0+incompatible",
                "v1.0.0-pre",
            ]),
        );
        let prefix = format!("{module}/");
        let names: Vec<String> = files
            .iter()
            .map(|(name, kind, ..)| {
                let dir_suffix = if *kind == FileKind::Directory {
                    "/"
                } else {
                    ""
                };
                match rng.below(15) {
                    0 => format!("other@v1.0.0/{name}"),
                    1 => prefix.clone(),
                    _ => format!("{prefix}{name}{dir_suffix}"),
                }
            })
            .collect();
        let entries: Vec<ZipEntry> = names
            .iter()
            .map(|name| ZipEntry {
                name,
                uncompressed_size: if name.ends_with('/') { 0 } else { 1 },
            })
            .collect();
        let ours = match check_zip_entries(&module, &entries) {
            Ok(()) => "ok".to_owned(),
            Err(ZipError::InvalidFiles(list)) => {
                format!(
                    "err:{}",
                    list.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            }
            Err(e) => format!("err:{e}"),
        };
        let mut zip_args: Vec<&str> = vec![&module.path, &module.version];
        zip_args.extend(names.iter().map(String::as_str));
        batch.ask("checkzip", &zip_args, ours);
    }
}

#[test]
fn matches_go_1_27_3_x_mod() {
    let work = tempfile::tempdir().unwrap();
    let oracle = modvault_testkit::build_xmod_program(ORACLE_SOURCE, work.path());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut batch = Batch::default();
    ask_paths(&mut batch, &mut rng);
    ask_versions(&mut batch, &mut rng);
    ask_patterns(&mut batch, &mut rng);
    ask_gomod(&mut batch, &mut rng);
    ask_zip(&mut batch, &mut rng);
    let total = batch.requests.len();
    let diffs = batch.run(&oracle);
    assert!(
        diffs.is_empty(),
        "{} of {total} answers differ from Go; first ones:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("go_differential: {total} answers identical to Go 1.27.3");
}
