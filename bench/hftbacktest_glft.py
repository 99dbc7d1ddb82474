"""hftbacktest's published GLFT market-making example (examples/GLFT Market Making Model and Grid Trading.ipynb,
the version with adj1/adj2) on one Binance USD-M recording, for the README's table beside `keel backtest`.

The example as published, every 100 ms: the deepest trade's distance from the previous mid (arrival depth) and
the mid's change are recorded; every 5 s, A and k are fitted to the arrival depths of the window (log-linear
regression over up to 70 half-tick bins) and σ is the std of the mid's changes × √10; then
c1 = 1/(ξδ)·ln(1 + ξδ/k), c2 = √(γ/(2Aδk)·(1 + ξδ/k)^(k/(ξδ)+1)), half-spread = (c1 + δ/2·c2·σ)·adj1,
skew = c2·σ·adj2, one post-only order a side at round(mid − skew·q ∓ half-spread), never inside the touch.
γ = ξ = 0.05, δ = 1, adj1 = 1, adj2 = 0.05 as published.

Changed, and why: the window is WINDOW_S seconds (published: 10 minutes) since the shared capture is under six
minutes long; the order size, position limit, latency, queue and fees are the ones `bench/strategy-variants.sh`
gives Keel (0.001, ±0.05, 20 ms constant, risk-averse queue, no partial fills, maker 0.0002 / taker 0.00055).

Prints one JSON line: fills, maker_share, fees, net_pnl, max_drawdown, quote_uptime, markouts {1s, 5s, 30s}
(bp of the fill price, positive good for the maker, against the mid 1 / 5 / 30 s later).
"""
import json
import sys

import numpy as np
from numba import njit

from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest, BUY, SELL, GTX, LIMIT, BUY_EVENT
from hftbacktest.data.utils import binancefutures


@njit
def intensity(arrival_depth, out):
    max_tick = 0
    for depth in arrival_depth:
        if not np.isfinite(depth):
            continue
        tick = round(depth / 0.5) - 1
        if tick < 0 or tick >= len(out):
            continue
        out[:tick] += 1
        max_tick = max(max_tick, tick)
    return out[:max_tick]


@njit
def regression(x, y):
    sx, sy, sx2, sxy, w = np.sum(x), np.sum(y), np.sum(x ** 2), np.sum(x * y), len(x)
    slope = (w * sxy - sx * sy) / (w * sx2 - sx ** 2)
    return slope, (sy - slope * sx) / w


@njit
def coefficients(xi, gamma, delta, a, k):
    c1 = 1 / (xi * delta) * np.log(1 + xi * delta / k)
    c2 = np.sqrt(gamma / (2 * a * delta * k) * ((1 + xi * delta / k) ** (k / (xi * delta) + 1)))
    return c1, c2


@njit
def glft(hbt, window, qty, max_position, log):
    tick_size = hbt.depth(0).tick_size
    n = 100_000
    arrival_depth = np.full(n, np.nan, np.float64)
    mid_change = np.full(n, np.nan, np.float64)
    bins = np.zeros(500, np.float64)
    ticks = np.arange(len(bins)) + 0.5
    a, k, sigma = np.nan, np.nan, np.nan
    gamma, delta, adj1, adj2 = 0.05, 1.0, 1.0, 0.05
    mid = np.nan
    t = 0
    while hbt.elapse(100_000_000) == 0 and t < n:
        if not np.isnan(mid):
            deepest = -np.inf
            for trade in hbt.last_trades(0):
                price_tick = trade.px / tick_size
                if trade.ev & BUY_EVENT == BUY_EVENT:
                    deepest = max(price_tick - mid, deepest)
                else:
                    deepest = max(mid - price_tick, deepest)
            arrival_depth[t] = deepest
        hbt.clear_last_trades(0)
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        position = hbt.position(0)
        orders = hbt.orders(0)
        best_bid, best_ask = depth.best_bid_tick, depth.best_ask_tick
        previous = mid
        mid = (best_bid + best_ask) / 2.0
        mid_change[t] = mid - previous
        if t % 50 == 0 and t >= window - 1:
            bins[:] = 0
            lam = intensity(arrival_depth[t + 1 - window:t + 1], bins)
            if len(lam) > 2:
                lam = lam[:70] / (window / 10)
                slope, intercept = regression(ticks[:len(lam)], np.log(lam))
                a, k = np.exp(intercept), -slope
            sigma = np.nanstd(mid_change[t + 1 - window:t + 1]) * np.sqrt(10)
        c1, c2 = coefficients(gamma, gamma, delta, a, k)
        half_spread = (c1 + delta / 2 * c2 * sigma) * adj1
        skew = c2 * sigma * adj2
        reservation = mid - skew * position / qty
        bid = np.minimum(np.round(reservation - half_spread), best_bid) * tick_size
        ask = np.maximum(np.round(reservation + half_spread), best_ask) * tick_size
        values = orders.values()
        while values.has_next():
            order = values.get()
            if order.cancellable and ((order.side == BUY and order.price != bid) or (order.side == SELL and order.price != ask)):
                hbt.cancel(0, order.order_id, False)
        quoted = 0
        if position < max_position - 1e-12 and np.isfinite(bid):
            quoted += 1
            if round(bid / tick_size) not in orders:
                hbt.submit_buy_order(0, round(bid / tick_size), bid, qty, GTX, LIMIT, False)
        if position > -max_position + 1e-12 and np.isfinite(ask):
            quoted += 1
            if round(ask / tick_size) not in orders:
                hbt.submit_sell_order(0, round(ask / tick_size), ask, qty, GTX, LIMIT, False)
        state = hbt.state_values(0)
        log[t, 0] = mid * tick_size
        log[t, 1] = state.position
        log[t, 2] = state.balance
        log[t, 3] = state.fee
        log[t, 4] = state.trading_volume
        log[t, 5] = state.trading_value
        log[t, 6] = quoted
        t += 1
    return t


def main():
    path = sys.argv[1]
    window_s = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    data = binancefutures.convert(path, buffer_size=5_000_000)
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(20_000_000, 20_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.00055)
        .tick_size(0.1)
        .lot_size(0.001)
        .last_trades_capacity(10_000)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    log = np.zeros((100_000, 7))
    steps = glft(hbt, int(window_s * 10), 0.001, 0.05, log)
    hbt.close()
    log = log[:steps]
    mids, position, balance, fee, volume, value = (log[:, i] for i in range(6))
    equity = balance + position * mids - fee
    drawdown = float(np.max(np.maximum.accumulate(equity) - equity))
    # Fills, step by step: the volume traded in a step at its average price, on the side the position moved.
    fills = []
    for i in range(1, steps):
        traded = volume[i] - volume[i - 1]
        if traded > 1e-12:
            side = 1 if position[i] > position[i - 1] else -1
            fills.append((i, side, (value[i] - value[i - 1]) / traded))
    markouts = {}
    for name, ahead in (("1s", 10), ("5s", 50), ("30s", 300)):
        values = [side * (mids[i + ahead] - price) / price * 1e4 for i, side, price in fills if i + ahead < steps]
        markouts[name] = {"all": round(float(np.mean(values)), 2) if values else None, "fills": len(values)}
    warm = int(window_s * 10)
    print(json.dumps({"fills": len(fills), "maker_share": 1.0, "fees": round(float(fee[-1]), 8),
                      "net_pnl": round(float(equity[-1]), 8), "max_drawdown": round(drawdown, 8),
                      "quote_uptime": round(float(np.mean(log[warm:, 6] == 2)), 6) if steps > warm else 0.0,
                      "window_s": window_s, "markouts": markouts}))


if __name__ == "__main__":
    main()
