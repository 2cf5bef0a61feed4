#!/usr/bin/env bash
# Eviction of 100,000 catalog entries (SQLite catalog, filesystem store,
# a zip and a .mod per version; half of them refetchable): the time
# `Gc::run` takes to pick, delete and un-catalogue them, printed by the
# test. Usage: bench/gc.sh [VERSIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${1:-100000}
MVBENCH_GC_VERSIONS=$versions cargo test --release -p modvault-ops --test gc_scale -- --nocapture 2>&1 \
  | grep -E '^evicted|test result'
