#!/usr/bin/env bash
# What does tracing cost? Runs the three services under load four ways, side by side, in one run:
#   (a) telemetry disabled            (OTEL_SDK_DISABLED=true)
#   (b) 100% sampling, live receiver  (every span exported to `tracectl listen --stats`)
#   (c) 10% sampling, live receiver   (parentbased_traceidratio 0.1)
#   (d) collector down                (100% sampling, exporting to a port nobody listens on)
# and prints throughput, p50/p99 latency, CPU time per checkout and RSS per service, each as a
# ratio to (a), plus spans received vs. expected (to catch dropped spans).
#
# Simulated latencies are 0, so the services do nothing but HTTP, JSON and telemetry: the worst
# case for tracing overhead. Load comes from wrk on the same machine, which competes for the CPU;
# compare the ratios, not the absolute numbers.
#
# Settings: DURATION (s, default 6), CONNECTIONS (default 32), WARMUP (s, default 2), ROUNDS
# (default 10: the four configurations run in turn, ROUNDS times; the table shows each one's
# median round, and the median of the round-by-round ratios follows, since a shared machine's
# speed drifts during a run and one round's ratio can be off by 0.2). About 7 minutes.
# BASELINE=<folder of release binaries> also runs each configuration with those (see
# bench-common.sh) and adds this build's throughput as a ratio to theirs; about 14 minutes.
# Needs: cargo, curl, wrk (installed with apt-get when run as root; else `apt install wrk` /
# `brew install wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-6}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-10}
LOGS=target/bench
mkdir -p "$LOGS"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
need_tool wrk wrk "apt install wrk (Debian/Ubuntu) or brew install wrk (macOS)"
build_release

ticks() { # pid... -> utime+stime clock ticks, summed
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

rss_mib() { # pid -> resident set size in MiB
  awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

to_ms() { # wrk latency ("812.00us", "1.23ms", "1.02s") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { printf "%s", v } }'
}

# run NAME RECEIVER(live|none) [VAR=value...] -> one result line in $LOGS/results
run() {
  local name=$1 receiver=$2
  shift 2
  local base=23100 otel_endpoint="http://127.0.0.1:1" # port 1: nobody listens
  local rpid=""
  pids=()
  if [ "$receiver" = live ]; then
    "$BIN/tracectl" listen --stats --addr 127.0.0.1:$((base + 18)) --quiet-ms 300 --max-traces 100000 \
      >"$LOGS/$name-receiver.out" 2>"$LOGS/$name-receiver.log" &
    rpid=$!
    otel_endpoint="http://127.0.0.1:$((base + 18))"
  fi
  local common=("${BENCH_ENV[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$otel_endpoint" "$@")
  rm -f "$LOGS/$name-orders.sqlite3"* "$LOGS/$name-stripe.sqlite3"* # every run starts empty
  env "${common[@]}" PORT=$((base + 2)) STRIPE_LEDGER_PATH="$LOGS/$name-stripe.sqlite3" \
    "$BIN/payment-service" >"$LOGS/$name-payment.log" 2>&1 &
  local pay=$!
  env "${common[@]}" PORT=$((base + 1)) PAYMENT_SERVICE_URL=http://127.0.0.1:$((base + 2)) \
    ORDER_DB_PATH="$LOGS/$name-orders.sqlite3" "$BIN/order-service" >"$LOGS/$name-order.log" 2>&1 &
  local ord=$!
  env "${common[@]}" PORT=$base ORDER_SERVICE_URL=http://127.0.0.1:$((base + 1)) \
    "$BIN/gateway" >"$LOGS/$name-gateway.log" 2>&1 &
  local gw=$!
  pids=("$gw" "$ord" "$pay")
  [ -n "$rpid" ] && pids+=("$rpid")
  for port in $((base + 2)) $((base + 1)) $base; do wait_healthy "$port"; done

  local url="http://127.0.0.1:$base/api/checkout"
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s scripts/bench-post.lua "$url" >"$LOGS/$name-warmup.txt"
  local before after receiver_before=0 receiver_after=0
  before=$(ticks "$gw" "$ord" "$pay")
  [ -n "$rpid" ] && receiver_before=$(ticks "$rpid")
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s scripts/bench-post.lua "$url" >"$LOGS/$name-wrk.txt"
  after=$(ticks "$gw" "$ord" "$pay")
  [ -n "$rpid" ] && receiver_after=$(ticks "$rpid")
  local rss
  rss="$(rss_mib "$gw")/$(rss_mib "$ord")/$(rss_mib "$pay")"

  # Stop the services (callers first), then the receiver, which prints what it received.
  for pid in "$gw" "$ord" "$pay"; do kill -TERM "$pid"; wait "$pid" || true; done
  local received="-"
  if [ -n "$rpid" ]; then
    kill -TERM "$rpid"
    wait "$rpid" || true
    # spans/traces, and the smallest..largest trace (9..9 means every trace arrived whole).
    received=$(sed -n 's/.*"max_spans_per_trace":\([0-9]*\),"min_spans_per_trace":\([0-9]*\),"spans":\([0-9]*\),"traces":\([0-9]*\).*/\3\/\4(\2..\1)/p' "$LOGS/$name-receiver.out")
  fi

  # Dropped spans, as the services count them (each logs its total at shutdown, only if non-zero), and
  # requests cancelled because wrk stopped mid-request (their traces lack the later hops).
  local dropped cancelled
  dropped=$(cat "$LOGS/$name"-{gateway,order,payment}.log | { grep "dropped in all" || true; } | sed -n 's/.*dropped_spans_total=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
  cancelled=$(grep -c "request cancelled" "$LOGS/$name-gateway.log" || true)
  local out="$LOGS/$name-wrk.txt" warm="$LOGS/$name-warmup.txt"
  local rps requests warm_requests p50 p99 errors cpu_us receiver_us hz
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  requests=$(awk '/requests in/ {print $1}' "$out")
  warm_requests=$(awk '/requests in/ {print $1}' "$warm")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  errors=$(awk '/Non-2xx/ {print $NF}' "$out")
  hz=$(getconf CLK_TCK)
  cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.0f", t / hz / n * 1e6}')
  receiver_us=$(awk -v t=$((receiver_after - receiver_before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.0f", t / hz / n * 1e6}')
  echo "$name ${rps} ${p50} ${p99} ${cpu_us} ${rss} ${errors:-0} $((requests + warm_requests)) ${received} ${dropped} ${cancelled} ${receiver_us}" >>"$LOGS/results"
}

rm -f "$LOGS/results"
echo "Running $(result_names | wc -l) configurations, ${DURATION}s each at ${CONNECTIONS} connections, ${ROUNDS} rounds..."
for round in $(seq 1 "$ROUNDS"); do
  echo "  round $round of $ROUNDS"
  run_configurations
done
# Per configuration, the round with the median throughput (a whole line, so its figures belong together).
for name in $(result_names); do
  grep "^$name " "$LOGS/results" | sort -k2 -g | sed -n "$(((ROUNDS + 1) / 2))p"
done >"$LOGS/median"

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "Load: wrk, ${CONNECTIONS} connections, ${DURATION}s after a ${WARMUP}s warm-up; simulated latencies 0; RUST_LOG=warn"
echo
awk "$LABEL_RESULT"'
  {
    if (name == "a-disabled") { base_rps = $2; base_p50 = $3; base_p99 = $4; base_cpu = $5 }
    printf "%-7s%-32s %6.0f req/s (%.2f)  p50 %6.2f ms (%.2f)  p99 %6.2f ms (%.2f)  CPU %4d us/checkout (%.2f)  receiver CPU %3d us/checkout  RSS MiB %-15s  non-2xx %s  spans dropped %s  received %s for %s checkouts (%s cut off by wrk)\n",
      before ? "before" : "", label[name], $2, $2 / base_rps, $3, $3 / base_p50, $4, $4 / base_p99, $5, $5 / base_cpu, $12, $6, $7, $10, $9, $8, $11
  }' "$LOGS/median"
echo
echo "Throughput ratio to (a), its median over the rounds, then each round (rounds run the four"
echo "configurations side by side, so a ratio compares runs a few seconds apart):"
# awk: one row per configuration, the median of its round-by-round throughput ratios to another
# configuration of the same rounds, then each round's ratio. rps[NAME] holds NAME's req/s, round by round.
# shellcheck disable=SC2016 # awk's $1, not the shell's
RATIO_ROW='{ rps[$1] = rps[$1] " " $2 }
function row(name, base,   r, b, n, i, j, x, v, line, median) {
  split(rps[name], r, " "); split(rps[base], b, " ")
  for (n = 1; n in r; n++) { v[n] = r[n] / b[n]; line = line sprintf(" %.2f", v[n]) }
  n--
  for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
  median = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  printf "  %-25s median %.2f   rounds:%s\n", name, median, line
}'
awk "$RATIO_ROW"' END {
  for (name in rps) if (name !~ /a-disabled$/) row(name, (name ~ /^before-/ ? "before-" : "") "a-disabled")
}' "$LOGS/results" | sort
if [ -n "${BASELINE:-}" ]; then
  echo
  echo "This build's throughput as a ratio to BASELINE's ($BASELINE), same configuration, same round:"
  awk "$RATIO_ROW"' END { for (name in rps) if (name !~ /^before-/) row(name, "before-" name) }' "$LOGS/results" | sort
fi
echo
echo "Ratios are to (a). 'CPU' is the three services; 'receiver CPU' is the OTLP receiver's, which runs on"
echo "the same cores (a collector elsewhere would not compete with them)."
echo "RSS is gateway/order/payment after the load. 'spans dropped' is the services'"
echo "own count (export queue full, or shed while the collector fails; spans of unsampled traces are not"
echo "dropped, only not recorded). 'received' is spans/traces (smallest..largest trace) at the receiver:"
echo "a checkout is 13 spans, plus one per query that queued for a database connection; requests in flight"
echo "when wrk stops are cut off and their traces stop short;"
echo "with 10% sampling about a tenth of the checkouts arrive."

