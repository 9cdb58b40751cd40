#!/usr/bin/env bash
# Checks a running stack through Jaeger's API, as a learner reads it: a happy, a slow-stripe and a
# stripe-outage checkout, each trace fetched from Jaeger with `tracectl show` (all four services
# in it) and checked with `tracectl lint` (no orphan, no split, no wrong parent: every span under
# the one that called it), the commands the lessons run natively against the terminal's store.
# The CI workflow (.github/workflows/ci.yml) runs it against docker compose and against kind; it
# needs a gateway and a Jaeger, so it does not run on this project's own test machines.
#
#   GATEWAY_URL, JAEGER_URL, TRACECTL, OUT: scripts/check-common.sh (OUT keeps each trace's
#   waterfall, and happy's id and span count)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/check-common.sh
source scripts/check-common.sh

for scenario in happy slow-stripe stripe-outage; do
  answer=$(SCENARIO=$scenario scripts/checkout.sh || true)
  id=$(printf '%s\n' "$answer" | sed -n 's/^Trace \([0-9a-f]\{32\}\).*/\1/p')
  if [ -z "$id" ]; then
    echo "$scenario: the checkout named no trace:" >&2
    printf '%s\n' "$answer" >&2
    exit 1
  fi
  # The services export every second; Jaeger has the whole trace once all four services are in it.
  drawn="$OUT/$scenario.txt"
  for _ in $(seq 1 60); do
    if "$TRACECTL" show "$id" --jaeger "$JAEGER_URL" >"$drawn" 2>/dev/null && grep -q ' · 4 services · ' "$drawn"; then
      break
    fi
    sleep 1
  done
  cat "$drawn"
  if ! grep -q ' · 4 services · ' "$drawn"; then
    echo "$scenario: trace $id does not hold the four services within 60 s" >&2
    exit 1
  fi
  "$TRACECTL" lint "$id" --jaeger "$JAEGER_URL"
  if [ "$scenario" = happy ]; then
    echo "$id" >"$OUT/happy.id"
    sed -n 's/^trace [0-9a-f]* · \([0-9]*\) spans · .*/\1/p' "$drawn" >"$OUT/happy.spans"
  fi
done
echo "stack check: 3 traces whole in Jaeger, 4 services each, lint clean"
