#!/usr/bin/env bash
# Builds the real Jaeger 2.12.0 and Prometheus 3.16.0 from the Go module proxy, natively (no
# Docker), and prints the directory holding both binaries: `jaeger` and `prometheus`. Used by
# .ci/run; run it yourself, put its answer on PATH, and the tests against the real Jaeger run in
# `cargo test --workspace` instead of saying they were skipped:
#
#   PATH="$(scripts/real-jaeger.sh):$PATH" cargo test --workspace
#
# Each is built the ordinary Go way from a tools module kept in this repository (tools/jaeger,
# tools/prometheus: a go.mod naming the program with `tool`, and its go.sum), because
# `go install …@version` refuses a module whose go.mod has `replace` lines, as Jaeger's has:
# tools/jaeger/go.mod copies it, so the build resolves every dependency as upstream's does.
# - Jaeger 2.12.0 is Go module github.com/jaegertracing/jaeger v1.75.0 (tags v1.75.0 and v2.12.0
#   are one commit). Its UI is a git submodule, not in the module: :16686 serves a placeholder
#   page, and every API (/api/v3/*, /api/services, /api/traces, /api/metrics/*) is the real one.
#   For the UI, use Jaeger's release archive instead (README, "Jaeger without Docker").
# - Prometheus 3.16.0 is Go module github.com/prometheus/prometheus v0.316.0, built without its
#   UI assets (the `builtinassets` tag): its /api/v1/* API is the real one.
#
# The binaries go to a cache outside the work tree, keyed by version ($TRACING_WORKSPACE_CACHE,
# else $XDG_CACHE_HOME/tracing-workspace, else ~/.cache/tracing-workspace), so a clean clone on
# the same machine builds neither again. Go's own module and build caches make a rebuild quick.
set -euo pipefail
cd "$(dirname "$0")/.."

jaeger_version=2.12.0 # Go module v1.75.0
prometheus_version=3.16.0 # Go module v0.316.0
cache="${TRACING_WORKSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracing-workspace}"
bin="$cache/real-jaeger/jaeger-$jaeger_version-prometheus-$prometheus_version"

if ! command -v go >/dev/null 2>&1; then
  echo "real-jaeger.sh: Go is not installed (https://go.dev/dl/); Jaeger and Prometheus are built with it" >&2
  exit 1
fi

# build TOOLS_DIR PACKAGE OUTPUT LDFLAGS: a static binary of PACKAGE, a tool of TOOLS_DIR's module.
build() {
  local dir=$1 package=$2 output=$3 ldflags=$4
  [ -x "$output" ] && return 0
  echo "real-jaeger.sh: building $(basename "$output") ($package) from the Go module proxy" >&2
  mkdir -p "$(dirname "$output")"
  # Go names every module it downloads (hundreds): kept in a log, shown if the build fails.
  if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$output.partial" "$package") \
    >"$output.log" 2>&1; then
    cat "$output.log" >&2
    echo "real-jaeger.sh: building $(basename "$output") failed (log above, and in $output.log)" >&2
    exit 1
  fi
  mv "$output.partial" "$output"
}

# The version Jaeger's own Makefile stamps (scripts/makefiles/BuildInfo.mk), so `jaeger version`
# and the UI say which release this is.
build tools/jaeger github.com/jaegertracing/jaeger/cmd/jaeger "$bin/jaeger" \
  "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v$jaeger_version"
# The version Prometheus's own build stamps (.promu.yml).
build tools/prometheus github.com/prometheus/prometheus/cmd/prometheus "$bin/prometheus" \
  "-X github.com/prometheus/common/version.Version=$prometheus_version"

echo "$bin"
