import Market

/// Bybit's order-book rules for one `orderbook.{depth}.{symbol}` topic (BYBIT_V5.md, rules 1–6):
/// a snapshot replaces the book; a delta sets absolute sizes and `"0"` deletes; `u` must be the
/// previous `u + 1`, otherwise the book is invalid until the next snapshot; `u == 1` is a restart
/// snapshot that overwrites; a depth-N topic keeps N levels a side; a crossed book is invalid.
public struct BybitBookSync: Sendable {
    public enum State: Sendable, Equatable {
        case awaitingSnapshot
        case synced
        case invalid(BookFault)
    }

    /// What one message did to the book.
    public enum Outcome: Sendable, Equatable {
        case snapshotApplied
        /// `u == 1`: Bybit restarted its service; the book was overwritten.
        case restartApplied
        case deltaApplied
        /// A delta while the book waits for a snapshot: not applied.
        case ignored
        /// The book is no longer trusted, until the next snapshot.
        case invalidated(BookFault)
    }

    public let depth: Int?
    public private(set) var book = OrderBook()
    public private(set) var state = State.awaitingSnapshot
    public private(set) var lastUpdateId: Int64?

    public init(depth: Int?) {
        self.depth = depth
    }

    public var isValid: Bool { state == .synced }

    public mutating func apply(_ update: DepthUpdate) -> Outcome {
        let outcome: Outcome
        if update.kind == .snapshot || update.lastUpdateId == 1 {
            do throws(BookError) {
                try book.replace(bids: update.bids, asks: update.asks)
            } catch {
                return invalidate(.rejected(error))
            }
            // `u == 1` is Bybit's restart marker, whether it comes typed snapshot or delta.
            outcome = update.lastUpdateId == 1 ? .restartApplied : .snapshotApplied
        } else {
            guard state == .synced, let last = lastUpdateId else { return .ignored }
            guard update.lastUpdateId == last &+ 1 else {
                return invalidate(.gap(expected: last &+ 1, received: update.lastUpdateId))
            }
            do throws(BookError) {
                try book.apply(update)
            } catch {
                return invalidate(.rejected(error))
            }
            outcome = .deltaApplied
        }
        lastUpdateId = update.lastUpdateId
        if let depth { book.truncate(depth: depth) }
        if book.isCrossed { return invalidate(.crossed) }
        state = .synced
        return outcome
    }

    private mutating func invalidate(_ fault: BookFault) -> Outcome {
        state = .invalid(fault)
        return .invalidated(fault)
    }
}
