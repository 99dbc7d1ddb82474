import Binance
import Bybit
import Market

/// A recorded market served by the simulator. Each recorded message goes through the exchange's
/// feed (its sync rules, the same path as the connector and the backtester); the resulting book (best
/// `depth` levels a side) is laid into the matching engine as flow orders — one per level, replaced
/// when the recorded size changes — so accounts trade against the recorded liquidity and see their own
/// orders in the published book. Recorded trades are printed on the tape as they happened. Pure: the
/// file is read and paced by the caller.
public struct ReplayMarket: Sendable {
    public enum Source: String, Sendable {
        case bybit
        case binanceUSDM = "binance-usdm"
    }

    public let source: Source
    public let depth: Int
    private var feed: any MarketFeed & Sendable
    /// Flow orders standing for recorded levels: symbol → side → ticks → (order id, size).
    private var levels: [String: [Side: [Int64: (id: String, qty: Quantity)]]] = [:]
    public var stats: FeedStats { feed.stats }
    public private(set) var skippedSymbols: Set<String> = []
    private var tradeCounter: UInt64 = 0

    public init(source: Source, depth: Int = 200) {
        self.source = source
        self.depth = depth
        switch source {
        case .bybit: feed = BybitFeed()
        case .binanceUSDM: feed = BinanceFeed()
        }
    }

    /// Applies one recorded message (`now` is the sim's time for it).
    public mutating func apply(_ message: UnsafeRawBufferPointer, engine: inout MatchingEngine, now: Int64) -> EngineEvents {
        var market: [MarketEvent] = []
        feed.ingest(message, receiveTime: now) { market.append($0) }
        var events = EngineEvents()
        for event in market where knows(event.symbol, engine) {
            switch event {
            case .depth(let depth): lay(depth.book, symbol: depth.update.symbol, engine: &engine, now: now, events: &events)
            case .trade(let trade): print(trade, now: now, events: &events)
            case .bookInvalid: break
            }
        }
        return events
    }

    private mutating func knows(_ symbol: String, _ engine: MatchingEngine) -> Bool {
        if engine.instruments[symbol] != nil { return true }
        skippedSymbols.insert(symbol)
        return false
    }

    private mutating func print(_ trade: TradeTick, now: Int64, events: inout EngineEvents) {
        tradeCounter += 1
        events.trades.append(SimTrade(tradeId: "replay-\(tradeCounter)", symbol: trade.symbol, side: trade.aggressor,
                                      price: trade.price, qty: trade.qty, time: now))
    }

    /// Makes the engine's flow liquidity on `symbol` match the recorded book: removals and size
    /// changes first, then new levels, so the recorded book never crosses itself on the way.
    private mutating func lay(_ book: OrderBook, symbol: String, engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        guard let instrument = engine.instruments[symbol] else { return }
        var current = levels[symbol] ?? [.buy: [:], .sell: [:]]
        var wanted: [Side: [Int64: Quantity]] = [.buy: [:], .sell: [:]]
        for (side, bookSide) in [(Side.buy, BookSide.bid), (.sell, .ask)] {
            for level in book.levels(bookSide, limit: depth) {
                guard let steps = level.price.divided(by: instrument.tickSize, scale: 0, rounding: .down),
                      steps.multipliedReportingOverflow(by: instrument.tickSize) == level.price,
                      let qty = level.qty.rounded(toMultipleOf: instrument.qtyStep, .down), qty >= instrument.minQty else { continue }
                wanted[side]![steps.mantissa] = qty
            }
        }
        for side in [Side.buy, .sell] {
            for (ticks, order) in current[side]! where wanted[side]![ticks] != order.qty {
                engine.cancelFlowOrder(order.id, now: now)
                current[side]![ticks] = nil
            }
        }
        for side in [Side.buy, .sell] {
            for (ticks, qty) in wanted[side]!.sorted(by: { side == .buy ? $0.key > $1.key : $0.key < $1.key }) where current[side]![ticks] == nil {
                let price = instrument.price(ticks: ticks)
                guard let (order, produced) = try? engine.place(PlaceRequest(symbol: symbol, side: side, type: .limit, qty: qty, price: price),
                                                                owner: .flow, now: now) else { continue }
                events.merge(produced)
                if order.status.isOpen { current[side]![ticks] = (order.orderId, order.leavesQty) }
            }
        }
        levels[symbol] = current
    }
}
