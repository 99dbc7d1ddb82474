#!/usr/bin/env bash
# Runs clients nobody here wrote against `keel sim` on free loopback ports, changing nothing in them but
# their URLs: Bybit's official Python SDK (pybit) against the Bybit sim, and Binance's official USD-M
# futures SDK (binance-sdk-derivatives-trading-usds-futures) against `keel sim --exchange binance-usdm`.
# Both from PyPI, in .venv. Needs a built keel: KEEL=path (default .build/debug/keel).
set -euo pipefail
cd "$(dirname "$0")/.."
keel=${KEEL:-.build/debug/keel}
. scripts/start-sim.sh
[ -x "$keel" ] || { echo "peer-clients: no keel binary at $keel (run swift build first)" >&2; exit 2; }

. scripts/venv.sh
venv_install pybit binance-sdk-derivatives-trading-usds-futures

# run_against NAME SCRIPT [sim arguments…]: a fresh sim, the client's script against it, the sim stopped.
run_against() {
  local name=$1 script=$2
  shift 2
  start_sim "$keel" "$@" || exit 1
  local port=$sim_port control=$sim_control_port
  echo "==> $name against keel sim $* on 127.0.0.1:$port (control $control)"
  timeout 180 .venv/bin/python "$script" "127.0.0.1:$port" "127.0.0.1:$control"
  stop_sim
}

run_against pybit Tests/Compatibility/pybit_against_sim.py
run_against "Binance's USD-M SDK" Tests/Compatibility/binance_sdk_against_sim.py --exchange binance-usdm
