#!/usr/bin/env bash
# The strategy variants of issue 17 side by side on one recording, with `keel backtest`: fixed spread, GLFT,
# GLFT + fair value from the book's imbalance, GLFT + fair value + toxicity response; and the last of these
# again on an account with a 0.005 % maker rebate instead of the 0.02 % fee (what a market-maker programme
# pays: the same quotes, another fee schedule). Same venue for all:
# 20 ms order latency, risk-averse queue, maker 0.0002 / taker 0.00055 (the defaults), 0.001 a quote,
# position within ±0.05, no halts on losing streaks (the table compares the quotes, not the kill switch).
# Prints a Markdown table (README's evidence) and, last, one JSON object with every variant's summary.
# --hftbacktest adds hftbacktest's published GLFT example on the same file, venue and fees
# (bench/hftbacktest_glft.py; Binance USD-M, one file; installs hftbacktest into bench/.venv).
#   bench/strategy-variants.sh [--hftbacktest] [--exchange binance-usdm|bybit] [FILE...]
#     (default: binance-usdm ../shared/data/binance-usdm/btcusdt_20240808.gz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
exchange=binance-usdm
peer=false
if [ "${1:-}" = "--hftbacktest" ]; then peer=true; shift; fi
if [ "${1:-}" = "--exchange" ]; then exchange=$2; shift 2; fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$root/../shared/data/binance-usdm/btcusdt_20240808.gz")
for file in "${files[@]}"; do [ -f "$file" ] || { echo "strategy-variants: no such file: $file" >&2; exit 2; }; done

echo "building keel (release)…" >&2
(cd "$root" && swift build -c release --product keel >&2)
keel="$root/.build/release/keel"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
variants=(fixed glft glft+fair_value glft+fair_value+toxicity glft+fair_value+toxicity,_maker_rebate_0.005%)
for variant in "${variants[@]}"; do
  case $variant in
    fixed) model=$'  model: fixed\n  fixed_spread_bps: 6' ;;
    glft) model=$'  model: glft' ;;
    glft+fair_value) model=$'  model: glft\n  fair_value: imbalance' ;;
    glft+fair_value+toxicity) model=$'  model: glft\n  fair_value: imbalance\n  toxicity_bps: -1\n  toxicity_action: widen' ;;
    *maker_rebate*) model=$'  model: glft\n  fair_value: imbalance\n  toxicity_bps: -1\n  toxicity_action: widen\n  maker_fee: -0.00005' ;;
  esac
  cat > "$work/$variant.yaml" <<YAML
strategy:
$model
  order_size: 0.001
  tick_size: 0.1
  qty_step: 0.001
  min_qty: 0.001
risk:
  max_position: 0.05
  max_consecutive_losses: 0
backtest:
  order_latency_ms: 20
  queue_model: risk_averse
YAML
  "$keel" backtest --exchange "$exchange" --config "$work/$variant.yaml" "${files[@]}" 2>/dev/null | tail -n 1 > "$work/$variant.json"
done

if $peer; then
  [ "$exchange" = binance-usdm ] && [ ${#files[@]} -eq 1 ] || { echo "strategy-variants: --hftbacktest takes one Binance USD-M file" >&2; exit 2; }
  venv="$here/.venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check hftbacktest
  "$venv/bin/python" "$here/hftbacktest_glft.py" "${files[0]}" 2>/dev/null | tail -n 1 > "$work/hftbacktest GLFT example.json"
  variants+=("hftbacktest GLFT example")
fi

python3 - "$work" "${variants[@]}" <<'PY'
import json, sys
work, variants = sys.argv[1], sys.argv[2:]
rows = {v: json.load(open(f"{work}/{v}.json")) for v in variants}
for s in rows.values():
    s.setdefault("maker_fills", round(s["fills"] * s.get("maker_share", 1)))
def mark(s, h):
    value = s.get("markouts", {}).get(h, {}).get("all")
    return "–" if value is None else f"{value:+.2f}"
print("| variant | net PnL after fees | fees | fills | maker share | markout 1 s | 5 s | 30 s (bp) | quote uptime | max drawdown |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for v in variants:
    s = rows[v]
    share = s["maker_fills"] / s["fills"] if s["fills"] else 0
    print(f"| {v.replace('+', ' + ').replace('_', ' ')} | {float(s['net_pnl']):+.4f} | {float(s['fees']):.4f} | {s['fills']} | "
          f"{share:.0%} | {mark(s, '1s')} | {mark(s, '5s')} | {mark(s, '30s')} | {float(s['quote_uptime']):.1%} | {float(s['max_drawdown']):.4f} |")
print(json.dumps(rows))
PY
