"""Binance's official USD-M futures SDK (binance-sdk-derivatives-trading-usds-futures) against
`keel sim --exchange binance-usdm`, changing nothing but the URLs.

Usage: binance_sdk_against_sim.py HOST:PORT CONTROL_HOST:CONTROL_PORT
REST: server time, exchange info (filters), order book, klines, an unknown symbol's error. Streams: the
SDK's diff depth stream (at 100 ms) followed into a local book by Binance's documented procedure
(buffer, REST snapshot, drop u < lastUpdateId, first U <= lastUpdateId <= u, then pu == previous u),
which must equal the simulator's truth once the flow is paused; aggregate trades and book tickers arrive.
Prints one line per check and `N passed, N failed`; exits non-zero on any failure.
"""
import asyncio
import sys
import time
from decimal import Decimal

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams
from binance_common.errors import BadRequestError, ClientError
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import DerivativesTradingUsdsFutures
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import KlineCandlestickDataIntervalEnum
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import DiffBookDepthStreamsUpdateSpeedEnum

from checks import check, control_call as control_api, finish

host, control = sys.argv[1], sys.argv[2]


def control_call(method, path, body=None):
    return control_api(control, method, path, body)


def plain(value):
    """A pydantic model (or list of them) as plain data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


# The only change from talking to Binance: where the SDK connects.
client = DerivativesTradingUsdsFutures(
    config_rest_api=ConfigurationRestAPI(base_path=f"http://{host}", timeout=10000, retries=1),
    config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://{host}"),
)
rest = client.rest_api

server_time = plain(rest.check_server_time().data())
check("server time", server_time.get("serverTime", 0) > 1_600_000_000_000, server_time)
info = plain(rest.exchange_information().data())
symbol = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
filters = {f["filterType"]: f for f in symbol["filters"]}
check("exchange info: PRICE_FILTER tick", filters["PRICE_FILTER"]["tickSize"] == "0.10", filters.get("PRICE_FILTER"))
check("exchange info: LOT_SIZE step", filters["LOT_SIZE"]["stepSize"] == "0.001", filters.get("LOT_SIZE"))
check("exchange info: MIN_NOTIONAL", "notional" in filters["MIN_NOTIONAL"], filters.get("MIN_NOTIONAL"))
check("exchange info: status", symbol["status"] == "TRADING", symbol["status"])
depth = plain(rest.order_book(symbol="BTCUSDT", limit=5).data())
check("order book", len(depth["bids"]) == 5 and Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0]) and depth["lastUpdateId"] > 0, depth)
klines = plain(rest.kline_candlestick_data(symbol="BTCUSDT", interval=KlineCandlestickDataIntervalEnum["INTERVAL_1m"].value, limit=5).data())
check("klines", len(klines) >= 1 and len(klines[0]) == 12 and Decimal(klines[0][2]) >= Decimal(klines[0][3]), klines[:1])
try:
    rest.order_book(symbol="NOPEUSDT", limit=5)
    check("unknown symbol is -1121", False)
except (BadRequestError, ClientError) as error:
    check("unknown symbol is -1121", "-1121" in str(error), str(error))


async def follow_depth():
    connection = await client.websocket_streams.create_connection()
    diffs, trades, tickers = [], [], []
    depth_stream = await connection.diff_book_depth_streams(symbol="btcusdt", update_speed=DiffBookDepthStreamsUpdateSpeedEnum["UPDATE_SPEED_100ms"].value)
    depth_stream.on("message", lambda message: diffs.append(plain(message)))
    trade_stream = await connection.aggregate_trade_streams(symbol="btcusdt")
    trade_stream.on("message", lambda message: trades.append(plain(message)))
    ticker_stream = await connection.individual_symbol_book_ticker_streams(symbol="btcusdt")
    ticker_stream.on("message", lambda message: tickers.append(plain(message)))

    async def wait_for(predicate, seconds=15.0):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return predicate()

    check("depth stream", await wait_for(lambda: len(diffs) > 3))
    # Binance's procedure: the snapshot after the stream has started buffering.
    snapshot = plain(rest.order_book(symbol="BTCUSDT", limit=1000).data())
    last = snapshot["lastUpdateId"]
    bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
    asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
    applied, previous, broken, index = 0, None, False, 0

    def apply_pending():
        nonlocal applied, previous, broken, index
        while index < len(diffs):
            event = diffs[index]
            index += 1
            if event["u"] < last:
                continue
            if previous is None:
                if not (event["U"] <= last <= event["u"]):
                    broken = True
                    return
            elif event["pu"] != previous:
                broken = True
                return
            for side, levels in ((bids, event["b"]), (asks, event["a"])):
                for price, qty in levels:
                    if Decimal(qty) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = Decimal(qty)
            previous = event["u"]
            applied += 1

    await wait_for(lambda: (apply_pending(), applied > 20 or broken)[1], 20)
    check("diffs join the snapshot and stay contiguous (pu)", applied > 20 and not broken, (applied, broken))
    control_call("POST", "/sim/flow", {"paused": True})
    truth = control_call("GET", "/sim/book?symbol=BTCUSDT&depth=1000")
    await wait_for(lambda: (apply_pending(), previous == truth["update_id"])[1], 10)
    truth = control_call("GET", "/sim/book?symbol=BTCUSDT&depth=1000")
    apply_pending()
    mine_bids = [[str(p), str(q)] for p, q in sorted(bids.items(), reverse=True)]
    mine_asks = [[str(p), str(q)] for p, q in sorted(asks.items())]
    as_decimal = lambda levels: [[Decimal(p), Decimal(q)] for p, q in levels]
    check("SDK-followed book equals truth (bids)", as_decimal(mine_bids) == as_decimal(truth["bids"]), (mine_bids[:3], truth["bids"][:3]))
    check("SDK-followed book equals truth (asks)", as_decimal(mine_asks) == as_decimal(truth["asks"]), (mine_asks[:3], truth["asks"][:3]))
    check("last u equals truth's update id", previous == truth["update_id"], (previous, truth["update_id"]))
    control_call("POST", "/sim/flow", {"paused": False})
    check("book ticker stream", await wait_for(lambda: len(tickers) > 0) and tickers[0]["s"] == "BTCUSDT", tickers[:1])
    check("aggregate trade stream", await wait_for(lambda: len(trades) > 0) and trades[0]["s"] == "BTCUSDT" and trades[0]["f"] == trades[0]["l"], trades[:1])
    await connection.close_connection(close_session=True)


asyncio.run(follow_depth())
finish()
