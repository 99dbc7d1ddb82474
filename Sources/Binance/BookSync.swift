import Market

/// Binance USD-M's local order book procedure (BINANCE_USDM.md) for one symbol: buffer diffs until a
/// REST snapshot with id `L`; drop buffered diffs with `u < L`; the first applied diff must have
/// `U <= L <= u`; every later diff's `pu` must equal the previous diff's `u`. Any break makes the
/// book invalid and starts buffering again until the next snapshot.
public struct BinanceBookSync: Sendable {
    public enum State: Sendable, Equatable {
        /// No snapshot yet: diffs are buffered.
        case awaitingSnapshot
        /// Snapshot `L` applied; waiting for the diff with `U <= L <= u`.
        case awaitingFirstDiff(snapshotId: Int64)
        case synced
        /// Broken: diffs are buffered until the next snapshot.
        case invalid(BookFault)
    }

    public enum Outcome: Sendable, Equatable {
        case buffered
        /// `u < L`: older than the snapshot.
        case dropped
        case applied
        /// The book is no longer trusted, until the next snapshot.
        case invalidated(BookFault)
    }

    /// What a snapshot did, including the buffered diffs it replayed.
    public struct SnapshotResult: Sendable, Equatable {
        public var outcome: Outcome
        public var replayed: [Outcome]
    }

    public private(set) var book = OrderBook()
    public private(set) var state = State.awaitingSnapshot
    public private(set) var lastUpdateId: Int64?
    public let maxBuffered: Int
    private var buffer: [DepthUpdate] = []
    /// Diffs dropped because the buffer was full (oldest first).
    public private(set) var bufferOverflows = 0

    public init(maxBuffered: Int = 10_000) {
        self.maxBuffered = maxBuffered
    }

    /// Trustworthy: synced, or exactly the snapshot while waiting for its first diff.
    public var isValid: Bool {
        switch state {
        case .synced, .awaitingFirstDiff: return true
        case .awaitingSnapshot, .invalid: return false
        }
    }

    public var bufferedCount: Int { buffer.count }

    public mutating func applySnapshot(_ snapshot: DepthUpdate) -> SnapshotResult {
        // A snapshot no newer than the synced book adds nothing (a recording's extra snapshot, say):
        // applying it would roll the book back behind diffs already applied.
        if state == .synced, let last = lastUpdateId, snapshot.lastUpdateId <= last {
            return SnapshotResult(outcome: .dropped, replayed: [])
        }
        do throws(BookError) {
            try book.replace(bids: snapshot.bids, asks: snapshot.asks)
        } catch {
            state = .invalid(.rejected(error))
            return SnapshotResult(outcome: .invalidated(.rejected(error)), replayed: [])
        }
        lastUpdateId = snapshot.lastUpdateId
        state = .awaitingFirstDiff(snapshotId: snapshot.lastUpdateId)
        if book.isCrossed {
            state = .invalid(.crossed)
            return SnapshotResult(outcome: .invalidated(.crossed), replayed: [])
        }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        var replayed: [Outcome] = []
        for diff in pending { replayed.append(apply(diff)) }
        return SnapshotResult(outcome: .applied, replayed: replayed)
    }

    public mutating func apply(_ diff: DepthUpdate) -> Outcome {
        switch state {
        case .awaitingSnapshot, .invalid:
            if buffer.count >= maxBuffered {
                buffer.removeFirst()
                bufferOverflows += 1
            }
            buffer.append(diff)
            return .buffered
        case .awaitingFirstDiff(let snapshotId):
            if diff.lastUpdateId < snapshotId { return .dropped }
            guard diff.firstUpdateId <= snapshotId else {
                return invalidate(.gap(expected: snapshotId, received: diff.firstUpdateId), keeping: diff)
            }
            return applyInOrder(diff)
        case .synced:
            guard let last = lastUpdateId, diff.previousUpdateId == last else {
                return invalidate(.gap(expected: lastUpdateId ?? 0, received: diff.previousUpdateId ?? diff.firstUpdateId),
                                  keeping: diff)
            }
            return applyInOrder(diff)
        }
    }

    private mutating func applyInOrder(_ diff: DepthUpdate) -> Outcome {
        do throws(BookError) {
            try book.apply(diff)
        } catch {
            return invalidate(.rejected(error), keeping: nil)
        }
        lastUpdateId = diff.lastUpdateId
        if book.isCrossed { return invalidate(.crossed, keeping: nil) }
        state = .synced
        return .applied
    }

    /// Marks the book invalid and starts buffering (from `diff`, which a newer snapshot may still need).
    private mutating func invalidate(_ fault: BookFault, keeping diff: DepthUpdate?) -> Outcome {
        state = .invalid(fault)
        buffer.removeAll(keepingCapacity: true)
        if let diff { buffer.append(diff) }
        return .invalidated(fault)
    }
}
