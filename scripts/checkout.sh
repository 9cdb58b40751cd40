#!/usr/bin/env bash
# Sends one checkout to the gateway and prints the answer and where to see its trace.
#
#   scripts/checkout.sh                      # the README.md checkout
#   scripts/checkout.sh '{"customer_id":"c","items":[{"sku":"sku-nope","quantity":1}],"card_token":"tok_visa"}'
#   GATEWAY_URL=http://localhost:3000 scripts/checkout.sh
#   SCENARIO=slow-stripe scripts/checkout.sh  # a teaching scenario (GET /api/scenarios lists them)
#   MISTAKE=no-propagation scripts/checkout.sh  # an instrumentation mistake (GET /api/mistakes)
#
# Exits 0 for a 2xx answer, 1 otherwise.
set -euo pipefail

GATEWAY_URL=${GATEWAY_URL:-http://localhost:3000}
BODY=${1:-'{"customer_id":"cust-42","items":[{"sku":"sku-book","quantity":2},{"sku":"sku-mug","quantity":1}],"card_token":"tok_visa"}'}

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT

url="$GATEWAY_URL/api/checkout"
query=""
[ -n "${SCENARIO:-}" ] && query="scenario=$SCENARIO"
[ -n "${MISTAKE:-}" ] && query="${query:+$query&}mistake=$MISTAKE"
[ -n "$query" ] && url="$url?$query"
if ! body=$(curl -sS --max-time 30 -X POST "$url" \
    -H 'content-type: application/json' -d "$BODY" -D "$headers"); then
  echo "checkout.sh: could not reach the gateway at $GATEWAY_URL (is it running?)" >&2
  exit 1
fi

status=$(head -n1 "$headers" | tr -d '\r')
traceresponse=$(grep -i '^traceresponse:' "$headers" | tr -d '\r' | cut -d' ' -f2 || true)
echo "$status"
[ -n "$traceresponse" ] && echo "traceresponse: $traceresponse"
echo "$body"

trace_url=$(printf '%s' "$body" | sed -n 's/.*"trace_url":"\([^"]*\)".*/\1/p')
trace_id=$(printf '%s' "$body" | sed -n 's/.*"trace_id":"\([0-9a-f]\{32\}\)".*/\1/p')
if [ -n "$trace_url" ]; then
  echo
  echo "Trace $trace_id: $trace_url"
elif [ -n "$trace_id" ]; then
  echo
  echo "Trace $trace_id"
fi

case "$status" in
  *" 2"[0-9][0-9]*) exit 0 ;;
  *) exit 1 ;;
esac
