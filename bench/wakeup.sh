#!/usr/bin/env bash
# The floor under every latency tail Keel measures on this machine: what a bare thread-to-thread handoff
# costs here, with no Keel code in it (bench/wakeup.c: two threads bouncing a byte through two pipes).
# Twice: the writer asleep between round trips (the threads share a vCPU), then spinning (the echo thread
# is woken on the other vCPU, as the bot's reader is while its peer runs). Bounded: ROUNDS round trips,
# one every GAP_US (defaults 10,000 and 1,000 µs: about 10 s a mode).
#   bench/wakeup.sh [ROUNDS] [GAP_US]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rounds="${1:-10000}"
gap="${2:-1000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${CC:-clang}" -O2 -pthread -o "$work/wakeup" "$here/wakeup.c"
"$work/wakeup" "$rounds" "$gap" sleep
"$work/wakeup" "$rounds" "$gap" spin
