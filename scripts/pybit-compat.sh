#!/usr/bin/env bash
# Runs Bybit's official Python SDK (pybit, from PyPI, in .venv) against a `keel sim` on free loopback
# ports, changing nothing in pybit but its URLs. Needs a built keel: KEEL=path (default .build/debug/keel).
set -euo pipefail
cd "$(dirname "$0")/.."
keel=${KEEL:-.build/debug/keel}
[ -x "$keel" ] || { echo "pybit-compat: no keel binary at $keel (run swift build first)" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check pybit

log=$(mktemp -d)
"$keel" sim --port 0 >"$log/sim.out" 2>"$log/sim.err" &
sim=$!
cleanup() {
  kill -TERM "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
  rm -rf "$log"
}
trap cleanup EXIT

for _ in $(seq 1 150); do
  grep -q sim_listening "$log/sim.out" 2>/dev/null && break
  sleep 0.2
done
grep -q sim_listening "$log/sim.out" || { echo "pybit-compat: keel sim did not start:" >&2; cat "$log/sim.err" >&2; exit 1; }
port=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$log/sim.out")
control=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_port"])' "$log/sim.out")

echo "==> pybit against keel sim on 127.0.0.1:$port (control $control)"
timeout 180 .venv/bin/python Tests/Compatibility/pybit_against_sim.py "127.0.0.1:$port" "127.0.0.1:$control"
