#!/usr/bin/env bash
# Regenerates tests/testdata/go_oracle.json from the Go toolchain's own
# vendored golang.org/x/mod/sumdb (note, tlog), fully offline.
# Usage: tests/oracle/regen.sh [path/to/go [output.json]]
#   go defaults to $MVTEST_GO or go; output to tests/testdata/go_oracle.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
go="${1:-${MVTEST_GO:-go}}"
out="${2:-$here/../testdata/go_oracle.json}"
# The vectors are Go 1.27.3's answers; another x/mod could differ.
if [ "$("$go" env GOVERSION)" != go1.27.3 ]; then
  echo "regen.sh: need go1.27.3, have $("$go" env GOVERSION)" >&2
  exit 1
fi
goroot="$("$go" env GOROOT)"
vendor="$goroot/src/cmd/vendor/golang.org/x/mod/sumdb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/xmod/sumdb"
cp -r "$vendor/note" "$vendor/tlog" "$work/xmod/sumdb/"
printf 'module golang.org/x/mod\n\ngo 1.23\n' >"$work/xmod/go.mod"
printf 'module oracle\n\ngo 1.23\n\nrequire golang.org/x/mod v0.0.0\n\nreplace golang.org/x/mod => ./xmod\n' >"$work/go.mod"
cp "$here/main.go" "$work/"
"$go" version >&2
(cd "$work" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOWORK=off "$go" run .) >"$out"
