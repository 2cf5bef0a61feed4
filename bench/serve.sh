#!/usr/bin/env bash
# Serving benchmark: modvault against nginx over the same data directory, in
# the same run, with the same load tool (wrk), reported as ratios; then
# modvault's peak RSS while 256 clients download a 50 MB zip at once.
#
#   bench/serve.sh [DURATION_SECONDS [ROUNDS]] > bench/results-serve.md
#
# Each (file, server) pair is measured ROUNDS times (default 3), nginx and
# modvault taking turns, and the medians are reported. BIN picks another
# modvault binary (to compare two builds against the same nginx).
#
# Needs: a release build (cargo build --release), nginx and wrk (Debian
# packages; installed here if missing), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
ROUNDS=${2:-3}
CONNECTIONS=64
THREADS=2
WORK=bench/work
BIN=${BIN:-target/release/modvault}

command -v nginx >/dev/null && command -v wrk >/dev/null || {
  apt-get update -qq >&2 && apt-get install -y -qq nginx wrk >&2
}
[ -x "$BIN" ] || cargo build --release --locked >&2

rm -rf "$WORK" && mkdir -p "$WORK"
DATA="$PWD/$WORK/data"      # warm store shared by modvault and nginx
TREE="$PWD/$WORK/upstream"  # upstream tree for the cold 50 MB download

python3 bench/make_modules.py "$DATA" bench.example/small 512 bench.example/large 51200 >&2
python3 bench/make_modules.py "$TREE" bench.example/large 51200 >&2

MV_PORT=$(free_port); NGINX_PORT=$(free_port)

cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $PWD/$WORK/nginx.pid;
error_log $PWD/$WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$NGINX_PORT; root $DATA; }
}
EOF

nginx -c "$PWD/$WORK/nginx.conf" & PIDS+=($!)
"$BIN" serve --listen "127.0.0.1:$MV_PORT" --data-dir "$DATA" --upstream off --log-level warn 2>"$WORK/modvault.log" & MV_PID=$!
PIDS+=($MV_PID)
for port in $MV_PORT $NGINX_PORT; do wait_http "http://127.0.0.1:$port/bench.example/small/@v/v1.0.0.info"; done


echo "# Serving benchmark"
echo
echo "Command: \`bench/serve.sh $DURATION $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d)."
echo "Load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency URL\`, load tool and servers on the same machine; medians of $ROUNDS rounds, the servers taking turns."
echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //'), 1 worker, sendfile on. modvault: release build, default settings, \`--upstream off\`."
echo
echo "| file | server | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
declare -A RESULT
for file in "v1.0.0.info" "v1.0.0.zip"; do
  declare -A RPS=() P50=() P99=()
  for _ in $(seq "$ROUNDS"); do
    for server in nginx modvault; do
      port=$NGINX_PORT; [ $server = modvault ] && port=$MV_PORT
      read -r rps p50 p99 < <(measure_wrk "http://127.0.0.1:$port/bench.example/small/@v/$file")
      RPS[$server]="${RPS[$server]:-} $rps"; P50[$server]="${P50[$server]:-} $p50"; P99[$server]="${P99[$server]:-} $p99"
    done
  done
  for server in nginx modvault; do
    # shellcheck disable=SC2086
    rps=$(median ${RPS[$server]}); p50=$(median ${P50[$server]}); p99=$(median ${P99[$server]})
    RESULT[$file-$server]="$rps $p50 $p99"
    echo "| small/@v/$file | $server | ${rps%.00} | $p50 | $p99 |"
  done
done
echo
echo "| file | modvault/nginx requests/s | modvault/nginx p99 |"
echo "|---|---|---|"
for file in "v1.0.0.info" "v1.0.0.zip"; do
  read -r n_rps _ n_p99 <<<"${RESULT[$file-nginx]}"
  read -r m_rps _ m_p99 <<<"${RESULT[$file-modvault]}"
  python3 -c "print('| small/@v/$file | %.2f | %.2f |' % ($m_rps/$n_rps, $m_p99/$n_p99))"
done
echo

# Peak RSS with 256 concurrent downloads of a 50 MB zip: warm (from the
# store) and cold (all 256 join one upstream fetch that streams while it is
# verified and committed).
peak_rss() { # URL PID -> prints VmHWM (peak RSS) in MiB after the downloads
  python3 bench/concurrent_get.py "$1" 256 >&2 || { echo "the 256 downloads failed" >&2; exit 1; }
  awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$2/status"
}
COLD_PORT=$(free_port)
COLD_DATA="$PWD/$WORK/cold-data"
# The synthetic module is in no checksum database, so verification is off.
"$BIN" serve --listen "127.0.0.1:$COLD_PORT" --data-dir "$COLD_DATA" --upstream "file://$TREE" --sumdb-upstream off --log-level warn 2>"$WORK/modvault-cold.log" & COLD_PID=$!
PIDS+=($COLD_PID)
wait_http "http://127.0.0.1:$COLD_PORT/healthz"
BASE_RSS=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$COLD_PID/status")
COLD=$(peak_rss "http://127.0.0.1:$COLD_PORT/bench.example/large/@v/v1.0.0.zip" $COLD_PID) || exit 1
WARM=$(peak_rss "http://127.0.0.1:$MV_PORT/bench.example/large/@v/v1.0.0.zip" $MV_PID) || exit 1
echo "## Peak RSS, 256 clients downloading a 50 MB zip at once"
echo
echo "Client: \`python3 bench/concurrent_get.py URL 256\` (256 threads, each reads and discards the body and checks its length). Peak RSS is the server's VmHWM."
echo
echo "| case | modvault peak RSS |"
echo "|---|---|"
echo "| cold: all 256 join one upstream fetch (file:// upstream, \`--sumdb-upstream off\`), streamed while spooled | $COLD MiB (idle before: $BASE_RSS MiB) |"
echo "| warm: served from the store (process peak after the wrk runs above) | $WARM MiB |"
