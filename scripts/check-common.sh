# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this file
# Shared by scripts/check-*.sh (sourced, not run): where the stack under test is, which tracectl
# reads it, and where what they saw is kept.
#   GATEWAY_URL   default http://localhost:3000
#   JAEGER_URL    default http://localhost:16686
#   TRACECTL      default target/release/tracectl
#   OUT           default target/stack-check
export GATEWAY_URL=${GATEWAY_URL:-http://localhost:3000}
JAEGER_URL=${JAEGER_URL:-http://localhost:16686}
TRACECTL=${TRACECTL:-target/release/tracectl}
OUT=${OUT:-target/stack-check}
mkdir -p "$OUT"
