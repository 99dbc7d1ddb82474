#!/usr/bin/env bash
# Runs clients nobody here wrote against `keel sim` on free loopback ports, changing nothing in them but
# their URLs: Bybit's official Python SDK (pybit) against the Bybit sim, and Binance's official USD-M
# futures SDK (binance-sdk-derivatives-trading-usds-futures) against `keel sim --exchange binance-usdm`.
# Both from PyPI, in .venv. Needs a built keel: KEEL=path (default .build/debug/keel).
set -euo pipefail
cd "$(dirname "$0")/.."
keel=${KEEL:-.build/debug/keel}
[ -x "$keel" ] || { echo "peer-clients: no keel binary at $keel (run swift build first)" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check pybit binance-sdk-derivatives-trading-usds-futures

log=$(mktemp -d)
sim=""
cleanup() {
  [ -n "$sim" ] && { kill -TERM "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; }
  rm -rf "$log"
}
trap cleanup EXIT

# run_against NAME SCRIPT [sim arguments…]: a fresh sim, the client's script against it, the sim stopped.
run_against() {
  local name=$1 script=$2
  shift 2
  "$keel" sim --port 0 "$@" >"$log/sim.out" 2>"$log/sim.err" &
  sim=$!
  for _ in $(seq 1 150); do
    grep -q sim_listening "$log/sim.out" 2>/dev/null && break
    sleep 0.2
  done
  grep -q sim_listening "$log/sim.out" || { echo "peer-clients: keel sim $* did not start:" >&2; cat "$log/sim.err" >&2; exit 1; }
  local port control
  port=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$log/sim.out")
  control=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_port"])' "$log/sim.out")
  echo "==> $name against keel sim $* on 127.0.0.1:$port (control $control)"
  timeout 180 .venv/bin/python "$script" "127.0.0.1:$port" "127.0.0.1:$control"
  kill -TERM "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
  sim=""
}

run_against pybit Tests/Compatibility/pybit_against_sim.py
run_against "Binance's USD-M SDK" Tests/Compatibility/binance_sdk_against_sim.py --exchange binance-usdm
