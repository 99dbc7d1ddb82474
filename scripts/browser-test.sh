#!/usr/bin/env bash
# The dashboard in a real browser: a `keel sim` and a paper-quoting `keel run` against it on free loopback
# ports (keel demo's setup, with the bot as its own process so the test can restart it), then
# Tests/Browser/dashboard_in_browser.py (Selenium from PyPI in .venv, Debian's chromium and chromedriver,
# headless). Screenshots and the bot's log go to OUT (default artifacts/browser/).
# Needs a built keel: KEEL=path (default .build/debug/keel).
set -euo pipefail
cd "$(dirname "$0")/.."
keel=${KEEL:-.build/debug/keel}
out=${1:-artifacts/browser}
[ -x "$keel" ] || { echo "browser-test: no keel binary at $keel (run swift build first)" >&2; exit 2; }
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
  || { echo "browser-test: needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2; exit 2; }
. scripts/venv.sh
venv_install selenium
. scripts/start-sim.sh

mkdir -p "$out"
start_sim "$keel" || exit 1
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$sim_log/bot.yaml" <<YAML
exchange:
  symbols: [BTCUSDT, ETHUSDT]
  public_url: ws://127.0.0.1:$sim_port/v5/public/linear
  private_url: ws://127.0.0.1:$sim_port/v5/private
  trade_url: ws://127.0.0.1:$sim_port/v5/trade
  rest_url: http://127.0.0.1:$sim_port
monitoring:
  http_port: $http_port
  stale_threshold: 10
  stale_grace: 5
strategy:
  paper_trading: true
  order_levels: 2
  level_spacing_ticks: 10
risk:
  max_consecutive_losses: 0
storage:
  path: $sim_log/keel.sqlite
YAML
echo "==> the dashboard in chromium against keel run + keel sim (http 127.0.0.1:$http_port, sim control $sim_control_port)"
timeout 300 .venv/bin/python Tests/Browser/dashboard_in_browser.py "$keel" "$sim_log/bot.yaml" "$http_port" "$sim_control_port" "$out"
