#!/usr/bin/env bash
# Checks docker-compose.yml's spm profile: after a load, Prometheus answers the query Jaeger's
# Monitor tab makes for a service's call rate (jaeger's internal/storage/metricstore/prometheus
# reader: `sum(rate(traces_span_metrics_calls_total{service_name =~ "…", span_kind =~ "…"}[…]))
# by (service_name)`), with a rate above zero. For the CI workflow's hosted runner.
#
#   GATEWAY_URL, OUT: scripts/check-common.sh; PROMETHEUS_URL default http://localhost:9090
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/check-common.sh
source scripts/check-common.sh
PROMETHEUS_URL=${PROMETHEUS_URL:-http://localhost:9090}
scripts/load.sh --count 200 --concurrency 8 --mix happy=6,pool-contention=4
query='sum(rate(traces_span_metrics_calls_total{service_name =~ "order-service", span_kind =~ "SPAN_KIND_SERVER"}[1m])) by (service_name)'
# Prometheus scrapes every 5 s, and a rate needs two samples.
for _ in $(seq 1 60); do
  curl -fsS "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$query" >"$OUT/span-metrics.json" || true
  if grep -q '"service_name":"order-service"' "$OUT/span-metrics.json"; then
    cat "$OUT/span-metrics.json"
    echo
    exit 0
  fi
  sleep 2
done
echo "Prometheus has no call rate for order-service:" >&2
cat "$OUT/span-metrics.json" >&2
exit 1
