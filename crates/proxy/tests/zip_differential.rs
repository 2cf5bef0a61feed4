//! Differential test of the zip checker: every zip in the fuzz corpus
//! (`fuzz/corpus/zip_check`, hand-written hostile zips plus what the fuzzer
//! kept) gets the same verdict from `verify_zip_file` as from the go
//! command's own code (x/mod's `CheckZip`, the download prefix check, and
//! reading every file as `HashZip` does), and accepted zips the same `h1:`.

use std::path::PathBuf;
use std::process::Command;

use modvault_core::ModuleVersion;
use modvault_testkit::{build_xmod_program, run_ok, workspace_root};

#[test]
fn the_zip_checker_agrees_with_the_go_command_on_the_fuzz_corpus() {
    let work = tempfile::tempdir().unwrap();
    let oracle = build_xmod_program(include_str!("zip_oracle/main.go"), work.path());
    let corpus = workspace_root().join("fuzz/corpus/zip_check");
    let mut zips: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    zips.sort();
    assert!(
        zips.len() >= 6,
        "the corpus at {} is missing",
        corpus.display()
    );

    let output = run_ok(Command::new(&oracle).args(&zips));
    // Reasons may quote names that are not UTF-8.
    let verdicts: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(verdicts.len(), zips.len());

    let target = ModuleVersion::new("example.com/m", "v1.0.0");
    let mut disagreements = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for (zip, go) in zips.iter().zip(&verdicts) {
        let ours = modvault_proxy::verify_zip_file(zip, &target);
        let agree = match (&ours, go.strip_prefix("ok ")) {
            (Ok(sum), Some(go_sum)) => sum == go_sum,
            (Err(_), None) => true,
            _ => false,
        };
        match &ours {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
        if !agree {
            disagreements.push(format!("{}: ours {ours:?}, go {go}", zip.display()));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} zips judged differently:\n{}",
        disagreements.len(),
        zips.len(),
        disagreements.join("\n")
    );
    // Both verdicts must be exercised, or the comparison proves little.
    assert!(
        accepted > 0 && refused > 0,
        "accepted {accepted}, refused {refused}"
    );
}
