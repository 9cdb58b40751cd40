# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this file
# Shared by bench.sh and bench-instructions.sh (sourced, not run): the tool check, the release
# build, starting and stopping the services, and the environment that zeroes every simulated latency.

BIN=target/release

# Every simulated latency at 0, quiet logs: what is left is HTTP, JSON, SQLite and telemetry.
BENCH_ENV=(HOST=127.0.0.1 RUST_LOG=warn SIM_JITTER_PERCENT=0 ORDER_VALIDATION_MS=0 INVENTORY_MS=0
  FRAUD_CHECK_MS=0 STRIPE_LATENCY_MS=0 DB_QUERY_MS=0)

need_tool() { # command, Debian package, how to install it by hand
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
  else
    echo "$(basename "$0") needs $1: $3" >&2
    exit 1
  fi
}

build_release() {
  echo "Building release binaries..."
  cargo build --release --bins --workspace --exclude exercises --quiet
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_healthy() { # port [tries of 0.1 s]
  for _ in $(seq 1 "${2:-100}"); do
    curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "service on port $1 did not start; see $LOGS/" >&2
  exit 1
}

# The four configurations both scripts compare, (a) to (d), in order. Each script defines its own
# `run NAME RECEIVER(live|none) [VAR=value...]`, which measures one of them with the binaries in $BIN.
#
# BASELINE=<a folder of another build's release binaries> (say, of main before a change) runs each
# configuration with those binaries too, just before this build's, under the name `before-<name>`:
# what a change costs, measured side by side in one run.
# ONLY="b-full d-collector-down" runs just those (ratios to (a) then need a-disabled among them).
CONFIGURATIONS=(a-disabled b-full c-sampled d-collector-down)
run_configurations() {
  local prefix
  for prefix in ${BASELINE:+before-} ""; do
    BIN=target/release
    [ -n "$prefix" ] && BIN=$BASELINE
    run_selected "$prefix" a-disabled none OTEL_SDK_DISABLED=true
    run_selected "$prefix" b-full live
    run_selected "$prefix" c-sampled live OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
    run_selected "$prefix" d-collector-down none
  done
  BIN=target/release
}

run_selected() { # prefix name receiver [VAR=value...]
  local prefix=$1 name=$2
  shift 2
  if [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]]; then run "$prefix$name" "$@"; fi
}

# The result names of one run: every configuration, the baseline's first when there is one.
result_names() {
  local prefix name
  for prefix in ${BASELINE:+before-} ""; do
    for name in "${CONFIGURATIONS[@]}"; do
      if [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]]; then echo "$prefix$name"; fi
    done
  done
}

# The start of the awk programs that print a results table: each configuration's label, and, for
# a results line (`[before-]<configuration> numbers…`), its name and whether it is the baseline's.
# shellcheck disable=SC2034,SC2016 # used by the scripts that source this one; awk, not shell
LABEL_RESULT='
  BEGIN {
    label["a-disabled"] = "(a) telemetry disabled"
    label["b-full"] = "(b) 100% sampled, live receiver"
    label["c-sampled"] = "(c) 10% sampled"
    label["d-collector-down"] = "(d) collector down"
  }
  { name = $1; before = sub(/^before-/, "", name) }
'
