#!/usr/bin/env bash
# What does tracing cost, in instructions? The same four configurations as bench.sh, with each
# service run under valgrind's callgrind, which counts the instructions a process executes.
# Unlike seconds, instruction counts hardly depend on what else the machine is doing: two runs
# agree to within about 2% even on a busy shared machine (bench.sh's throughput swings by 20%), so
# a change to the tracing code can be judged by one run. (They do not show waiting, lock contention or cache misses: bench.sh
# measures those, as throughput, but noisily.)
#
# For each configuration: start the services under callgrind, send WARMUP checkouts, zero the
# counters, send COUNT checkouts, dump the counters; instructions / COUNT is the cost of one
# checkout in each service. The receiver in (b) and (c) runs natively and is not counted.
#
# Settings: COUNT (default 1000), WARMUP (default 100), CONCURRENCY (default 4), BASELINE (a folder
# of another build's release binaries, run beside this build's: see bench-common.sh).
# Needs: cargo, curl, valgrind (installed with apt-get when run as root; else
# `apt install valgrind`).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000}
WARMUP=${WARMUP:-100}
CONCURRENCY=${CONCURRENCY:-4}
LOGS=target/bench-instructions
mkdir -p "$LOGS"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
need_tool valgrind valgrind "apt install valgrind (Debian/Ubuntu)"
build_release

# callgrind_control finds a process by the USER and HOST it runs with; the services get HOST from
# their environment, so the control commands must use the same.
control() { HOST=127.0.0.1 callgrind_control "$@" >/dev/null; }

load() { # count
  "$BIN/loadgen" --url "http://127.0.0.1:$base" --count "$1" --concurrency "$CONCURRENCY" --mix happy=1 --quiet \
    >"$LOGS/$name-loadgen.txt"
  if ! grep -q "201×$1 " "$LOGS/$name-loadgen.txt"; then
    echo "not every checkout succeeded in $name; see $LOGS/$name-loadgen.txt" >&2
    exit 1
  fi
}

# run NAME RECEIVER(live|none) [VAR=value...] -> one result line in $LOGS/results
run() {
  name=$1
  local receiver=$2
  shift 2
  base=23400
  local otel_endpoint="http://127.0.0.1:1" rpid=""
  pids=()
  if [ "$receiver" = live ]; then
    "$BIN/tracectl" listen --stats --addr 127.0.0.1:$((base + 18)) >"$LOGS/$name-receiver.out" 2>/dev/null &
    rpid=$!
    pids+=("$rpid")
    otel_endpoint="http://127.0.0.1:$((base + 18))"
  fi
  local common=("${BENCH_ENV[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$otel_endpoint" "$@")
  local vg=(valgrind --tool=callgrind --dump-instr=no --dump-line=no)
  rm -f "$LOGS/$name"-orders.sqlite3* "$LOGS/$name"-stripe.sqlite3* "$LOGS/$name".*.callgrind*
  env "${common[@]}" PORT=$((base + 2)) STRIPE_LEDGER_PATH="$LOGS/$name-stripe.sqlite3" "${vg[@]}" \
    --callgrind-out-file="$LOGS/$name.payment.callgrind" \
    "$BIN/payment-service" >"$LOGS/$name-payment.log" 2>&1 &
  local pay=$!
  env "${common[@]}" PORT=$((base + 1)) PAYMENT_SERVICE_URL=http://127.0.0.1:$((base + 2)) \
    ORDER_DB_PATH="$LOGS/$name-orders.sqlite3" "${vg[@]}" --callgrind-out-file="$LOGS/$name.order.callgrind" \
    "$BIN/order-service" >"$LOGS/$name-order.log" 2>&1 &
  local ord=$!
  env "${common[@]}" PORT=$base ORDER_SERVICE_URL=http://127.0.0.1:$((base + 1)) "${vg[@]}" \
    --callgrind-out-file="$LOGS/$name.gateway.callgrind" "$BIN/gateway" >"$LOGS/$name-gateway.log" 2>&1 &
  local gw=$!
  pids+=("$gw" "$ord" "$pay")
  for port in $((base + 2)) $((base + 1)) $base; do wait_healthy "$port" 600; done # slow under valgrind

  load "$WARMUP"
  control -z "$gw" "$ord" "$pay"
  load "$COUNT"
  control -d "$gw" "$ord" "$pay"
  kill -TERM "$gw" "$ord" "$pay" $rpid
  wait "$gw" "$ord" "$pay" $rpid || true

  # The dump taken after the measured checkouts is file .1; its `totals:` line is the instructions.
  local line="$name" svc instructions
  for svc in gateway order payment; do
    instructions=$(awk '/^totals:/ {print $2}' "$LOGS/$name.$svc.callgrind.1")
    line="$line $((instructions / COUNT))"
  done
  echo "$line" >>"$LOGS/results"
}

rm -f "$LOGS/results"
echo "Counting instructions in $(result_names | wc -l) configurations, ${COUNT} checkouts each..."
run_configurations

echo
echo "Instructions per checkout (callgrind), ${COUNT} checkouts at concurrency ${CONCURRENCY} after ${WARMUP} to warm up;"
echo "simulated latencies 0; RUST_LOG=warn. Ratios are to (a)."
echo
awk "$LABEL_RESULT"'
  {
    total = $2 + $3 + $4
    if (name == "a-disabled") base = total
    printf "%-7s%-32s %9d instructions (%.2f)  gateway %8d  order-service %8d  payment-service %8d\n",
      before ? "before" : "", label[name], total, total / base, $2, $3, $4
  }' "$LOGS/results"
