import Market

/// Hard limits over the strategy, in three states:
/// - `active`: quote both sides;
/// - `reducing`: the position is past `maxPosition` (quantity) or `maxNotional`: quote only the side
///   that brings it back; active again once inside;
/// - `halted`: quote nothing and cancel everything. Two kinds of reasons hold it:
///   *latched* ones — the kill switch (loss from peak equity ≥ `maxDrawdown`, or total loss ≥
///   `maxLoss`), `maxConsecutiveLosses` losing round trips, a manual halt — stay until `resume()`
///   (an explicit command) or a restart; *conditions* — feed stale, connector down, book invalid,
///   bot not ready — hold it only while they last.
/// Every change of state comes back as a `Transition` with its reason, for the log, the metric and
/// `/strategy/status`. Pure: the caller passes the facts and the time.
public struct RiskManager: Sendable {
    public enum State: String, Sendable, Equatable, CaseIterable {
        case active = "ACTIVE"
        case reducing = "REDUCING"
        case halted = "HALTED"
    }

    public struct Limits: Sendable, Equatable {
        public var maxPosition: Quantity?
        public var maxNotional: FixedDecimal?
        public var maxOrderQty: Quantity?
        public var enableKillSwitch = true
        /// Loss from the peak of equity (realised + unrealised PnL) that halts, quote currency.
        public var maxDrawdown: FixedDecimal?
        /// Total loss (PnL below zero by this much) that halts.
        public var maxLoss: FixedDecimal?
        /// Losing round trips in a row that halt (0 = never).
        public var maxConsecutiveLosses = 5

        public init() {}
    }

    /// What the caller knows at one moment.
    public struct Facts: Sendable, Equatable {
        public var position: Quantity
        public var markPrice: Price?
        /// Realised + unrealised PnL net of fees, quote currency.
        public var pnl: FixedDecimal
        public var feedStale = false
        public var connectorUp = true
        public var bookValid = true
        public var ready = true
        /// The market data comes from the venue the orders go to (not a fallback venue's).
        public var pricesFromVenue = true

        public init(position: Quantity, markPrice: Price?, pnl: FixedDecimal) {
            self.position = position
            self.markPrice = markPrice
            self.pnl = pnl
        }
    }

    public struct Transition: Sendable, Equatable {
        public var from: State
        public var to: State
        public var reasons: [String]
        public var time: Int64
    }

    public let limits: Limits
    public private(set) var state = State.active
    /// Why it is not active (empty when active).
    public private(set) var reasons: [String] = []
    public private(set) var latched: [String] = []
    public private(set) var consecutiveLosses = 0
    public private(set) var peakPnl: FixedDecimal = .zero

    public init(limits: Limits) {
        self.limits = limits
    }

    /// A round trip closed (the position went back to flat or flipped) with this PnL.
    public mutating func roundTripClosed(pnl: FixedDecimal) {
        consecutiveLosses = pnl < .zero ? consecutiveLosses + 1 : 0
    }

    /// Halts until `resume()`.
    public mutating func halt(_ reason: String, time: Int64) -> Transition? {
        if !latched.contains(reason) { latched.append(reason) }
        return settle(time: time)
    }

    /// Clears every latched reason (an explicit command); conditions still apply at the next `evaluate`.
    public mutating func resume(time: Int64) -> Transition? {
        latched.removeAll()
        latchedKinds.removeAll()
        consecutiveLosses = 0
        return settle(time: time)
    }

    /// The state for these facts; a transition when it changed.
    public mutating func evaluate(_ facts: Facts, time: Int64) -> Transition? {
        peakPnl = max(peakPnl, facts.pnl)
        if limits.enableKillSwitch {
            if let limit = limits.maxDrawdown, peakPnl - facts.pnl >= limit {
                latch("kill switch", "kill switch: loss from peak \(peakPnl - facts.pnl) ≥ max_drawdown \(limit)")
            }
            if let limit = limits.maxLoss, -facts.pnl >= limit {
                latch("kill switch", "kill switch: loss \(-facts.pnl) ≥ max_loss \(limit)")
            }
        }
        if limits.maxConsecutiveLosses > 0, consecutiveLosses >= limits.maxConsecutiveLosses {
            latch("losing streak", "\(consecutiveLosses) consecutive losing round trips ≥ max_consecutive_losses \(limits.maxConsecutiveLosses)")
        }
        var conditions: [String] = []
        if facts.feedStale { conditions.append("feed stale") }
        if !facts.connectorUp { conditions.append("connector down") }
        if !facts.bookValid { conditions.append("book invalid") }
        if !facts.ready { conditions.append("bot not ready") }
        if !facts.pricesFromVenue { conditions.append("prices from another venue") }
        var reducing: [String] = []
        let size = facts.position.isNegative ? -facts.position : facts.position
        if let limit = limits.maxPosition, size > limit { reducing.append("position \(facts.position) beyond max_position \(limit)") }
        if let limit = limits.maxNotional, let mark = facts.markPrice, size * mark > limit {
            reducing.append("notional \(size * mark) beyond max_notional \(limit)")
        }
        conditionsNow = conditions
        reducingNow = reducing
        return settle(time: time)
    }

    /// The sides that may be quoted now for a signed `position`.
    public func allowedSides(position: Quantity) -> Set<Side> {
        switch state {
        case .active: return [.buy, .sell]
        case .halted: return []
        case .reducing: return position.isNegative ? [.buy] : position.isZero ? [] : [.sell]
        }
    }

    /// One reason per kind: the kill switch's figures and the streak's count change, the first reason stays.
    private mutating func latch(_ kind: String, _ reason: String) {
        if latchedKinds.insert(kind).inserted { latched.append(reason) }
    }

    private var latchedKinds: Set<String> = []

    private var conditionsNow: [String] = []
    private var reducingNow: [String] = []

    /// A transition when the state, or the reasons of a non-active state, changed.
    private mutating func settle(time: Int64) -> Transition? {
        let halting = latched + conditionsNow
        let next: State = !halting.isEmpty ? .halted : (!reducingNow.isEmpty ? .reducing : .active)
        let nextReasons = !halting.isEmpty ? halting : reducingNow
        defer {
            state = next
            reasons = nextReasons
        }
        guard next != state || (next != .active && nextReasons != reasons) else { return nil }
        return Transition(from: state, to: next, reasons: nextReasons, time: time)
    }
}
