#!/usr/bin/env bash
# Passes Keel's tests on a fresh Debian machine: installs what the tests need, then runs `swift test`.
# Needs Swift 6.2+ on PATH and root (or sudo) for apt-get. Tests read ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(zlib1g-dev gzip)   # zlib: reading .gz recordings (Storage); gzip: test fixtures
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "==> installing Debian packages: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null

if [ ! -d ../shared/data ]; then
  echo "error: ../shared/data not found beside the checkout; the tests read the shared captures from there" >&2
  exit 2
fi

echo "==> swift test"
swift test
