import Logging
import Synchronization

/// The one task that writes trading records, off the quoting path: `enqueue` never waits; the writer
/// takes batches in order and writes each in one transaction. A failed write is retried with backoff
/// and nothing is lost; when more than `queueSize` records wait, new position / PnL snapshots are dropped
/// (counted) — orders, order events, fills and risk events never are.
///
/// A batch that fails `isolateAfter` times in a row is written record by record, so that one record the
/// database will never take cannot hold back every record behind it. A record is set aside only when the
/// database refuses it alone `isolateAfter` times while answering a probe each time: it is logged whole as
/// `keel_storage_record_rejected` and counted. While the probe fails the database is down, and nothing is
/// set aside.
public final class StorageWriter: Sendable {
    public struct Stats: Sendable, Equatable {
        public var queued = 0
        public var written = 0
        public var dropped = 0
        public var failures = 0
        /// Records the database refused on their own while it was up (each logged whole).
        public var rejected = 0

        public init(queued: Int = 0, written: Int = 0, dropped: Int = 0, failures: Int = 0, rejected: Int = 0) {
            self.queued = queued
            self.written = written
            self.dropped = dropped
            self.failures = failures
            self.rejected = rejected
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
    private let isolateAfter: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    public init(store: TradingStore, queueSize: Int = 10_000, batchSize: Int = 500, isolateAfter: Int = 3, logger: Logger) {
        self.store = store
        self.queueSize = max(queueSize, 1)
        self.batchSize = max(batchSize, 1)
        self.isolateAfter = max(isolateAfter, 1)
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
                written(batch.count)
            } catch {
                attempt += 1
                failed(error, records: batch.count, attempt: attempt)
                if attempt >= isolateAfter, await writeOneByOne(batch.count) {
                    attempt = 0
                    continue
                }
                if Task.isCancelled { return }
                try? await Task.sleep(for: .seconds(Self.backoff(attempt)))
            }
        }
    }

    /// Writes the first `count` queued records one transaction each, in order. Returns false (the rest
    /// stay queued) as soon as the database itself stops answering.
    private func writeOneByOne(_ count: Int) async -> Bool {
        for _ in 0..<count {
            guard let record = state.withLock({ $0.queue.first }) else { return true }
            var refusals = 0
            while true {
                do {
                    try await store.write([record])
                    written(1)
                    break
                } catch {
                    refusals += 1
                    failed(error, records: 1, attempt: refusals)
                    guard (try? await store.probe()) != nil else { return false }
                    if refusals >= isolateAfter {
                        reject(record, error)
                        break
                    }
                    if Task.isCancelled { return false }
                    try? await Task.sleep(for: .seconds(Self.backoff(refusals)))
                }
            }
        }
        return true
    }

    private func written(_ count: Int) {
        state.withLock { state in
            state.queue.removeFirst(count)
            state.stats.written += count
            if state.queue.count < queueSize / 2 { state.backlogWarned = false }
        }
    }

    private func failed(_ error: any Error, records: Int, attempt: Int) {
        state.withLock { $0.stats.failures += 1 }
        logger.error("keel_storage_write_failed", metadata: [
            "error": "\(error)", "records": "\(records)", "attempt": "\(attempt)", "retry_in": "\(Self.backoff(attempt))"])
    }

    private func reject(_ record: TradingRecord, _ error: any Error) {
        state.withLock { state in
            state.queue.removeFirst()
            state.stats.rejected += 1
        }
        logger.critical("keel_storage_record_rejected", metadata: [
            "table": "\(record.table)", "error": "\(error)", "record": "\(record)"])
    }

    private static func backoff(_ attempt: Int) -> Double { min(0.1 * Double(1 << min(attempt, 6)), 5.0) }
}
