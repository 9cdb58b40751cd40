#!/usr/bin/env bash
# Checks docker-compose.yml's tail-sampling profile (or the Kubernetes overlay) through Jaeger's API:
# 100 checkouts, one in ten a Stripe outage and one in ten slow, then what Jaeger kept, counted with
# `tracectl search`: every failed checkout, every slow one, and of the happy ones about a tenth, so
# fewer traces in all than checkouts sent. For the CI workflow's hosted runner.
#
#   GATEWAY_URL, JAEGER_URL, TRACECTL, OUT: scripts/check-common.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/check-common.sh
source scripts/check-common.sh

scripts/load.sh --count 100 --concurrency 8 --mix happy=8,stripe-outage=1,slow-stripe=1 | tee "$OUT/tail-load.txt"
count() { sed -n "s/^$1 .* $2×\\([0-9]*\\).*/\\1/p" "$OUT/tail-load.txt"; }
outages=$(count stripe-outage 503)
slow=$(count slow-stripe 201)
kept() { "$TRACECTL" --json search --service gateway --lookback 15m --limit 500 --jaeger "$JAEGER_URL" "$@" | grep -o '"trace_id"' | wc -l; }
# The samplers decide 10 s after a trace's first span; wait for every outage to be decided.
for _ in $(seq 1 60); do
  [ "$(kept --errors)" -ge "${outages:-0}" ] && break
  sleep 1
done
errors=$(kept --errors)
slow_kept=$(kept --operation "POST /api/checkout" --min-duration 3s)
all=$(kept)
echo "sent 100: $outages outages, $slow slow; Jaeger kept $errors failed, $slow_kept slow, $all in all"
[ "$errors" -eq "$outages" ] || { echo "not every failed checkout was kept" >&2; exit 1; }
[ "$slow_kept" -eq "$slow" ] || { echo "not every slow checkout was kept" >&2; exit 1; }
[ "$all" -lt 100 ] || { echo "every trace was kept: nothing was sampled out" >&2; exit 1; }
