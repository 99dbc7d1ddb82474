#!/usr/bin/env bash
# The dashboard in a real browser: starts `keel demo` on free loopback ports, runs
# Tests/Browser/dashboard_in_browser.py (Selenium from PyPI in .venv, Debian's chromium and chromedriver,
# headless) against it, stops the demo. Screenshots and the demo's log go to artifacts/browser/.
# Needs a built keel: KEEL=path (default .build/debug/keel).
set -euo pipefail
cd "$(dirname "$0")/.."
keel=${KEEL:-.build/debug/keel}
out=${1:-artifacts/browser}
[ -x "$keel" ] || { echo "browser-test: no keel binary at $keel (run swift build first)" >&2; exit 2; }
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
  || { echo "browser-test: needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2; exit 2; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check selenium

mkdir -p "$out"
work=$(mktemp -d)
"$keel" demo --http-port 0 --storage-path "$work/demo.sqlite" > "$work/banner" 2> "$out/demo.log" &
demo=$!
trap 'kill -INT $demo 2>/dev/null; wait $demo 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  grep -q "sim stats" "$work/banner" 2>/dev/null && break
  kill -0 $demo 2>/dev/null || { echo "browser-test: keel demo exited; its log:" >&2; tail -20 "$out/demo.log" >&2; exit 1; }
  sleep 0.1
done
http_port=$(sed -n 's|.*dashboard *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/banner")
control_port=$(sed -n 's|.*sim stats *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/banner")
[ -n "$http_port" ] && [ -n "$control_port" ] || { echo "browser-test: no ports in keel demo's banner:" >&2; cat "$work/banner" >&2; exit 1; }
echo "==> the dashboard in chromium against keel demo (http 127.0.0.1:$http_port, sim control $control_port)"
timeout 300 .venv/bin/python Tests/Browser/dashboard_in_browser.py "$http_port" "$control_port" "$out"
