import Logging
import Synchronization

/// The one task that writes trading records, off the quoting path: `enqueue` never waits; the writer
/// takes batches in order and writes each in one transaction. A failed write is retried with backoff
/// and nothing is lost; when more than `queueSize` records wait, new position / PnL snapshots are dropped
/// (counted) — orders, order events, fills and risk events never are.
public final class StorageWriter: Sendable {
    public struct Stats: Sendable, Equatable {
        public var queued = 0
        public var written = 0
        public var dropped = 0
        public var failures = 0

        public init(queued: Int = 0, written: Int = 0, dropped: Int = 0, failures: Int = 0) {
            self.queued = queued
            self.written = written
            self.dropped = dropped
            self.failures = failures
        }
    }

    private struct State {
        var queue: [TradingRecord] = []
        var stats = Stats()
        var backlogWarned = false
    }

    public let store: TradingStore
    private let queueSize: Int
    private let batchSize: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    public init(store: TradingStore, queueSize: Int = 10_000, batchSize: Int = 500, logger: Logger) {
        self.store = store
        self.queueSize = max(queueSize, 1)
        self.batchSize = max(batchSize, 1)
        self.logger = logger
        (wake, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func enqueue(_ record: TradingRecord) {
        let warn: Int? = state.withLock { state in
            if state.queue.count >= queueSize {
                if record.isSnapshot {
                    state.stats.dropped += 1
                    return nil
                }
                if !state.backlogWarned {
                    state.backlogWarned = true
                    state.queue.append(record)
                    return state.queue.count
                }
            }
            state.queue.append(record)
            return nil
        }
        if let warn { logger.error("keel_storage_backlog", metadata: ["queued": "\(warn)", "queue_size": "\(queueSize)"]) }
        wakeUp.yield()
    }

    public var stats: Stats {
        state.withLock { state in
            var stats = state.stats
            stats.queued = state.queue.count
            return stats
        }
    }

    /// Writes until `close()`, then writes what is left once more and returns.
    public func run() async {
        for await _ in wake { await drain() }
        await drain()
    }

    /// Waits until every record enqueued so far is written (or `timeout`); true when none waits.
    public func flush(timeout: Duration) async -> Bool {
        wakeUp.yield()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.queue.isEmpty }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return state.withLock { $0.queue.isEmpty }
    }

    /// Ends `run()` after its last drain.
    public func close() { wakeUp.finish() }

    private func drain() async {
        var attempt = 0
        while true {
            let batch = state.withLock { Array($0.queue.prefix(batchSize)) }
            if batch.isEmpty { return }
            do {
                try await store.write(batch)
                attempt = 0
                state.withLock { state in
                    state.queue.removeFirst(batch.count)
                    state.stats.written += batch.count
                    if state.queue.count < queueSize / 2 { state.backlogWarned = false }
                }
            } catch {
                attempt += 1
                state.withLock { $0.stats.failures += 1 }
                let delay = min(0.1 * Double(1 << min(attempt, 6)), 5.0)
                logger.error("keel_storage_write_failed", metadata: [
                    "error": "\(error)", "records": "\(batch.count)", "attempt": "\(attempt)", "retry_in": "\(delay)"])
                if Task.isCancelled { return }
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }
}
