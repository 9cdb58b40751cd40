#!/usr/bin/env bash
# Your turn: checks the exercises in exercises/ (lessons/your-turn.md starts them).
#
#   scripts/exercise.sh 3            check exercise 3: run your code, draw the trace it made beside
#                                    the expected one, lint it, and say PASS, or FAIL with what is
#                                    wrong in the trace and a hint (exit 0 on pass, 1 on fail)
#   scripts/exercise.sh              check every exercise: one line each, then "4 of 12 done"
#   scripts/exercise.sh --watch 3    check exercise 3 again each time a file in exercises/ is saved
#                                    (--watch alone: all of them); Ctrl-C stops
#   scripts/exercise.sh --reset 3    put exercise 3 back as it was when you cloned (git's HEAD)
#   scripts/exercise.sh --solution 3 check the solution (exercises/solutions/) instead of yours
#
# The exercises build on their own (the package `exercises`): a half-written one never breaks
# scripts/run-local.sh or the services' build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The file of exercise N, from its number alone (no build needed): exercises/NN_*.rs.
file_of() {
  case "$1" in '' | *[!0-9]*) usage ;; esac
  local matches=(exercises/"$(printf '%02d' "$((10#$1))")"_*.rs)
  [ -e "${matches[0]}" ] || { echo "exercise.sh: there is no exercise $1 (ls exercises/)" >&2; exit 2; }
  echo "${matches[0]}"
}

# Builds the checker (quietly; compile errors in your exercise are shown) and prints its path.
# EXERCISE_BIN names one already built (the exercises' own tests run this script with theirs).
build() {
  if [ -n "${EXERCISE_BIN:-}" ]; then echo "$EXERCISE_BIN"; return; fi
  if ! cargo build --quiet --locked -p exercises --bin exercise >&2; then
    echo "exercise.sh: the exercises do not compile (above: the compiler says where)" >&2
    return 1
  fi
  local target
  target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  echo "$target/debug/exercise"
}

check_one() { # N [--solution]
  local bin
  bin=$(build) || return 1
  "$bin" check "$@"
}

check_all() {
  local bin done=0 total=0 line n file title
  bin=$(build) || return 1
  while IFS=$'\t' read -r n file title; do
    total=$((total + 1))
    if "$bin" check "$n" >/dev/null 2>&1; then
      done=$((done + 1))
      line="done     "
    else
      line="to do    "
    fi
    printf '%2d  %s %-26s %s\n' "$n" "$line" "$file" "$title"
  done < <("$bin" list)
  echo
  echo "$done of $total done."
  [ "$done" = "$total" ]
}

# A fingerprint of every exercise file, to notice a save.
fingerprint() { find exercises -name '*.rs' -printf '%p %T@\n' 2>/dev/null | sort | cksum; }

watch() { # [N]
  local last="" now
  while true; do
    now=$(fingerprint)
    if [ "$now" != "$last" ]; then
      last=$now
      clear 2>/dev/null || true
      if [ -n "${1:-}" ]; then check_one "$1" || true; else check_all || true; fi
      echo
      echo "(watching exercises/ for changes; Ctrl-C stops)"
    fi
    sleep 1
  done
}

case "${1:-}" in
  "") check_all ;;
  --watch) [ -n "${2:-}" ] && file_of "$2" >/dev/null; watch "${2:-}" ;;
  --reset)
    file=$(file_of "${2:-}")
    git checkout HEAD -- "$file"
    echo "$file is as shipped again."
    ;;
  --solution) file_of "${2:-}" >/dev/null; check_one "$2" --solution ;;
  -h | --help) usage ;;
  -*) usage ;;
  *) file_of "$1" >/dev/null; check_one "$1" ;;
esac
