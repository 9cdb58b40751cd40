#!/usr/bin/env bash
# Runs the demo without Docker: builds the workspace, starts `tracectl listen` (a terminal trace
# viewer that receives OTLP/HTTP on 4318, as Jaeger does) and the three services exporting to it,
# then draws every trace in this terminal. Ctrl-C stops everything cleanly.
#
# Settings (environment):
#   GATEWAY_PORT / ORDER_PORT / PAYMENT_PORT   default 3000 / 3001 / 3002
#   TRACECTL_ADDR                              default 127.0.0.1:4318
#   TRACE_STORE                                default target/run-local/traces.jsonl: every trace
#                                              tracectl receives is kept there, to open again
#   OTEL_EXPORTER_OTLP_ENDPOINT                if set (e.g. a Jaeger you run yourself), export there
#                                              instead, and do not start tracectl
#   PROFILE=release                            build and run optimised binaries (default: debug)
#   SKIP_BUILD=1, BIN_DIR=DIR                  use binaries already built in DIR
#   RUN_LOCAL_DIR                              default target/run-local: the logs, the store
#   any service setting from the README table (STRIPE_LATENCY_MS, ...) is passed through
#
#   scripts/run-local.sh --fresh               start with an empty TRACE_STORE (the one before is
#                                              kept as traces.previous.jsonl): each lesson starts so
#
# With Jaeger, natively (no Docker):
#   scripts/run-local.sh --jaeger              start the `jaeger` binary found on PATH (or
#                                              JAEGER_BIN) with jaeger/config.yaml on loopback;
#                                              the services export to it, trace_url links to it,
#                                              and tracectl draws each trace from Jaeger's API.
#                                              scripts/real-jaeger.sh builds one (API only);
#                                              Jaeger's release archive has one with its UI.
#   JAEGER_OTLP_HTTP_PORT / JAEGER_QUERY_HTTP_PORT / JAEGER_HEALTH_PORT / ... (jaeger/config.yaml
#   names them all)                            default 4318 / 16686 / 13133 / ...
#
# From another terminal, while it runs:
#   scripts/run-local.sh --stop NAME           stop one service (SIGTERM: it drains), and leave it
#                                              stopped ("kill payment-service" in the lessons);
#                                              --restart starts it again
#   scripts/run-local.sh --restart NAME        stop one service (SIGTERM: it drains) and start it
#                                              again on the same port and files
#   scripts/run-local.sh --crash NAME [--when TEXT [-- COMMAND...]]
#                                              the same with SIGKILL (a crash: nothing flushed), at
#                                              once or when a service next logs a line with TEXT;
#                                              with a COMMAND (a checkout, say), it runs the command
#                                              and crashes NAME when the command's request logs it
set -euo pipefail
# Job control: each background process gets its own process group, so Ctrl-C reaches only this
# script, which then stops the services *before* tracectl (their last spans need somewhere to go).
set -m
cd "$(dirname "$0")/.."

GATEWAY_PORT=${GATEWAY_PORT:-3000}
ORDER_PORT=${ORDER_PORT:-3001}
PAYMENT_PORT=${PAYMENT_PORT:-3002}
TRACECTL_ADDR=${TRACECTL_ADDR:-127.0.0.1:4318}
PROFILE=${PROFILE:-debug}
LOG_DIR=${RUN_LOCAL_DIR:-target/run-local}
mkdir -p "$LOG_DIR"
TRACE_STORE=${TRACE_STORE:-$LOG_DIR/traces.jsonl}
SERVICES=(gateway order-service payment-service)

# --restart / --crash: ask the run-local.sh that is running (its pid in $LOG_DIR) to do it, since
# it started the service and knows its settings; wait for its answer.
if [ "${1:-}" = --restart ] || [ "${1:-}" = --crash ] || [ "${1:-}" = --stop ]; then
  verb=${1#--} name=${2:-}
  when=""
  command=()
  if [ "${3:-}" = --when ]; then
    when=${4:?--when needs the text of a log line}
    if [ "${5:-}" = -- ]; then command=("${@:6}"); fi
  fi
  if ! printf '%s\n' "${SERVICES[@]}" | grep -qx -- "$name"; then
    echo "usage: $0 --$verb {$(IFS='|'; echo "${SERVICES[*]}")} [--when TEXT [-- COMMAND...]]" >&2
    exit 2
  fi
  main=$(cat "$LOG_DIR/run-local.pid" 2>/dev/null || true)
  if [ -z "$main" ] || ! kill -0 "$main" 2>/dev/null; then
    echo "run-local.sh is not running (no live pid in $LOG_DIR/run-local.pid): start it first" >&2
    exit 1
  fi
  logs=()
  for service in "${SERVICES[@]}"; do logs+=("$LOG_DIR/$service.log"); done
  if [ -n "$when" ]; then
    # Lines with TEXT so far; the next one is the moment. The command starts once they are counted.
    seen=$(cat "${logs[@]}" 2>/dev/null | grep -cF -- "$when" || true)
    command_pid=""
    if [ ${#command[@]} -gt 0 ]; then
      "${command[@]}" &
      command_pid=$!
    fi
    for _ in $(seq 1 600); do
      now=$(cat "${logs[@]}" 2>/dev/null | grep -cF -- "$when" || true)
      [ "$now" -gt "$seen" ] && break
      sleep 0.05
    done
    if [ "$now" -le "$seen" ]; then
      echo "no service logged \"$when\" within 30 s; $name left alone" >&2
      [ -n "$command_pid" ] && wait "$command_pid"
      exit 1
    fi
  fi
  finish() { # status [answer]: the command's end (its output), then the answer
    if [ -n "${command_pid:-}" ]; then wait "$command_pid" || true; echo; fi
    [ -n "${2:-}" ] && echo "$2"
    exit "$1"
  }
  rm -f "$LOG_DIR/control.done"
  echo "$verb $name" >"$LOG_DIR/control"
  kill -USR1 "$main"
  for _ in $(seq 1 300); do
    if ! kill -0 "$main" 2>/dev/null; then
      echo "run-local.sh stopped: $name did not start again (see $LOG_DIR/$name.log)" >&2
      finish 1
    fi
    if [ -f "$LOG_DIR/control.done" ]; then
      answer=$(cat "$LOG_DIR/control.done")
      if [[ $answer == ok* ]]; then finish 0 "$answer"; else finish 1 "$answer"; fi
    fi
    sleep 0.1
  done
  echo "run-local.sh did not answer within 30 s" >&2
  finish 1
fi

# One run-local.sh per folder: a second one says what the first is running, and where.
running=$(cat "$LOG_DIR/run-local.pid" 2>/dev/null || true)
if [ -n "$running" ] && kill -0 "$running" 2>/dev/null; then
  echo "run-local.sh is already running (pid $running), from this folder:" >&2
  sed 's/^/  /' "$LOG_DIR/run-local.ready" >&2 2>/dev/null || echo "  (still starting)" >&2
  echo "Use it, or stop it first: Ctrl-C in its terminal, or kill $running." >&2
  exit 1
fi

JAEGER_MODE="" FRESH=""
for arg in "$@"; do
  case "$arg" in
    --jaeger) JAEGER_MODE=1 ;;
    --fresh) FRESH=1 ;;
    *) echo "usage: $0 [--fresh] [--jaeger] | --stop|--restart|--crash NAME (see the top of this file)" >&2; exit 2 ;;
  esac
done
if [ -n "$JAEGER_MODE" ]; then
  JAEGER_BIN=${JAEGER_BIN:-$(command -v jaeger || true)}
  if [ -z "$JAEGER_BIN" ] || [ ! -x "$JAEGER_BIN" ]; then
    echo "run-local.sh --jaeger: no jaeger binary on PATH (or JAEGER_BIN): build one with" >&2
    echo "  PATH=\"\$(scripts/real-jaeger.sh):\$PATH\" scripts/run-local.sh --jaeger" >&2
    echo "or take one, with its UI, from Jaeger's release archive (README, \"Tests\")" >&2
    exit 2
  fi
  JAEGER_OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-4318}
  JAEGER_QUERY_HTTP_PORT=${JAEGER_QUERY_HTTP_PORT:-16686}
  JAEGER_HEALTH_PORT=${JAEGER_HEALTH_PORT:-13133}
fi

# A port another program holds would only show as a service's or tracectl's bind error (tracectl's
# only when it is started: not with --jaeger, nor with a collector of your own).
ports=("$GATEWAY_PORT" "$ORDER_PORT" "$PAYMENT_PORT")
[ -z "$JAEGER_MODE" ] && [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ] && ports+=("${TRACECTL_ADDR##*:}")
for taken in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$taken") 2>/dev/null; then
    echo "port $taken is in use by another program (a run-local.sh from another folder, or docker" >&2
    echo "compose up?): stop it, or choose other ports (GATEWAY_PORT, ORDER_PORT, PAYMENT_PORT," >&2
    echo "TRACECTL_ADDR); 'ss -ltnp sport = :$taken' names the program." >&2
    exit 1
  fi
done

# --fresh: a store of this run's traces only (a lesson's searches and lints count what it made);
# the one before is kept beside it, once.
if [ -n "$FRESH" ] && [ -f "$TRACE_STORE" ]; then
  mv "$TRACE_STORE" "${TRACE_STORE%.jsonl}.previous.jsonl"
  echo "(--fresh: the traces of earlier runs are in ${TRACE_STORE%.jsonl}.previous.jsonl)"
fi

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "Building (the first build takes a few minutes)..."
  # Everything but the exercises, which build on their own: one half-written never stops this.
  build=(cargo build --bins --workspace --exclude exercises)
  if [ "$PROFILE" = release ]; then "${build[@]}" --release; else "${build[@]}"; fi
fi
BIN_DIR=${BIN_DIR:-target/$PROFILE}

pids=()
declare -A index port settings # per service: its place in pids, its port, its VAR=value settings
declare -A stopped reported # the services stopped on request; the deaths already said
stop_all() { # exit code
  trap - INT TERM EXIT USR1
  rm -f "$LOG_DIR/run-local.pid" "$LOG_DIR/run-local.ready"
  # Whoever reads our output may be gone (a closed terminal or pipe): printing must not kill us
  # before the services are stopped, so ignore SIGPIPE and treat every message as best effort.
  trap '' PIPE
  say() { echo "$@" 2>/dev/null || true; }
  say
  say "Stopping..."
  # Callers first, so no request is cut off by a dependency that already left; tracectl last,
  # so the spans the services flush on the way out are still received and drawn.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  say "Stopped."
  exit "$1"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT

if [ -n "$JAEGER_MODE" ]; then
  # Jaeger first (stopped last), on loopback, with the project's config and strategies file.
  JAEGER_LISTEN_HOST=127.0.0.1 JAEGER_SAMPLING_STRATEGIES=jaeger/sampling-strategies.json \
    JAEGER_OTLP_HTTP_PORT=$JAEGER_OTLP_HTTP_PORT JAEGER_QUERY_HTTP_PORT=$JAEGER_QUERY_HTTP_PORT \
    JAEGER_HEALTH_PORT=$JAEGER_HEALTH_PORT "$JAEGER_BIN" --config jaeger/config.yaml >"$LOG_DIR/jaeger.log" 2>&1 &
  jaeger_pid=$!
  index[jaeger]=${#pids[@]}
  pids+=("$jaeger_pid")
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$JAEGER_HEALTH_PORT/status" >/dev/null 2>&1 && break
    if ! kill -0 "$jaeger_pid" 2>/dev/null; then
      echo "jaeger exited during start-up (a port in use?); its log:" >&2
      cat "$LOG_DIR/jaeger.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$JAEGER_HEALTH_PORT/status" >/dev/null 2>&1 ||
    { echo "jaeger did not become healthy; see $LOG_DIR/jaeger.log" >&2; exit 1; }
  # Jaeger holds the OTLP ports: tracectl follows its API instead, and draws each trace the same.
  "$BIN_DIR/tracectl" listen --jaeger "http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT" --events &
  tracectl_pid=$!
  index[tracectl]=${#pids[@]}
  pids+=("$tracectl_pid")
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT"
  export OTEL_BSP_SCHEDULE_DELAY=${OTEL_BSP_SCHEDULE_DELAY:-500}
  JAEGER_UI_URL=${JAEGER_UI_URL:-http://localhost:$JAEGER_QUERY_HTTP_PORT}
  traces_at="in Jaeger ($JAEGER_UI_URL; its log in $LOG_DIR/jaeger.log), and below, drawn by
tracectl from Jaeger's API as each checkout completes (tracectl show <trace-id> reads it again)"
elif [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  "$BIN_DIR/tracectl" listen --addr "$TRACECTL_ADDR" --events --store "$TRACE_STORE" &
  tracectl_pid=$!
  index[tracectl]=${#pids[@]}
  pids+=("$tracectl_pid")
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://$TRACECTL_ADDR"
  # A trace is drawn once it has been quiet for 1.5 s: export faster than that.
  export OTEL_BSP_SCHEDULE_DELAY=${OTEL_BSP_SCHEDULE_DELAY:-500}
  traces_at="below, drawn by tracectl as each checkout completes, and kept in $TRACE_STORE
(open one again: $BIN_DIR/tracectl show <trace-id> --file $TRACE_STORE; also analyze, compare A B, search --service gateway)"
else
  traces_at="at $OTEL_EXPORTER_OTLP_ENDPOINT (your collector)"
fi

wait_healthy() { # name port pid log-lines-before: healthy once *this* process says it listens
  # on the port and /health answers there (another program on a port picked free meanwhile
  # could answer /health too: this process then fails to bind and exits, said below).
  for _ in $(seq 1 100); do
    if tail -n +"$(($4 + 1))" "$LOG_DIR/$1.log" | grep -q "listening address=127.0.0.1:$2\b" &&
      curl -fsS "http://127.0.0.1:$2/health" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$3" 2>/dev/null; then
      echo "$1 exited during start-up; its log:" >&2
      cat "$LOG_DIR/$1.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$1 did not become healthy on port $2; see $LOG_DIR/$1.log" >&2
  exit 1
}

start() { # name port [VAR=value...]
  local name=$1
  port[$name]=$2
  shift 2
  settings[$name]="$*"
  : >"$LOG_DIR/$name.log"
  launch "$name"
}

launch() { # name: starts it with its port and settings, appending to its log
  local name=$1 before
  before=$(wc -l <"$LOG_DIR/$name.log")
  # shellcheck disable=SC2086 # the settings are VAR=value words, split on purpose
  env HOST=127.0.0.1 PORT="${port[$name]}" ${settings[$name]} "$BIN_DIR/$name" >>"$LOG_DIR/$name.log" 2>&1 &
  if [ -n "${index[$name]:-}" ]; then pids[${index[$name]}]=$!; else index[$name]=${#pids[@]}; pids+=($!); fi
  echo $! >"$LOG_DIR/$name.pid"
  unset "stopped[$name]"
  wait_healthy "$name" "${port[$name]}" "$!" "$before"
}

# What another terminal's --restart / --crash asks for (in $LOG_DIR/control).
control() {
  local verb name signal answer
  read -r verb name <"$LOG_DIR/control" || true
  signal=TERM
  [ "$verb" = crash ] && signal=KILL
  local pid=${pids[${index[$name]}]}
  kill -"$signal" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$verb" = stop ]; then
    stopped[$name]=1
    echo "[$name stopped with SIGTERM, on request; scripts/run-local.sh --restart $name starts it again]"
    answer="ok: $name stopped after SIGTERM; scripts/run-local.sh --restart $name starts it again"
  else
    echo "[$name stopped with SIG$signal; starting it again on port ${port[$name]}]"
    launch "$name"
    answer="ok: $name restarted after SIG$signal, on port ${port[$name]} and the same files"
  fi
  echo "$answer" >"$LOG_DIR/control.tmp" && mv "$LOG_DIR/control.tmp" "$LOG_DIR/control.done"
}

echo $$ >"$LOG_DIR/run-local.pid"
trap control USR1
start payment-service "$PAYMENT_PORT"
start order-service "$ORDER_PORT" PAYMENT_SERVICE_URL="http://127.0.0.1:$PAYMENT_PORT"
# No Jaeger (without --jaeger), so no Jaeger link in the gateway's answers or on its page: the
# trace id only.
start gateway "$GATEWAY_PORT" ORDER_SERVICE_URL="http://127.0.0.1:$ORDER_PORT" JAEGER_UI_URL="${JAEGER_UI_URL:-none}"

# tracectl binds its port at once: if it has exited, that port was taken.
if [ -n "${tracectl_pid:-}" ] && ! kill -0 "$tracectl_pid" 2>/dev/null; then
  echo "tracectl exited at start-up: is $TRACECTL_ADDR in use?" >&2
  exit 1
fi

cat <<INFO | tee "$LOG_DIR/run-local.ready"
Ready: gateway on http://localhost:$GATEWAY_PORT (logs in $LOG_DIR/).
Send a checkout from another terminal:
  GATEWAY_URL=http://localhost:$GATEWAY_PORT scripts/checkout.sh
Traces appear $traces_at. Ctrl-C stops everything.
INFO

# Says, once, that a process this script started has exited without being asked to.
say_deaths() {
  local name pid
  for name in "${!index[@]}"; do
    pid=${pids[${index[$name]}]}
    if [ -z "${stopped[$name]:-}" ] && [ "${reported[$name]:-}" != "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      reported[$name]=$pid
      echo "[$name (pid $pid) has exited, unasked.$([ -f "$LOG_DIR/$name.log" ] && echo " Its last lines ($LOG_DIR/$name.log):")]"
      [ -f "$LOG_DIR/$name.log" ] && tail -n 5 "$LOG_DIR/$name.log" | sed 's/^/  /'
      [ -n "${port[$name]:-}" ] && echo "[scripts/run-local.sh --restart $name starts it again]"
    fi
  done
}

# Wait for Ctrl-C (the trap above then stops everything in order). `wait -n` returns when one of
# them exits (said above), or when a --restart's signal runs its trap: either way, wait again.
while true; do
  wait -n || true
  say_deaths
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  if [ "$alive" = 0 ]; then
    echo "[everything this script started has exited]"
    stop_all 1
  fi
done
