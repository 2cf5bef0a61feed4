#!/usr/bin/env bash
# Catalog search over N stored versions (default 100,000): the embedded
# SQLite catalog against an in-memory scan of the same paths (the floor),
# medians of 7 rounds. Usage: bench/catalog.sh [N] > bench/results-catalog.md
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
cargo build --release --quiet -p modvault-state --example catalog_bench
echo "# Catalog search"
echo
echo "Command: \`bench/catalog.sh $n\` ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
target/release/examples/catalog_bench "$n"
