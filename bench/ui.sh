#!/usr/bin/env bash
# Web UI first paint: each page of the UI loaded warm in headless Chromium
# from modvault, and the same page's bytes (HTML, CSS, JS) served as files
# by nginx, in the same run; medians of ROUNDS loads, in a fresh tab per
# load and as navigations within one tab.
#
#   bench/ui.sh [ROUNDS] > bench/results-ui.md
#
# BASE_BIN=<an earlier build> adds its figures as "before" columns: the
# same store served by both builds, measured in the same interleaved
# rounds, so that a change is compared under the same machine load.
#
# Needs: a release build (cargo build --release), nginx, chromium, node
# (installed here if missing), python3. The browser is driven over a bare
# DevTools pipe (web/tests/first-paint.mjs says why), so no npm package.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-15}
WORK=$PWD/bench/work-ui
BIN=${BIN:-target/release/modvault}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

command -v nginx >/dev/null && [ -x "$CHROMIUM" ] && command -v node >/dev/null || {
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx chromium nodejs >&2
}
[ -x "$BIN" ] || cargo build --release --locked >&2

rm -rf "$WORK" && mkdir -p "$WORK/pages" "$WORK/mod"
DATA=$WORK/data
# 40 modules fetched from an upstream earlier, and one published module
# with a README, a license and requirements: the home page lists them all.
MODULES=()
for i in $(seq 1 40); do MODULES+=("bench.example/m$i" 4); done
python3 bench/make_modules.py "$DATA" "${MODULES[@]}" >&2
MODULE=bench.example/readme
cat > "$WORK/mod/go.mod" <<GOMOD
module $MODULE

go 1.22

require (
	bench.example/m1 v1.0.0
	bench.example/m2 v1.0.0
)
GOMOD
python3 - "$WORK/mod/README.md" <<'PY'
import sys
parts = ["# readme\n\nA module with a README of a realistic length.\n"]
for i in range(1, 21):
    parts.append(f"\n## Section {i}\n\nSome text with `code`, **bold** and a [link](https://example.com/{i}).\n\n```go\nfunc F{i}() int {{ return {i} }}\n```\n\n| a | b |\n|---|---|\n| {i} | {i * i} |\n")
open(sys.argv[1], "w").write("".join(parts))
PY
printf 'MIT License (bench)\n' > "$WORK/mod/LICENSE"
printf 'package readme\n\nconst X = 1\n' > "$WORK/mod/lib.go"

TOKEN=$("$BIN" token create --data-dir "$DATA" --name bench --scope admin | tr -d '[:space:]')
MV_PORT=$(free_port); NGINX_PORT=$(free_port)
"$BIN" serve --listen "127.0.0.1:$MV_PORT" --data-dir "$DATA" --upstream off --log-level warn 2>"$WORK/modvault.log" & MV_PID=$!
PIDS+=($MV_PID)
wait_http "http://127.0.0.1:$MV_PORT/healthz"
"$BIN" publish --server "http://127.0.0.1:$MV_PORT" --token "$TOKEN" "$WORK/mod" v1.0.0 >&2

SERVERS=("nginx=http://127.0.0.1:$NGINX_PORT" "modvault=http://127.0.0.1:$MV_PORT")
if [ -n "${BASE_BIN:-}" ]; then
  cp -a "$DATA" "$WORK/data-base"
  BASE_PORT=$(free_port)
  "$BASE_BIN" serve --listen "127.0.0.1:$BASE_PORT" --data-dir "$WORK/data-base" --upstream off --log-level warn 2>"$WORK/modvault-base.log" & PIDS+=($!)
  wait_http "http://127.0.0.1:$BASE_PORT/healthz"
  SERVERS+=("before=http://127.0.0.1:$BASE_PORT")
fi

PAGES=(/ui/ "/ui/$MODULE" "/ui/$MODULE/@v/v1.0.0" "/ui/-/search?q=bench" /ui/bench.example/m7)
# The same bytes for nginx: each page's HTML as a file at its path, and the
# assets it loads.
for page in "${PAGES[@]}" /ui/-/static/app.css /ui/-/static/app.js "/badge/$MODULE.svg" /badge/bench.example/m7.svg; do
  # A page is a directory's index.html (a module page's path is also the
  # parent of its versions' pages); assets are plain files.
  file="$WORK/pages${page%%\?*}"
  case $page in /ui/-/static/*|/badge/*) ;; *) file="${file%/}/index.html" ;; esac
  mkdir -p "$(dirname "$file")"
  curl -sf "http://127.0.0.1:$MV_PORT$page" -o "$file"
done
# The harness's floor: the smallest page there is, from nginx.
printf '<!doctype html><p>hi</p>' > "$WORK/pages/floor.html"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { text/css css; application/javascript js; image/svg+xml svg; }
  default_type text/html;
  # The caching modvault asks for: assets kept (modvault: for good, under
  # an address with their digest), pages revalidated.
  server {
    listen 127.0.0.1:$NGINX_PORT; root $WORK/pages;
    location ~ \\.(css|js|svg)\$ { add_header Cache-Control "public, max-age=3600"; }
    location / { add_header Cache-Control "no-cache, private"; try_files \$uri \$uri/index.html =404; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" & PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/ui/"

# Both modes (fresh tab per load, and navigations within one tab); the
# floor page twice under two URLs so that the same-tab rounds navigate
# between documents as they do for the UI's pages.
results=$(CHROMIUM="$CHROMIUM" node web/tests/first-paint.mjs "$ROUNDS" --mode=both "${SERVERS[@]}" -- "${PAGES[@]}")
floor=$(CHROMIUM="$CHROMIUM" node web/tests/first-paint.mjs "$ROUNDS" --mode=both \
  "nginx=http://127.0.0.1:$NGINX_PORT" -- /floor.html /floor.html?again)

echo "# Web UI first paint"
echo
echo "Command: \`${BASE_BIN:+BASE_BIN=$BASE_BIN }bench/ui.sh $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end of the run."
echo "Headless Chromium ($("$CHROMIUM" --version 2>/dev/null | head -1)) over a bare DevTools pipe (fresh tabs open in one window, the same-tab rounds have a window per server: each measured tab in front), 1280×860, warm: each page loaded once first, then $ROUNDS rounds, interleaved across pages and servers; medians."
echo "Fresh tab: every load in a new tab (a renderer process started for it). Same tab: every load a navigation in one tab per server that already shows the UI, from the previous page of the round, as a user clicking through the UI."
echo "Baseline: nginx $(nginx -v 2>&1 | sed 's/.*: //') serving the very bytes modvault answered (HTML, CSS, JS, badge) as static files, in the same run; the floor is a one-line page from nginx."
echo "A store of 41 modules; \`$MODULE\` has a 20-section README, a license and two requirements."
echo
[ -n "${BASE_BIN:-}" ] && echo "Before: the build at \`BASE_BIN\`, serving a copy of the same store, in the same rounds."
echo
if [ -n "${BASE_BIN:-}" ]; then
  echo "| page | fresh tab: modvault | fresh tab: before | fresh tab: nginx | same tab: modvault | same tab: before | same tab: nginx | first byte ms (modvault) | bytes on the wire (modvault) |"
  echo "|---|---|---|---|---|---|---|---|---|"
else
  echo "| page | fresh tab: modvault | fresh tab: nginx | same tab: modvault | same tab: nginx | first byte ms (modvault) | bytes on the wire (modvault) |"
  echo "|---|---|---|---|---|---|---|"
fi
BEFORE=${BASE_BIN:+1} python3 -c '
import json, os, sys
cols = ["modvault", "before", "nginx"] if os.environ.get("BEFORE") else ["modvault", "nginx"]
rows = {}
order = []
for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    page = r["page"].replace("?again", "")
    if page not in rows:
        rows[page] = {}
        order.append(page)
    rows[page].setdefault((r["mode"], r["server"]), r)
def ms(page, mode, server):
    r = rows[page].get((mode, server))
    return "%.0f" % r["fcp_ms"] if r else "–"
for page in order:
    mv = rows[page].get(("fresh", "modvault"))
    cells = [ms(page, mode, server) for mode in ("fresh", "same") for server in cols]
    cells += ["%.1f" % mv["ttfb_ms"] if mv else "–", format(mv["bytes"], ",") if mv else "–"]
    print("| `%s` | %s |" % (page, " | ".join(cells)))
' <<<"$results"$'\n'"$floor"
