#!/usr/bin/env bash
# Opens the happy checkout's trace (from scripts/check-stack.sh) in Jaeger's UI in headless Chrome,
# keeps a screenshot, and checks that the page shows the four services and the span count Jaeger's
# API gave. For the CI workflow's hosted runner, which has Google Chrome.
#
#   JAEGER_URL, OUT: scripts/check-common.sh; CHROME default google-chrome
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/check-common.sh
source scripts/check-common.sh
CHROME=${CHROME:-google-chrome}
id=$(cat "$OUT/happy.id")
spans=$(cat "$OUT/happy.spans")
flags=(--headless=new --no-sandbox --disable-gpu "--window-size=1600,1000" --virtual-time-budget=20000)
"$CHROME" "${flags[@]}" --screenshot="$PWD/$OUT/jaeger-trace.png" "$JAEGER_URL/trace/$id"
"$CHROME" "${flags[@]}" --dump-dom "$JAEGER_URL/trace/$id" >"$OUT/jaeger-trace.html"
# The page's text, tags removed: the header says "Services 4" and "Total Spans N".
text=$(sed -e 's/<[^>]*>/ /g' "$OUT/jaeger-trace.html" | tr -s ' \n' ' ')
for service in gateway order-service payment-service stripe; do
  grep -q -- " $service " <<<"$text" || { echo "the trace page names no $service" >&2; exit 1; }
done
grep -qE "Services 4( |$)" <<<"$text" || { echo "the trace page does not say Services 4" >&2; exit 1; }
grep -qE "Total Spans $spans( |$)" <<<"$text" || { echo "the trace page does not say Total Spans $spans" >&2; exit 1; }
echo "Jaeger UI: trace $id shows 4 services and $spans spans; screenshot in $OUT/jaeger-trace.png"
