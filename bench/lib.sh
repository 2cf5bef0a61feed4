# Shared by the bench scripts: `. bench/lib.sh` after `cd` to the repository
# root. Starting servers on free loopback ports, cleaning them up, timing and
# medians are the same in every benchmark; what each one measures is its own.

# A free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Background processes to kill on exit (append with `PIDS+=($!)`), and
# commands to run after them (`ON_EXIT+=("rm -rf …")`).
PIDS=()
ON_EXIT=()
bench_cleanup() {
  local pid hook
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for hook in "${ON_EXIT[@]}"; do eval "$hook" || true; done
}
trap bench_cleanup EXIT

# Waits until URL answers at all (any status), for up to 10 seconds.
wait_http() { # URL
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "nothing answers at $1" >&2; return 1
}

# Wall-clock time: `t0=$(now)`, later `$(seconds "$t0")`.
now() { echo "$EPOCHREALTIME"; }
seconds() { local end=$EPOCHREALTIME; python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$end"; }
median() { python3 -c 'import statistics, sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
bytes_of() { if [ -e "$1" ]; then du -sb "$1" | cut -f1; else echo 0; fi; }

# One wrk run against URL with THREADS, CONNECTIONS and DURATION: prints
# "requests_per_second p50_ms p99_ms".
measure_wrk() { # URL
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    value, unit = re.search(r"\s" + label + r"\s+([\d.]+)(us|ms|s)\b", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print("%.0f %.2f %.2f" % (rps, ms("50%"), ms("99%")))'
}

# SeaweedFS (WEED) in DIR on free loopback ports (the gRPC ports explicit
# too), one identity, one bucket; exports the AWS_* variables modvault's S3
# store reads.
start_seaweedfs() { # DIR BUCKET
  local dir=$1 bucket=$2 key=bench-access-key secret=bench-secret-key p=() _
  mkdir -p "$dir"
  cat > "$dir/s3.json" <<JSON
{"identities":[{"name":"admin","credentials":[{"accessKey":"$key","secretKey":"$secret"}],"actions":["Admin","Read","Write","List"]}]}
JSON
  for _ in 1 2 3 4 5 6 7 8; do p+=("$(free_port)"); done
  "$WEED" -logdir="$dir" server -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
    -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" \
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$dir/s3.json" -master.telemetry=false -volume.max=0 \
    >"$dir/weed.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:${p[6]}/" && break; sleep 0.1; done
  for _ in $(seq 100); do
    echo "s3.bucket.create -name $bucket" | timeout 20 "$WEED" shell -master="127.0.0.1:${p[0]}.${p[1]}" 2>&1 | grep -q "created bucket" && break
    sleep 0.2
  done
  export AWS_ENDPOINT_URL="http://127.0.0.1:${p[6]}" AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret \
    AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
}

# For the git benchmarks: a git configuration under WORK that lets local
# repositories under WORK/repos/github.com stand for https://github.com
# (for git and the go command alike), and `goenv` to run the go command
# with nothing from this machine's environment.
bench_git_config() { # WORK
  cat > "$1/gitconfig" <<CONF
[user]
	name = bench
	email = bench@modvault.invalid
[init]
	defaultBranch = main
[protocol "file"]
	allow = always
[url "file://$1/repos/github.com/"]
	insteadOf = https://github.com/
CONF
  export GIT_CONFIG_GLOBAL="$1/gitconfig" GIT_CONFIG_NOSYSTEM=1
}
goenv() {
  env -i PATH="$PATH" HOME="$WORK/home" GOPATH="$WORK/gopath" GOCACHE="$WORK/gocache" GOENV=off GOTOOLCHAIN=local \
    GOTELEMETRY=off GOFLAGS=-modcacherw GOSUMDB=off GIT_CONFIG_GLOBAL="$GIT_CONFIG_GLOBAL" GIT_CONFIG_NOSYSTEM=1 "$@"
}
# modvault serving DATA_DIR straight from version control on PORT; sets MV_PID.
start_direct_modvault() { # DATA_DIR PORT [args]
  local data=$1 port=$2; shift 2
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" --upstream direct --sumdb-upstream off --log-level warn "$@" 2>>"$WORK/modvault.log" &
  MV_PID=$!
  wait_http "http://127.0.0.1:$port/healthz" || exit 1
}
