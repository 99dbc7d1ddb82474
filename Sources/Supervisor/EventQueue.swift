import ConnectorWire
import Foundation

/// The bounded queue between the connector's stdout and the bot. When it is full, market data
/// (`depth`, `trade`, `stats`) is dropped oldest-first and counted; account, order and status events
/// are never dropped (the queue grows past its bound for them rather than lose one). A dropped
/// `depth` makes that symbol's book untrustworthy: the consumer is told through `droppedDepth`.
public final class EventQueue: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var events: [ConnectorEvent] = []
    private var head = 0
    private var waiter: CheckedContinuation<ConnectorEvent?, Never>?
    private var finished = false
    private var dropped = 0
    private var droppedDepthSymbols: Set<String> = []

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    static func isMarketData(_ event: ConnectorEvent) -> Bool {
        switch event {
        case .depth, .trade, .stats: return true
        default: return false
        }
    }

    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return events.count - head
    }

    public var droppedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return dropped
    }

    /// Symbols whose `depth` events were dropped since the last call (their books need a fresh snapshot).
    public func takeDroppedDepth() -> Set<String> {
        lock.lock()
        defer { lock.unlock() }
        let symbols = droppedDepthSymbols
        droppedDepthSymbols.removeAll()
        return symbols
    }

    public func push(_ event: ConnectorEvent) {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.resume(returning: event)
            return
        }
        if events.count - head >= capacity {
            // Full: the oldest market event makes room. With none queued, a market event is itself
            // dropped; any other event is kept, past the bound.
            if !dropOldestMarketData() && EventQueue.isMarketData(event) {
                dropped += 1
                if case .depth(let depth) = event { droppedDepthSymbols.insert(depth.update.symbol) }
                lock.unlock()
                return
            }
        }
        events.append(event)
        lock.unlock()
    }

    /// Removes the oldest queued market event; false when there is none. Called with the lock held.
    private func dropOldestMarketData() -> Bool {
        guard let index = events[head...].firstIndex(where: EventQueue.isMarketData) else { return false }
        if case .depth(let depth) = events[index] { droppedDepthSymbols.insert(depth.update.symbol) }
        events.remove(at: index)
        dropped += 1
        return true
    }

    /// The next event, or `nil` once finished and drained.
    public func next() async -> ConnectorEvent? {
        await withCheckedContinuation { continuation in take(continuation) }
    }

    /// Answers at once with a queued event (or `nil` when finished), else parks the consumer.
    private func take(_ continuation: CheckedContinuation<ConnectorEvent?, Never>) {
        lock.lock()
        if head < events.count {
            let event = events[head]
            head += 1
            if head > 1_024 && head * 2 > events.count {
                events.removeFirst(head)
                head = 0
            }
            lock.unlock()
            continuation.resume(returning: event)
        } else if finished {
            lock.unlock()
            continuation.resume(returning: nil)
        } else {
            waiter = continuation
            lock.unlock()
        }
    }

    public func finish() {
        lock.lock()
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(returning: nil)
    }
}
