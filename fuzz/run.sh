#!/usr/bin/env bash
# Runs the fuzz targets, each for a bounded time, on the committed corpora.
#
#   fuzz/run.sh                      every target, FUZZ_SECONDS (default 8) each
#   FUZZ_SECONDS=3600 fuzz/run.sh zip_check route   a long run of two targets
#
# A crash stops the run with libFuzzer's report and the input saved under
# fuzz/artifacts/<target>/; turn it into a regression test (fuzz/README.md).
# Works on the stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its
# coverage flags, and no sanitizer is needed for safe Rust.
set -euo pipefail
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)" >&2
  cargo install --quiet --locked cargo-fuzz --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-8}"
if [ "$#" -gt 0 ]; then targets="$*"; else targets="$(cargo fuzz list)"; fi

cargo fuzz build --sanitizer none
for target in $targets; do
  mkdir -p "corpus/$target"
  echo "fuzz: $target for ${seconds}s" >&2
  # New inputs that reach new code go to a scratch corpus, so a CI run
  # never rewrites the committed one.
  scratch="$(mktemp -d)"
  if ! cargo fuzz run --sanitizer none "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      2>"$scratch.log"; then
    tail -60 "$scratch.log" >&2
    echo "fuzz: $target FAILED (input saved under fuzz/artifacts/$target/)" >&2
    rm -rf "$scratch" "$scratch.log"
    exit 1
  fi
  grep -E 'stat::number_of_executed_units|stat::new_units_added' "$scratch.log" | tr '\n' ' ' >&2; echo >&2
  rm -rf "$scratch" "$scratch.log"
done
