#!/usr/bin/env bash
# Measures `keel bench feed` and hftbacktest's Binance USD-M converter on the same recording in the
# same run, and prints both figures and the ratio.
#   bench/compare-hftbacktest.sh [FILE]   (default: ../shared/data/binance-usdm/btcusdt_20240808.gz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
file=${1:-$root/../shared/data/binance-usdm/btcusdt_20240808.gz}
[ -f "$file" ] || { echo "compare-hftbacktest: no such file: $file" >&2; exit 2; }

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check hftbacktest

echo "building keel (release)…" >&2
(cd "$root" && swift build -c release --product keel >&2)

keel_json=$("$root/.build/release/keel" bench feed --exchange binance-usdm "$file" | tail -n 1)
peer_json=$("$venv/bin/python" "$here/hftbacktest_feed.py" "$file" | tail -n 1)

"$venv/bin/python" - "$keel_json" "$peer_json" <<'PY'
import json, sys
keel, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
peer_parse = peer["seconds"] - peer["gunzip_seconds"]
print(f"file: {keel['bytes']/1e6:.1f} MB decompressed, {keel['messages']} messages")
print(f"keel bench feed (parse + exact book, in memory): {keel['seconds']*1e3:8.1f} ms  "
      f"{keel['mb_per_sec']:7.1f} MB/s  {keel['messages_per_sec']:>10,.0f} msg/s  {keel['ns_per_message']:.0f} ns/msg")
print(f"hftbacktest convert (gunzip + parse to rows):    {peer['seconds']*1e3:8.1f} ms  "
      f"{peer['mb_per_sec']:7.1f} MB/s  {peer['messages_per_sec']:>10,.0f} msg/s")
print(f"  of which gunzip alone:                          {peer['gunzip_seconds']*1e3:8.1f} ms")
print(f"ratio, whole converter / keel:           {peer['seconds']/keel['seconds']:.1f}x")
print(f"ratio, converter less its gunzip / keel: {peer_parse/keel['seconds']:.1f}x")
print(json.dumps({"keel": keel, "hftbacktest": peer,
                  "ratio": round(peer['seconds']/keel['seconds'], 1),
                  "ratio_without_gunzip": round(peer_parse/keel['seconds'], 1)}))
PY
