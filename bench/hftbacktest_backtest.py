"""hftbacktest's side of bench/compare-backtest.sh: the same simple quoter on the same recording.

Converts the raw Binance USD-M file with hftbacktest's own converter, then backtests with its Rust
backtester through its Python API: one order a side at the touch plus OFFSET ticks, moved in place
(`modify`, an amend, as Keel's quoter does) every INTERVAL ms when the touch moves, constant order latency, risk-averse queue, no partial fills, maker
and taker fees as Keel's config. The strategy is compiled by numba: a warm-up run is made first and not
timed. Prints one JSON line: convert_seconds, backtest_seconds, rows, fills, position.
Arguments beyond the quoter's: "response_ns" (the answers' latency; the order latency when absent) and "mode":
"timer" (the default: decide every INTERVAL) or "depth" (decide after a depth message, at most once per INTERVAL,
as Keel's quoter does).
"""
import json
import sys
import time

import numpy as np
from numba import njit

from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest, BUY, SELL, GTX, LIMIT, NEW
from hftbacktest.data.utils import binancefutures


@njit
def requote(hbt, order_id, offset, qty, max_position):
    """One decision: an order a side at the touch plus OFFSET ticks, moved in place (`modify`, an amend, as
    Keel's quoter does: never two orders a side), within the position limit. Returns the next order id."""
    asset_no = 0
    hbt.clear_inactive_orders(asset_no)
    depth = hbt.depth(asset_no)
    best_bid = depth.best_bid_tick
    best_ask = depth.best_ask_tick
    if best_bid <= 0 or best_ask <= best_bid or best_ask > 1_000_000_000_000:
        return order_id
    tick = depth.tick_size
    bid_tick = best_bid - offset
    ask_tick = best_ask + offset
    position = hbt.position(asset_no)
    have_bid = False
    have_ask = False
    values = hbt.orders(asset_no).values()
    while values.has_next():
        order = values.get()
        if not order.cancellable:
            if order.side == BUY:
                have_bid = True
            else:
                have_ask = True
            continue
        wanted = bid_tick if order.side == BUY else ask_tick
        if order.status == NEW:
            if round(order.price / tick) != wanted:
                hbt.modify(asset_no, order.order_id, wanted * tick, qty, False)
            if order.side == BUY:
                have_bid = True
            else:
                have_ask = True
        else:
            hbt.cancel(asset_no, order.order_id, False)
    if not have_bid and position + qty <= max_position + 1e-12:
        hbt.submit_buy_order(asset_no, order_id, bid_tick * tick, qty, GTX, LIMIT, False)
        order_id += 1
    if not have_ask and position - qty >= -max_position - 1e-12:
        hbt.submit_sell_order(asset_no, order_id, ask_tick * tick, qty, GTX, LIMIT, False)
        order_id += 1
    return order_id


@njit
def quote_touch(hbt, offset, qty, max_position, interval):
    """Decides every INTERVAL on a timer."""
    order_id = 1
    while hbt.elapse(interval) == 0:
        order_id = requote(hbt, order_id, offset, qty, max_position)
    return order_id


@njit
def quote_on_depth(hbt, offset, qty, max_position, interval):
    """Decides as Keel's quoter does: after a depth message (a feed with no trade in it), at most once per INTERVAL."""
    order_id = 1
    last = -interval
    while True:
        code = hbt.wait_next_feed(False, 3_600_000_000_000)
        if code == 1:
            break
        if code != 2:
            continue
        traded = len(hbt.last_trades(0)) > 0
        hbt.clear_last_trades(0)
        now = hbt.current_timestamp
        if traded or now - last < interval:
            continue
        last = now
        order_id = requote(hbt, order_id, offset, qty, max_position)
    return order_id


def backtest(data, args):
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(args["latency_ns"], args.get("response_ns", args["latency_ns"]))
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(args["maker_fee"], args["taker_fee"])
        .tick_size(args["tick"])
        .lot_size(args["lot"])
        .last_trades_capacity(0 if args.get("mode", "timer") == "timer" else 1024)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    start = time.perf_counter()
    if args.get("mode", "timer") == "timer":
        quote_touch(hbt, args["offset"], args["qty"], args["max_position"], args["interval_ns"])
    else:
        quote_on_depth(hbt, args["offset"], args["qty"], args["max_position"], args["interval_ns"])
    elapsed = time.perf_counter() - start
    state = hbt.state_values(0)
    result = {"fills": int(state.num_trades), "position": round(float(state.position), 9), "fee": float(state.fee)}
    hbt.close()
    return elapsed, result


def main():
    path = sys.argv[1]
    args = json.loads(sys.argv[2])
    # Warm-up: imports, numba's JIT of the strategy and of the converter's helpers.
    warm = binancefutures.convert(path, buffer_size=5_000_000)
    backtest(warm, args)
    start = time.perf_counter()
    data = binancefutures.convert(path, buffer_size=5_000_000)
    convert_seconds = time.perf_counter() - start
    backtest_seconds, result = backtest(data, args)
    print(json.dumps({"convert_seconds": round(convert_seconds, 4), "backtest_seconds": round(backtest_seconds, 4),
                      "rows": int(len(data)), **result}))


if __name__ == "__main__":
    main()
