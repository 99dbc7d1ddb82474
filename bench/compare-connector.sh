#!/usr/bin/env bash
# Measures the connector's market path (`keel bench connector`) and the same job done by Bybit's
# Python SDK, pybit, against the same `keel sim` market (1 ms steps, 5 instruments, seed 42), in the
# same run, and prints both and the ratios.
#   bench/compare-connector.sh [SECONDS]   (default 10)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-10}
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check pybit

echo "building keel (release)…" >&2
(cd "$root" && swift build -c release --product keel >&2)
keel="$root/.build/release/keel"

keel_json=$("$keel" bench connector --seconds "$seconds" --symbols 5 | tail -n 1)

# The peer, against a sim with the same market as the bench's.
log=$(mktemp -d)
cat >"$log/sim.json" <<'JSON'
{"step_ms":1,"order_rate_limit":100000000,"ip_request_limit":100000000,"instruments":[
 {"symbol":"SIM0USDT","tick_size":"0.01","qty_step":"0.1","min_qty":"0.1","start_price":100},
 {"symbol":"SIM1USDT","tick_size":"0.01","qty_step":"0.1","min_qty":"0.1","start_price":100},
 {"symbol":"SIM2USDT","tick_size":"0.01","qty_step":"0.1","min_qty":"0.1","start_price":100}]}
JSON
"$keel" sim --port 0 --config "$log/sim.json" >"$log/sim.out" 2>/dev/null &
sim=$!
trap 'kill -TERM $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -rf "$log"' EXIT
for _ in $(seq 1 150); do grep -q sim_listening "$log/sim.out" 2>/dev/null && break; sleep 0.2; done
port=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$log/sim.out")
peer_json=$("$venv/bin/python" "$here/pybit_connector_peer.py" "127.0.0.1:$port" BTCUSDT,ETHUSDT,SIM0USDT,SIM1USDT,SIM2USDT "$seconds" 2 | tail -n 1)

"$venv/bin/python" - "$keel_json" "$peer_json" <<'PY'
import json, sys
keel, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"keel connector (decode + exact book + NDJSON line): {keel['depth_events_per_sec']:.0f} events/s  "
      f"p50 {keel['market_p50_us']} µs  p99 {keel['market_p99_us']} µs  p99.9 {keel['market_p99_9_us']} µs")
print(f"pybit (decode + its book + a top-of-book line):     {peer['events_per_sec']:.0f} events/s  "
      f"p50 {peer['p50_us']} µs  p99 {peer['p99_us']} µs  p99.9 {peer['p99_9_us']} µs")
ratios = {k: round(peer[f"{k}_us"] / keel[f"market_{k}_us"], 1) for k in ("p50", "p99", "p99_9")}
print(f"ratio pybit / keel: p50 {ratios['p50']}x, p99 {ratios['p99']}x, p99.9 {ratios['p99_9']}x")
print(json.dumps({"keel": keel, "pybit": peer, "ratio": ratios}))
PY
