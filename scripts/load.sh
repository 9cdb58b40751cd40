#!/usr/bin/env bash
# Drives a weighted mix of teaching scenarios through the gateway and prints, per scenario, the
# requests, the errors by status and the p50/p90/p99 latency. Builds `loadgen` first.
#
#   scripts/load.sh                                         # 30 s of happy=8,card-declined=1,out-of-stock=1
#   scripts/load.sh --concurrency 10 --count 200 --mix pool-contention
#   GATEWAY_URL=http://localhost:3000 scripts/load.sh --duration 1m --mix happy=6,slow-db=1
#
# Every option is `loadgen`'s (scripts/load.sh --help). Exits non-zero if the gateway is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-}" != 1 ]; then
  cargo build --quiet --release --bin loadgen
fi
exec "${BIN_DIR:-target/release}/loadgen" "$@"
