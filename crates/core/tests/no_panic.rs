//! Smoke test for fuzz-safety: every public function on random bytes and
//! random strings (biased towards the characters the rules care about) must
//! return without panicking.

use modvault_core::modzip::{self, FileCandidate, FileKind, ZipEntry};
use modvault_core::{dirhash, escape, gomod, path, pattern, pseudo, semver, ModuleVersion};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self) -> Vec<u8> {
        const INTERESTING: &[u8] = b"v0123456789.-+/!@:*?[]^\\\"`'()\n\r\t ,{}~_aZkK";
        let len = (self.next() % 40) as usize;
        (0..len)
            .map(|_| match self.next() % 4 {
                0 => (self.next() & 0xff) as u8,
                _ => INTERESTING[(self.next() % INTERESTING.len() as u64) as usize],
            })
            .collect()
    }

    fn string(&mut self) -> String {
        let mut s = String::from_utf8_lossy(&self.bytes()).into_owned();
        if self.next().is_multiple_of(4) {
            s.push_str(
                [
                    "é",
                    "\u{212A}",
                    "☺",
                    "\u{0}",
                    "/vendor/",
                    "go.mod",
                    "/v2",
                    "-0.20060102150405-abc",
                ][(self.next() % 8) as usize],
            );
        }
        s
    }
}

#[test]
fn public_api_never_panics() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..20_000 {
        let (a, b) = (rng.string(), rng.string());
        let raw = rng.bytes();
        let _ = path::check_path(&a);
        let _ = path::check_import_path(&a);
        let _ = path::check_file_path(&a);
        let _ = path::split_path_version(&a);
        let _ = path::check_path_major(&a, &b);
        let _ = path::path_major_prefix(&a);
        let _ = path::check(&a, &b);
        let _ = path::is_canonical_version(&a);
        let _ = escape::escape_path(&a);
        let _ = escape::unescape_path(&a);
        let _ = escape::escape_version(&a);
        let _ = escape::unescape_version(&a);
        let _ = semver::major_minor(&a);
        let _ = semver::compare(&a, &b);
        let _ = semver::max(&a, &b);
        let _ = pseudo::pseudo_version_base(&a);
        let _ = pseudo::pseudo_version_time(&a);
        let _ = pseudo::pseudo_version(&a, &b, "20060102150405", "abc");
        let _ = pattern::match_prefix_patterns(&a, &b);
        let _ = pattern::is_valid_glob(&a);
        let _ = pattern::matches(&a, &b);
        let summary = gomod::parse_lax(&raw);
        let _ = summary.is_retracted(&a);
        let _ = gomod::module_path(&raw);
        let _ = gomod::lang_at_least(&a, &b);
        let _ = dirhash::hash1(&[(a.as_str(), raw.as_slice())]);

        let m = ModuleVersion::new("example.com/m", "v1.0.0");
        let files = [
            FileCandidate {
                name: &a,
                kind: FileKind::Regular,
                size: rng.next(),
            },
            FileCandidate {
                name: &b,
                kind: FileKind::Directory,
                size: 0,
            },
        ];
        let _ = modzip::plan_files(&m, &files, Some(&a));
        let entry_a = format!("example.com/m@v1.0.0/{a}");
        let entries = [
            ZipEntry {
                name: &entry_a,
                uncompressed_size: rng.next(),
            },
            ZipEntry {
                name: &b,
                uncompressed_size: 1,
            },
        ];
        let _ = modzip::check_zip_entries(&m, &entries);
    }
}
