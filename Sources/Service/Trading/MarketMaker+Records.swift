import Execution
import Market
import Runtime
import Storage

/// What the trading loop keeps of what happened: the account's records into storage, metrics and the
/// decision log; position and PnL snapshots.
extension MarketMaker {
    /// The account's records: orders (as they stand, and the step), fills, round trips, rejections.
    func record(_ records: [TradingAccount.Record], now: Int64) {
        for entry in records {
            switch entry {
            case .order(let order, let step, let detail):
                storage?.enqueue(.order(OrderRecord(
                    clientId: order.clientId, run: Self.run(of: order.clientId) ?? runId, symbol: order.symbol, side: order.side, price: order.price,
                    qty: order.qty, filledQty: order.filledQty, averagePrice: order.averagePrice, status: order.status.rawValue,
                    exchangeOrderId: order.exchangeOrderId, reason: order.reason, createdTime: order.createdTime, updatedTime: now)))
                storage?.enqueue(.orderEvent(OrderEventRecord(clientId: order.clientId, time: now, event: step, status: order.status.rawValue,
                                                              price: order.price, qty: order.qty, filledQty: order.filledQty, detail: detail.description)))
            case .fill(let fill):
                storage?.enqueue(.fill(FillRecord(executionId: fill.executionId, clientId: fill.clientId, orderId: fill.orderId,
                                                  run: Self.run(of: fill.clientId) ?? runId, symbol: fill.symbol, side: fill.side,
                                                  price: fill.price, qty: fill.qty, fee: fill.fee, isMaker: fill.isMaker, time: fill.time)))
                metrics.fill(maker: fill.isMaker)
                strategy.onFill(id: fill.executionId, side: fill.side, price: fill.price, time: now)
                count("fills")
                recentFills.append(fill)
                if recentFills.count > 20 { recentFills.removeFirst(recentFills.count - 20) }
                note(now, "fill \(fill.side.rawValue) \(fill.qty) @ \(fill.price) → position \(account.ledger.position)")
                snapshot(now: now)
            case .roundTrip(let pnl):
                strategy.roundTripClosed(pnl: pnl)
                note(now, "round trip closed: \(pnl)")
            case .rejected(let order):
                count("rejected")
                note(now, "order \(order.clientId) rejected: \(order.reason)")
            case .foreign:
                break
            }
        }
    }

    /// Markouts the strategy resolved: stored, and the metrics brought up to date.
    func recordMarkouts(now: Int64) {
        let resolved = strategy.takeResolvedMarkouts()
        guard !resolved.isEmpty else { return }
        for markout in resolved {
            storage?.enqueue(.markout(executionId: markout.id, side: markout.side, horizonSeconds: Int(markout.horizon / 1_000_000_000),
                                      bps: markout.bps, time: now))
        }
        metrics.markouts(recent: strategy.markouts.lastFills, sinceStart: strategy.markouts.sinceStart)
    }

    func snapshot(now: Int64) {
        lastSnapshot = now
        guard let storage else { return }
        let mid = strategy.inputs.snapshot.mid
        let ledger = account.ledger
        storage.enqueue(.position(PositionRecord(run: runId, symbol: symbol, time: now, size: ledger.position, averageEntry: ledger.averageEntry)))
        storage.enqueue(.pnl(PnLRecord(run: runId, symbol: symbol, time: now, realised: ledger.realisedPnl, unrealised: ledger.unrealisedPnl(mark: mid),
                                       fees: ledger.fees, net: ledger.netPnl(mark: mid), mark: mid)))
    }

    /// The run a client id of ours (`k<run>-<n>`) was sent by; nil for ids keel did not make.
    static func run(of clientId: String) -> String? {
        guard clientId.hasPrefix("k"), let dash = clientId.lastIndex(of: "-"), dash > clientId.index(after: clientId.startIndex),
              Int(clientId[clientId.index(after: dash)...]) != nil else { return nil }
        return String(clientId[clientId.index(after: clientId.startIndex)..<dash])
    }

    func count(_ kind: String) {
        counts[kind, default: 0] += 1
        if kind != "fills" { metrics.order(kind) }
    }

    func note(_ time: Int64, _ text: String) {
        notes.append(Note(time: time, text: text))
        if notes.count > 30 { notes.removeFirst(notes.count - 30) }
    }

    func publish() {
        let mid = strategy.inputs.snapshot.mid
        let ledger = account.ledger
        metrics.trading(position: ledger.position.doubleValue, maxPosition: settings.risk.maxPosition?.doubleValue, liveOrders: account.live.count,
                        realised: ledger.realisedPnl.doubleValue,
                        unrealised: ledger.unrealisedPnl(mark: mid).doubleValue, fees: ledger.fees.doubleValue, state: strategy.risk.state.rawValue)
    }

    /// The context's figures and the PnL curve: they walk the candles and profile rows (a day of them after a
    /// backfill), so the timer does it, at most once a second, never an event on its way to a quote.
    func publishContext() {
        let mid = strategy.inputs.snapshot.mid
        let ledger = account.ledger
        let now = WallClock.nanoseconds()
        if now - lastContextPublished >= 1_000_000_000 {
            lastContextPublished = now
            let context = strategy.context.snapshot
            contextSnapshot = context
            metrics.context(symbol: symbol, context)
            pnlCurve.add(time: now, net: ledger.netPnl(mark: mid).doubleValue)
        }
    }
}
