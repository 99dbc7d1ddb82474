import Foundation
import Market

/// The response to toxic flow (`strategy.toxicity_*`): when the recent markouts of one side's fills
/// (over the last fills of that side, at `horizon`) average worse than `thresholdBps` — at least
/// `minimumFills` of them — that side is widened by `widenBps` of the mid, or pulled for `pause`. A
/// pulled side comes back after the pause and is judged again only on fills made after it (the old
/// ones cannot improve while it is pulled). Pure: time and markouts come in.
public struct Toxicity: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable {
        case widen
        case pause
    }

    public struct Parameters: Sendable, Equatable {
        /// Markouts worse than this (bp; e.g. −2) are toxic; nil: off.
        public var thresholdBps: Double?
        /// Which horizon judges: an index of `Markouts.horizons` (0: 1 s, 1: 5 s, 2: 30 s).
        public var horizon = 1
        public var minimumFills = 5
        public var action = Action.widen
        public var widenBps = 2.0
        /// ns.
        public var pause: Int64 = 30_000_000_000

        public init() {}
    }

    /// A side becoming toxic, or clean again.
    public struct Change: Sendable, Equatable {
        public var side: Side
        public var toxic: Bool
        /// The markout that decided, bp.
        public var markoutBps: Double?
        public var action: Action

        public init(side: Side, toxic: Bool, markoutBps: Double?, action: Action) {
            self.side = side
            self.toxic = toxic
            self.markoutBps = markoutBps
            self.action = action
        }
    }

    public let parameters: Parameters
    /// The sides judged toxic now.
    public private(set) var toxic: Set<Side> = []
    /// A pulled side's return time, and the fills of that side when it was pulled.
    public private(set) var pausedUntil: [Side: Int64] = [:]
    private var fillsAtPause: [Side: Int] = [:]

    public init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// Judges each side on `markouts` at `time`; the changes, to log.
    public mutating func update(markouts: Markouts, time: Int64) -> [Change] {
        guard let threshold = parameters.thresholdBps else { return [] }
        let index = min(max(parameters.horizon, 0), Markouts.horizons.count - 1)
        let recent = markouts.lastFills[index]
        var changes: [Change] = []
        for side in [Side.buy, .sell] {
            let value = side == .buy ? recent.buy : recent.sell
            let count = markouts.fills(side: side, horizon: index)
            // After a pause, only fills made since count.
            let fresh = fillsAtPause[side].map { count > $0 } ?? true
            let isToxic = fresh && count >= parameters.minimumFills && (value ?? 0) < threshold
            if isToxic && !toxic.contains(side) {
                toxic.insert(side)
                if parameters.action == .pause {
                    pausedUntil[side] = time + parameters.pause
                    fillsAtPause[side] = count
                }
                changes.append(Change(side: side, toxic: true, markoutBps: value, action: parameters.action))
            } else if !isToxic && toxic.contains(side) {
                // A paused side stays toxic until its pause is over.
                if let until = pausedUntil[side], time < until { continue }
                toxic.remove(side)
                pausedUntil[side] = nil
                changes.append(Change(side: side, toxic: false, markoutBps: value, action: parameters.action))
            }
        }
        return changes
    }

    /// Ticks to add to each side's depth (widen).
    public func widening(ticksPerBp: Double) -> (bid: Double, ask: Double) {
        guard parameters.action == .widen else { return (0, 0) }
        let ticks = parameters.widenBps * ticksPerBp
        return (toxic.contains(.buy) ? ticks : 0, toxic.contains(.sell) ? ticks : 0)
    }

    /// The sides pulled at `time` (pause).
    public func pulled(at time: Int64) -> Set<Side> {
        guard parameters.action == .pause else { return [] }
        return Set(pausedUntil.filter { time < $0.value }.keys)
    }
}
