"""Bybit's official SDK, pybit, against `keel sim`, changing nothing but the URLs.

Usage: pybit_against_sim.py HOST:PORT CONTROL_HOST:CONTROL_PORT
Signed REST orders (create, amend, open orders, cancel, cancel-all, market fill, positions,
wallet), tickers, executions, order history, API key and account info, coin info, closed PnL,
categories the sim does not simulate (empty lists), a wrong secret (retCode 10004), public streams (orderbook snapshot then contiguous
deltas, trades), private streams (order, execution, position, wallet) and the trade stream.
Prints one line per check and `N passed, N failed`; exits non-zero on any failure.
"""
import json
import sys
import threading
import time


import pybit._websocket_trading as websocket_trading
import pybit.unified_trading as unified_trading
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP, WebSocket, WebSocketTrading

from checks import check, control_call as control_api, finish, wait_for

KEY, SECRET = "keel-demo-key", "keel-demo-secret"
host, control = sys.argv[1], sys.argv[2]

# The only change from talking to Bybit: where the SDK connects.
unified_trading.PUBLIC_WSS = f"ws://{host}/v5/public/{{CHANNEL_TYPE}}"
unified_trading.PRIVATE_WSS = f"ws://{host}/v5/private"
websocket_trading.TRADE_WSS = f"ws://{host}/v5/trade"


def session(secret=SECRET):
    http = HTTP(api_key=KEY, api_secret=secret, max_retries=1, retry_delay=0)
    http.endpoint = f"http://{host}"
    return http


http = session()
check("server time", int(http.get_server_time()["result"]["timeSecond"]) > 1_600_000_000)
instrument = http.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"][0]
check("instrument tick", instrument["priceFilter"]["tickSize"] == "0.10", instrument["priceFilter"])
wait_for(lambda: http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)["result"]["b"])
book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)["result"]
check("orderbook", len(book["b"]) == 5 and len(book["a"]) == 5 and float(book["b"][0][0]) < float(book["a"][0][0]), book)
far = f"{float(book['b'][0][0]) - 1000:.2f}"

# Public streams: a snapshot, then deltas whose u increases by one; pybit's own merged book must
# equal the simulator's truth once the flow is paused.
public = WebSocket(testnet=False, channel_type="linear")
book_events, latest, trades = [], {}, []


def on_book(message):
    # pybit hands every callback the same dict, merged in place: record what this call saw.
    book_events.append((message["type"], message["data"]["u"]))
    latest["book"] = message["data"]


public.orderbook_stream(50, "BTCUSDT", on_book)
public.trade_stream("BTCUSDT", trades.append)
check("orderbook stream", wait_for(lambda: len(book_events) > 20))
check("first is a snapshot", book_events[0][0] == "snapshot", book_events[0])
ids = [u for _, u in book_events[:20]]
check("u contiguous", all(b == a + 1 for a, b in zip(ids, ids[1:])), ids)
check("trade stream", wait_for(lambda: len(trades) > 0) and trades[0]["data"][0]["s"] == "BTCUSDT")


def control_call(method, path, body=None):
    return control_api(control, method, path, body)


control_call("POST", "/sim/flow", {"paused": True})
time.sleep(0.5)
truth = control_call("GET", "/sim/book?symbol=BTCUSDT&depth=50")
mine = latest["book"]
check("pybit book equals truth (bids)", sorted(map(tuple, mine["b"]), key=lambda l: -float(l[0])) == [tuple(l) for l in truth["bids"]])
check("pybit book equals truth (asks)", sorted(map(tuple, mine["a"]), key=lambda l: float(l[0])) == [tuple(l) for l in truth["asks"]])
check("pybit u equals truth", mine["u"] == truth["topics"]["orderbook.50.BTCUSDT"], (mine["u"], truth["topics"]))
control_call("POST", "/sim/flow", {"paused": False})

# Private streams.
private = WebSocket(testnet=False, channel_type="private", api_key=KEY, api_secret=SECRET)
orders, executions, positions, wallets = [], [], [], []
private.order_stream(orders.append)
private.execution_stream(executions.append)
private.position_stream(positions.append)
private.wallet_stream(wallets.append)
time.sleep(0.3)

# Signed REST order entry.
created = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010",
                           price=far, orderLinkId="pybit-1")
order_id = created["result"]["orderId"]
check("place order", created["retCode"] == 0 and created["result"]["orderLinkId"] == "pybit-1", created)
amended = http.amend_order(category="linear", symbol="BTCUSDT", orderId=order_id, qty="0.020")
check("amend order", amended["retCode"] == 0, amended)
open_orders = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
check("open orders", [o["orderId"] for o in open_orders] == [order_id] and open_orders[0]["qty"] == "0.020", open_orders)
check("cancel order", http.cancel_order(category="linear", symbol="BTCUSDT", orderId=order_id)["retCode"] == 0)
try:
    http.cancel_order(category="linear", symbol="BTCUSDT", orderId=order_id)
    check("cancel twice is 110001", False)
except InvalidRequestError as error:
    check("cancel twice is 110001", error.status_code == 110001, error.status_code)
try:
    http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010", price=far, orderLinkId="pybit-1")
    check("duplicate orderLinkId is 110072", False)
except InvalidRequestError as error:
    check("duplicate orderLinkId is 110072", error.status_code == 110072, error.status_code)

filled = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.030", orderLinkId="pybit-mkt")
check("market order", filled["retCode"] == 0, filled)
check("order stream shows Filled", wait_for(lambda: any(o["orderLinkId"] == "pybit-mkt" and o["orderStatus"] == "Filled" for m in orders for o in m["data"])))
check("execution stream", wait_for(lambda: sum(float(e["execQty"]) for m in executions for e in m["data"] if e["orderLinkId"] == "pybit-mkt") >= 0.03 - 1e-9))
check("position stream", wait_for(lambda: any(p["symbol"] == "BTCUSDT" and p["size"] == "0.030" for m in positions for p in m["data"])))
check("wallet stream", wait_for(lambda: len(wallets) > 0))
position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
check("position over REST", position["size"] == "0.030" and position["side"] == "Buy", position)
wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
check("wallet over REST", wallet["coin"][0]["coin"] == "USDT", wallet)
http.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Limit", qty="0.010", price="999999.00")
cancelled = http.cancel_all_orders(category="linear", symbol="BTCUSDT")
check("cancel all", cancelled["result"]["success"] == "1" and len(cancelled["result"]["list"]) == 1, cancelled)

# The endpoints general-purpose clients read at start or on demand, consistent with the state above.
ticker = http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
check("tickers", ticker["symbol"] == "BTCUSDT" and float(ticker["bid1Price"]) < float(ticker["ask1Price"]), ticker)
check("tickers: spot is an empty list", http.get_tickers(category="spot")["result"]["list"] == [])
check("instruments: inverse is an empty list", http.get_instruments_info(category="inverse")["result"]["list"] == [])
check("instruments: option is an empty list", http.get_instruments_info(category="option", baseCoin="BTC")["result"]["list"] == [])
executions = http.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
check("executions are the account's fills", abs(sum(float(e["execQty"]) for e in executions if e["orderLinkId"] == "pybit-mkt") - 0.03) < 1e-9, executions[:2])
history = {o["orderLinkId"]: o["orderStatus"] for o in http.get_order_history(category="linear", symbol="BTCUSDT")["result"]["list"]}
check("order history holds the ended orders", history.get("pybit-mkt") == "Filled" and history.get("pybit-1") == "Cancelled", history)
key_info = http.get_api_key_information()["result"]
check("query-api: the key, never the secret", key_info["apiKey"] == KEY and SECRET not in json.dumps(key_info), key_info.get("apiKey"))
check("account info", http.get_account_info()["result"]["unifiedMarginStatus"] in (3, 4, 5, 6))
coin = http.get_coin_info(coin="USDT")["result"]["rows"][0]
check("coin info", coin["coin"] == "USDT" and len(coin["chains"]) > 0, coin)
http.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.030", orderLinkId="pybit-close")
closed = wait_for(lambda: len(http.get_closed_pnl(category="linear", symbol="BTCUSDT")["result"]["list"]) > 0)
closed_list = http.get_closed_pnl(category="linear", symbol="BTCUSDT")["result"]["list"]
check("closed pnl after closing the position", closed and abs(sum(float(c["closedSize"]) for c in closed_list) - 0.03) < 1e-9, closed_list[:2])

try:
    session("wrong-secret").get_positions(category="linear", symbol="BTCUSDT")
    check("wrong secret is 10004", False)
except InvalidRequestError as error:
    check("wrong secret is 10004", error.status_code == 10004, error.status_code)

# The order-entry WebSocket. pybit (5.x) sends a request and only then registers its callback
# (`_send_order_operation`: `ws.send`, then `_set_callback`): an answer from loopback can beat the
# registration and pybit drops it ("unregistered reqId"). So up to three orders, each its own id; the
# first ack that reaches the callback is checked.
trading = WebSocketTrading(testnet=False, api_key=KEY, api_secret=SECRET)
acks = []
done = threading.Event()
for attempt in range(3):
    trading.place_order(lambda message: (acks.append(message), done.set()), category="linear", symbol="BTCUSDT",
                        side="Sell", orderType="Limit", qty="0.010", price="999999.00", orderLinkId=f"pybit-ws-{attempt}")
    if done.wait(5):
        break
check("trade stream ack", done.is_set() and acks[0]["retCode"] == 0 and acks[0]["data"]["orderLinkId"].startswith("pybit-ws-"), acks)

for stream in (public, private, trading):
    stream.exit()
finish()
