#!/usr/bin/env bash
# Mirroring benchmark: `modvault mirror` of a generated module graph
# against the go command's `go mod download all` into an empty module
# cache, through the same upstream (a file:// GOPROXY tree), in the same
# run, taking turns; medians of ROUNDS.
#
#   bench/mirror.sh [ROUNDS [MODULES [VERSIONS [ZIP_KIB]]]] > bench/results-mirror.md
#
# The graph (bench/make_graph.py) has MODULES modules of VERSIONS versions
# (default 120 x 6, 16 KiB zips); the project requires each module's
# highest version. The go command reads every go.mod of the graph and
# downloads the zips of the build list; modvault mirror fetches .info,
# .mod and .zip of every version whose go.mod the go command reads (what a
# server must hold to serve that build offline), verifying each zip and
# writing the catalog. BIN picks the modvault binary (default
# target/release/modvault, built if missing); GO the go command.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-3}
MODULES=${2:-120}
VERSIONS=${3:-6}
KIB=${4:-16}
WORK=${WORK:-bench/work-mirror}
BIN=${BIN:-target/release/modvault}
GO=${GO:-.venv/bin/go}

[ -x "$BIN" ] || cargo build --release --locked -p modvault >&2
rm -rf "$WORK" && mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
ON_EXIT+=("rm -rf '$WORK'")
TREE="$WORK/tree"
PROJECT="$WORK/project"
python3 bench/make_graph.py "$TREE" "$PROJECT" "$MODULES" "$VERSIONS" "$KIB" >&2

go_env() {
  env -i PATH="$PATH" HOME="$WORK/home" GOPATH="$WORK/gopath" GOCACHE="$WORK/gocache" \
    GOMODCACHE="$1" GOPROXY="file://$TREE" GOSUMDB=off GOFLAGS="-mod=mod -modcacherw" \
    GOTOOLCHAIN=local GOTELEMETRY=off "$GO" "${@:2}"
}

go_times=(); mirror_times=()
for round in $(seq "$ROUNDS"); do
  cache="$WORK/cache-$round"
  t0=$(now)
  (cd "$PROJECT" && go_env "$cache" mod download all)
  go_times+=("$(seconds "$t0")")
  data="$WORK/data-$round"
  t0=$(now)
  "$BIN" mirror --data-dir "$data" --upstream "file://$TREE" --sumdb-upstream off \
    --log-level warn "$PROJECT/go.mod" > "$WORK/mirror-$round.out" 2>/dev/null
  mirror_times+=("$(seconds "$t0")")
done

last=$ROUNDS
go_mods=$(find "$WORK/cache-$last/cache/download" -name '*.mod' | wc -l)
go_zips=$(find "$WORK/cache-$last/cache/download" -name '*.zip' | wc -l)
mv_versions=$(find "$WORK/data-$last" -path '*/@v/*.zip' | wc -l)
mv_bytes=$(find "$WORK/data-$last" -path '*/@v/*.zip' -printf '%s\n' | awk '{s+=$1} END {print s}')
go_median=$(median "${go_times[@]}")
mv_median=$(median "${mirror_times[@]}")

echo "# Mirroring benchmark"
echo
echo "Command: \`bench/mirror.sh $ROUNDS $MODULES $VERSIONS $KIB\` on $(nproc) cores, $(date -u +%Y-%m-%d); binary \`$BIN\`."
echo
echo "Graph: $MODULES modules x $VERSIONS versions, ${KIB} KiB zips, four in five modules \`go 1.16\`"
echo "(loaded whole), the rest \`go 1.21\` (pruned); upstream \`file://\` tree for both."
echo
echo "| | versions | zips | seconds (median of $ROUNDS) | all rounds |"
echo "|---|---|---|---|---|"
echo "| \`go mod download all\` (empty module cache) | $go_mods go.mod files | $go_zips | $go_median | ${go_times[*]} |"
echo "| \`modvault mirror go.mod\` (empty data dir) | $mv_versions complete (.info, .mod, .zip) | $mv_versions ($((mv_bytes / 1024)) KiB) | $mv_median | ${mirror_times[*]} |"
echo
echo "modvault mirror stores a zip for every version whose go.mod the go command"
echo "reads (the same set: $go_mods), each checked with the module zip rules and"
echo "hashed before it is committed, and catalogued; the go command downloads"
echo "only the build list's zips. Last summary line: \`$(tail -1 "$WORK/mirror-$last.out")\`."
