"""The peer of `keel bench connector`'s market path: Bybit's own Python SDK (pybit) subscribed to the
same orderbook.50 topics of a `keel sim`, writing one NDJSON line per book message to /dev/null.
Latency: from the frame handed to pybit (before its json.loads) to the line written.
    python pybit_connector_peer.py HOST:PORT SYMBOLS SECONDS WARMUP_SECONDS
Prints a JSON object: events, events_per_sec, p50_us, p99_us, p99_9_us, max_us."""
import json, os, sys, time
from pybit import unified_trading
from pybit import _websocket_stream as stream

host, symbols, seconds, warmup = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), float(sys.argv[4])
unified_trading.PUBLIC_WSS = f"ws://{host}/v5/public/{{CHANNEL_TYPE}}"
sink = os.open("/dev/null", os.O_WRONLY)
samples, recording, started = [], [False], [0]

original = stream._WebSocketManager._on_message
def timed(self, message):
    started[0] = time.perf_counter_ns()
    original(self, message)
stream._WebSocketManager._on_message = timed

def on_book(message):
    data = message["data"]
    line = json.dumps({"type": "depth", "symbol": data["s"], "timestamp": message["ts"], "best_bid": data["b"][0] if data["b"] else None,
                       "best_ask": data["a"][0] if data["a"] else None, "last_update_id": data["u"]}) + "\n"
    os.write(sink, line.encode())
    if recording[0]:
        samples.append(time.perf_counter_ns() - started[0])

ws = unified_trading.WebSocket(testnet=False, channel_type="linear")
for symbol in symbols:
    ws.orderbook_stream(depth=50, symbol=symbol, callback=on_book)
time.sleep(warmup)
recording[0] = True
time.sleep(seconds)
recording[0] = False
ws.exit()
samples.sort()
def pct(p):
    return round(samples[min(len(samples) - 1, int(len(samples) * p / 100))] / 1000, 2) if samples else None
print(json.dumps({"events": len(samples), "events_per_sec": round(len(samples) / seconds), "p50_us": pct(50), "p99_us": pct(99),
                  "p99_9_us": pct(99.9), "max_us": round(samples[-1] / 1000, 2) if samples else None}))
