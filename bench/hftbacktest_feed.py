"""Times hftbacktest's Binance USD-M converter on a recording; prints one JSON line.

Run by bench/compare-hftbacktest.sh inside its virtual environment. The converter reads the
gzip file itself, so the time of decompressing alone is measured too and reported apart.
"""
import gzip
import json
import sys
import time

from hftbacktest.data.utils import binancefutures


def best_of(runs, fn):
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    raw = gzip.open(path, "rb").read()
    lines = raw.count(b"\n")
    binancefutures.convert(path, buffer_size=5_000_000)  # warm-up: numba/numpy imports and JIT
    convert_s, rows = best_of(runs, lambda: binancefutures.convert(path, buffer_size=5_000_000))
    gunzip_s, _ = best_of(runs, lambda: sum(1 for _ in gzip.open(path, "r")))
    print(json.dumps({
        "peer": "hftbacktest.data.utils.binancefutures.convert",
        "messages": lines,
        "bytes": len(raw),
        "rows": len(rows),
        "seconds": round(convert_s, 4),
        "gunzip_seconds": round(gunzip_s, 4),
        "mb_per_sec": round(len(raw) / convert_s / 1e6, 2),
        "messages_per_sec": round(lines / convert_s),
    }))


if __name__ == "__main__":
    main()
