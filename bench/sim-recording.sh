#!/usr/bin/env bash
# Records the sim's default (calibrated) market the way a real one is recorded, for the README's evidence:
# `keel sim --exchange binance-usdm --seed SEED` on a free loopback port, `keel record --exchange binance-usdm`
# against it for DURATION, the sim stopped. Prints the recording's path on stdout (its keel record summary
# on stderr). Then, for the table: bench/strategy-variants.sh --hftbacktest PATH; for the market's own figures
# beside the capture's: keel calibrate --exchange binance-usdm PATH.
#   bench/sim-recording.sh [--duration 30m] [--seed 1] [--out DIR] [--keel BIN]
# (default out: a new temporary directory; --keel: a keel binary to use instead of building one — a copy, so
# a rebuild during a long recording does not replace the running program)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
duration=30m
seed=1
out=""
keel=""
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keel) keel=$2; shift 2 ;;
    *) echo "sim-recording: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

if [ -z "$keel" ]; then
  echo "building keel (release)…" >&2
  (cd "$root" && swift build -c release --product keel >&2)
  keel="$root/.build/release/keel"
fi
. "$root/scripts/start-sim.sh"

start_sim "$keel" --exchange binance-usdm --seed "$seed" || exit 1
port=$sim_port

echo "recording keel sim (seed $seed) on 127.0.0.1:$port for $duration into $out…" >&2
"$keel" record --exchange binance-usdm --symbols BTCUSDT --out "$out" --public-url "ws://127.0.0.1:$port" \
  --rest-url "http://127.0.0.1:$port" --duration "$duration" 2>"$sim_log/record.err" | tail -n 1 >&2
ls "$out"/BTCUSDT_*.gz
