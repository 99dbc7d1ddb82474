#!/usr/bin/env bash
# Keel's backtester against hftbacktest's on the same recording, the same simple quoter and the same models,
# in the same run: one order a side at the touch (amended to the new touch when it moves, at most every 100 ms), 20 ms
# constant order latency, risk-averse queue, no partial fills, maker 0.0002 / taker 0.00055, 0.001 a quote,
# position within ±0.05. Two comparisons:
#   end to end, from the raw recording: hftbacktest's converter + its backtest (timed after a warm-up run, so
#     numba's JIT is not counted) against `keel backtest` on the raw file (no cache);
#   backtest only, as a parameter sweep runs it: hftbacktest on its converted arrays against `keel backtest
#     --cache DIR` replaying the prepared form its first run wrote (that first run is timed too: prepare).
# Keel's times are the best of three runs after a warm-up; each run's own `seconds` (the replay, not the start).
# Last line, one JSON object: keel_seconds, keel_events_per_sec, hftbacktest_seconds, ratio (end to end,
# hftbacktest ÷ keel), keel_prepare_seconds, keel_backtest_seconds, keel_backtest_events_per_sec,
# hftbacktest_backtest_seconds, hftbacktest_rows, hftbacktest_rows_per_sec, backtest_ratio, keel_events,
# keel_fills, keel_fills_prepared, hftbacktest_fills, keel_position, hftbacktest_position, and the fills, position and
# seconds of hftbacktest deciding as Keel's quoter does (after a depth message, at most once per interval; orders
# landing after the latency, answers at once, as Keel's paper venue): hftbacktest_depth_driven_fills, …_position,
# …_seconds. The timed peer decides on a 100 ms timer and hears its answers 20 ms late; on a 100 ms depth stream
# the two deciders differ (see the README's Performance section).
#   bench/compare-backtest.sh [FILE]   (default: ../shared/data/binance-usdm/btcusdt_20240808.gz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
file=${1:-$root/../shared/data/binance-usdm/btcusdt_20240808.gz}
[ -f "$file" ] || { echo "compare-backtest: no such file: $file" >&2; exit 2; }

venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check hftbacktest

echo "building keel (release)…" >&2
(cd "$root" && swift build -c release --product keel >&2)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/compare.yaml" <<'YAML'
strategy:
  model: touch
  touch_offset_ticks: 0
  min_spread_bps: 0
  order_size: 0.001
  tick_size: 0.1
  qty_step: 0.001
  min_qty: 0.001
  quote_interval_ms: 100
  refresh_tolerance_ticks: 0
  max_order_age: 86400
  orders_per_second: 1000
risk:
  max_position: 0.05
  max_drawdown: none
  max_loss: none
  max_consecutive_losses: 0
monitoring:
  stale_threshold: 86400
backtest:
  order_latency_ms: 20
  queue_model: risk_averse
  partial_fills: false
  maker_fee: 0.0002
  taker_fee: 0.00055
YAML
peer_args='{"latency_ns": 20000000, "maker_fee": 0.0002, "taker_fee": 0.00055, "tick": 0.1, "lot": 0.001, "offset": 0, "qty": 0.001, "max_position": 0.05, "interval_ns": 100000000}'

keel=("$root/.build/release/keel" backtest --exchange binance-usdm --config "$work/compare.yaml")
# The best of three runs' own `seconds`; its summary line in best_json.
best_of_three() {
  local best="" line seconds
  for _ in 1 2 3; do
    line=$("$@" 2>/dev/null | tail -n 1)
    seconds=$(printf '%s' "$line" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    if [ -z "$best" ] || "$venv/bin/python" -c "import sys; sys.exit(0 if $seconds < $best else 1)"; then best=$seconds; best_json=$line; fi
  done
}
"${keel[@]}" "$file" > /dev/null   # warm-up: the file in the page cache, as for the peer
best_of_three "${keel[@]}" "$file"
raw_json=$best_json
prepare_json=$("${keel[@]}" --cache "$work/cache" "$file" 2>/dev/null | tail -n 1)   # writes the prepared form
best_of_three "${keel[@]}" --cache "$work/cache" "$file"
prepared_json=$best_json
peer_json=$("$venv/bin/python" "$here/hftbacktest_backtest.py" "$file" "$peer_args" 2>/dev/null | tail -n 1)
# The same quoter deciding as Keel's does — after a depth message, at most once per interval — with Keel's
# paper venue's latency model (one way: the order takes 20 ms to land, its answers none): for the fills.
mirror_args=${peer_args%\}}', "response_ns": 0, "mode": "depth"}'
mirror_json=$("$venv/bin/python" "$here/hftbacktest_backtest.py" "$file" "$mirror_args" 2>/dev/null | tail -n 1)

"$venv/bin/python" - "$raw_json" "$prepare_json" "$prepared_json" "$peer_json" "$mirror_json" <<'PY'
import json, sys
raw, prepare, prepared, peer, mirror = (json.loads(argument) for argument in sys.argv[1:6])
peer_total = peer["convert_seconds"] + peer["backtest_seconds"]
print(f"keel backtest, raw file (gunzip → feed → strategy → venue): {raw['seconds']*1e3:8.1f} ms  {raw['events']:,} events "
      f"({raw['events_per_sec']:,.0f}/s)  {raw['fills']} fills  position {raw['position']}")
print(f"keel backtest --cache, first run (also writes the form):   {prepare['seconds']*1e3:8.1f} ms")
print(f"keel backtest --cache, prepared form:                      {prepared['seconds']*1e3:8.1f} ms  "
      f"({prepared['events_per_sec']:,.0f} events/s)  {prepared['fills']} fills  position {prepared['position']}")
print(f"hftbacktest convert:                                       {peer['convert_seconds']*1e3:8.1f} ms  {peer['rows']:,} rows")
print(f"hftbacktest backtest (converted arrays):                   {peer['backtest_seconds']*1e3:8.1f} ms  "
      f"({peer['rows'] / peer['backtest_seconds']:,.0f} rows/s)  {peer['fills']} fills  position {peer['position']}")
print(f"hftbacktest, deciding after depth as keel does, answers without latency: {mirror['backtest_seconds']*1e3:6.1f} ms  "
      f"{mirror['fills']} fills  position {mirror['position']}")
print(f"end to end, hftbacktest ÷ keel: {peer_total / raw['seconds']:.2f}x;  "
      f"backtest only (prepared form vs converted arrays): {peer['backtest_seconds'] / prepared['seconds']:.2f}x")
print(json.dumps({
    "keel_seconds": raw["seconds"], "keel_events_per_sec": raw["events_per_sec"], "hftbacktest_seconds": round(peer_total, 4),
    "ratio": round(peer_total / raw["seconds"], 2),
    "keel_prepare_seconds": prepare["seconds"], "keel_backtest_seconds": prepared["seconds"],
    "keel_backtest_events_per_sec": prepared["events_per_sec"], "hftbacktest_backtest_seconds": peer["backtest_seconds"],
    "hftbacktest_rows": peer["rows"], "hftbacktest_rows_per_sec": round(peer["rows"] / peer["backtest_seconds"]),
    "backtest_ratio": round(peer["backtest_seconds"] / prepared["seconds"], 3),
    "keel_events": raw["events"], "keel_fills": raw["fills"], "keel_fills_prepared": prepared["fills"], "hftbacktest_fills": peer["fills"],
    "keel_position": raw["position"], "hftbacktest_position": peer["position"],
    "hftbacktest_depth_driven_fills": mirror["fills"], "hftbacktest_depth_driven_position": mirror["position"],
    "hftbacktest_depth_driven_seconds": mirror["backtest_seconds"],
}))
PY
