#!/usr/bin/env bash
# Passes Keel's tests on a fresh Debian machine: installs what the tests need, runs Bybit's pybit SDK
# against `keel sim` (Python venv in .venv), then runs `swift test`.
# Needs Swift 6.2+ on PATH and root (or sudo) for apt-get. Tests read ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

# zlib: reading .gz recordings (Storage); gzip: test fixtures; python3-venv: the peer-client venv;
# prometheus: its promtool checks the bot's scraped /metrics (a test requires it: KEEL_REQUIRE_PROMTOOL).
packages=(zlib1g-dev gzip python3-venv prometheus)
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "==> installing Debian packages: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null

if [ ! -d ../shared/data ]; then
  echo "error: ../shared/data not found beside the checkout; the tests read the shared captures from there" >&2
  exit 2
fi

echo "==> swift build"
swift build

# A client nobody here wrote: Bybit's official SDK against the simulator.
bash scripts/pybit-compat.sh

echo "==> swift test"
KEEL_REQUIRE_PROMTOOL=1 swift test
