import Foundation
import Market
import MarketContext
import Strategy

/// The trading loop as `/ready` and `/strategy/status` show it.
extension MarketMaker {
    /// Whether quotes may go out now, and why (for `/ready`).
    public func tradingAllowed() -> (allowed: Bool, reason: String) {
        let allowed = strategy.allowed && reconciled && instrumentConfirmed && backfillReady
        if allowed { return (true, "\(venue.rawValue) quoting \(symbol), risk \(strategy.risk.state.rawValue)") }
        if !strategy.quoting { return (false, "quoting stopped (shutdown)") }
        if !instrumentConfirmed { return (false, "waiting for the exchange's instrument of \(symbol)" + (instrumentProblem.map { " (\($0))" } ?? "")) }
        if !reconciled { return (false, "waiting for the account reconciliation") }
        if !backfillReady { return (false, backfillReason) }
        return (false, "risk \(strategy.risk.state.rawValue): \(strategy.risk.reasons.joined(separator: "; "))")
    }

    /// What the dashboard shows of the trading loop: the status, the last fills, the PnL curve, and the
    /// context's figures as last published.
    func dashboard() -> (status: StrategyStatus, fills: [Fill], curve: [(time: Int64, net: Double)], context: SymbolContext.Snapshot?) {
        (status(), recentFills, pnlCurve.points, contextSnapshot)
    }

    /// `GET /context/{symbol}`: the quoted symbol's market context.
    public func contextReport() -> ContextReport {
        var report = ContextReport(strategy.context)
        report.backfill = backfillReport
        return report
    }

    /// The markouts in bp, rounded to a hundredth, by horizon.
    func markoutView() -> [String: StrategyStatus.MarkoutView] {
        let start = strategy.markouts.sinceStart, recent = strategy.markouts.lastFills
        func view(_ figures: Markouts.Figures) -> StrategyStatus.MarkoutView.Figures {
            func round(_ value: Double?) -> Double? { value.map { ($0 * 100).rounded() / 100 } }
            return .init(all: round(figures.all), buy: round(figures.buy), sell: round(figures.sell), fills: figures.count)
        }
        var out: [String: StrategyStatus.MarkoutView] = [:]
        for (index, horizon) in Markouts.horizons.enumerated() {
            out[Markouts.name(horizon)] = .init(sinceStart: view(start[index]), lastFills: view(recent[index]))
        }
        return out
    }

    /// `/strategy/status`, as JSON.
    public func statusJSON() -> Data {
        AnswerEncoder.data(status())
    }

    func status() -> StrategyStatus {
        let mid = strategy.inputs.snapshot.mid
        let inputs = strategy.inputs.snapshot
        let ledger = account.ledger
        let risk = strategy.risk
        let instrument = strategy.instrument
        let trading = tradingAllowed()
        // What is being quoted now: nothing while quoting is not allowed (halted, waiting, stopped), whatever the
        // last ladder was.
        let quoted = trading.allowed ? strategy.lastLadder : QuoteLadder()
        var model = StrategyStatus.Model(mode: settings.model.mode.rawValue, gamma: settings.model.gamma)
        model.makerFee = strategy.makerFee
        model.floorBps = strategy.floorBps
        model.fairValue = strategy.policy.fairValue.mode.rawValue
        model.fair = strategy.lastFair.map { "\($0)" }
        model.imbalanceCoefficient = strategy.fair.coefficient
        model.toxic = strategy.toxicity.toxic.map(\.rawValue).sorted()
        model.pulledUntil = Dictionary(uniqueKeysWithValues: strategy.toxicity.pausedUntil.map { ($0.key.rawValue, $0.value) })
        if let depths = strategy.lastDepths {
            func measure(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }
            model.bidDepthTicks = measure(depths.bidTicks)
            model.askDepthTicks = measure(depths.askTicks)
            model.halfSpreadTicks = measure(depths.halfSpreadTicks)
            model.skewTicks = measure(depths.skewTicks)
            model.sigmaTicks = measure(depths.sigmaTicks)
            model.a = measure(depths.a)
            model.k = measure(depths.k)
            model.inventory = measure(strategy.lastInventory)
            model.feeTicks = measure(depths.feeTicks)
        }
        return StrategyStatus(
            mode: venue.rawValue, symbol: symbol, quoting: trading.allowed, reconciled: reconciled,
            instrument: .init(tickSize: "\(instrument.tickSize)", qtyStep: "\(instrument.qtyStep)", minQty: "\(instrument.minQty)",
                              maxQty: .decimal(instrument.maxQty), minNotional: .decimal(instrument.minNotional),
                              confirmedByExchange: instrumentConfirmed && instrumentAskedAt != nil),
            risk: .init(state: risk.state.rawValue, reasons: risk.reasons, consecutiveLosses: risk.consecutiveLosses),
            position: "\(ledger.position)", averageEntry: .decimal(ledger.averageEntry),
            pnl: .init(realised: "\(ledger.realisedPnl)", unrealised: "\(ledger.unrealisedPnl(mark: mid))", fees: "\(ledger.fees)",
                       net: "\(ledger.netPnl(mark: mid))"),
            roundTrips: ledger.roundTrips, losingRoundTrips: ledger.losingRoundTrips,
            market: .init(mid: .decimal(mid), microprice: .decimal(inputs.microprice), spread: .decimal(inputs.spread),
                          volatility: .measure(inputs.volatility), tradeIntensity: .measure(inputs.tradeIntensity),
                          imbalance: .measure(inputs.imbalance)),
            model: model,
            quotes: .init(bids: quoted.bids.map { .init(price: "\($0.price)", qty: "\($0.qty)") },
                          asks: quoted.asks.map { .init(price: "\($0.price)", qty: "\($0.qty)") }),
            liveOrders: account.live.map { order in
                .init(clientId: order.clientId, side: order.side.rawValue, price: "\(order.price)", qty: "\(order.qty)",
                      filled: "\(order.filledQty)", status: order.status.rawValue, level: strategy.levels[order.clientId] ?? -1)
            },
            orders: counts,
            decisions: notes.suffix(20).map { .init(time: $0.time, text: $0.text) },
            markouts: markoutView(), backfill: backfillReport, tradingAllowed: trading.allowed, tradingReason: trading.reason)
    }
}
