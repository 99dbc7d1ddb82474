import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// The connector's own code paths, timed for `keel bench connector`: nothing here is on the
/// production path except the sessions it drives.
public enum LatencyProbe {
    /// Collects samples from any thread.
    final class Samples: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int64] = []
        private var pending: [Int64] = []
        private var head = 0
        private var recording = false

        func record(_ on: Bool) {
            lock.lock()
            recording = on
            lock.unlock()
        }

        func add(_ value: Int64) {
            lock.lock()
            if recording { values.append(value) }
            lock.unlock()
        }

        /// A command's start time, matched in order by `written()`.
        func started(_ time: Int64) {
            lock.lock()
            pending.append(time)
            lock.unlock()
        }

        func written(at now: Int64) {
            lock.lock()
            if head < pending.count {
                values.append(now - pending[head])
                head += 1
            }
            lock.unlock()
        }

        func take() -> [Int64] {
            lock.lock()
            defer { lock.unlock() }
            return values
        }
    }

    static let quiet: Logger = {
        var logger = Logger(label: "keel.bench.connector")
        logger.logLevel = .critical
        return logger
    }()

    /// Frame read → its NDJSON line written to `descriptor`, for every `depth` event of a public
    /// session on `url` during `duration` (after `warmUp`). Nanoseconds, and the depth events seen.
    public static func depth(url: String, symbols: [String], depth: Int, warmUp: Duration, duration: Duration,
                             descriptor: Int32) async -> (samples: [Int64], events: Int) {
        let writer = EventWriter(descriptor: descriptor)
        let samples = Samples()
        var configuration = PublicSessionConfiguration(url: url, symbols: symbols, depth: depth)
        configuration.tradeStaleAfter = .seconds(3_600)
        let session = BybitPublicSession(configuration: configuration, logger: quiet) { event in
            writer.write(event)
            if case .depth(let update) = event { samples.add(WallClock.nanoseconds() - update.update.receiveTime) }
        }
        let running = Task { await session.run() }
        try? await Task.sleep(for: warmUp)
        samples.record(true)
        try? await Task.sleep(for: duration)
        samples.record(false)
        await session.stop()
        running.cancel()
        _ = await running.value
        let values = samples.take()
        return (values, values.count)
    }

    /// Command line read → its request frame written on the trade WebSocket, for place / cancel
    /// lines at `rate` a second during `duration`. The account's events go to `descriptor`.
    public static func orders(options: ConnectorOptions, symbol: String, price: FixedDecimal, rate: Int, duration: Duration,
                              descriptor: Int32) async throws -> (samples: [Int64], sent: Int, seconds: Double) {
        guard let credentials = options.credentials else { return ([], 0, 0) }
        let writer = EventWriter(descriptor: descriptor)
        let account = try AccountSessions(options: options, credentials: credentials, logger: quiet, emit: writer.write)
        let samples = Samples()
        await account.trade.observeWrites { samples.written(at: WallClock.nanoseconds()) }
        let running = Task { await account.run() }
        let ready = ContinuousClock.now + .seconds(10)
        while await !account.trade.isReady, ContinuousClock.now < ready { try await Task.sleep(for: .milliseconds(10)) }
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + duration
        let interval = Duration.nanoseconds(1_000_000_000 / max(1, rate))
        var sent = 0
        while clock.now < end {
            let due = start + interval * sent
            if clock.now < due { try await Task.sleep(until: due, clock: clock) }
            let link = "bench-\(sent / 2)"
            let line = sent % 2 == 0
                ? #"{"command":"place","symbol":"\#(symbol)","side":"buy","qty":"0.001","price":"\#(price)","client_id":"\#(link)"}"#
                : #"{"command":"cancel","symbol":"\#(symbol)","client_id":"\#(link)"}"#
            let bytes = Array(line.utf8)
            samples.started(WallClock.nanoseconds())
            let command = try ConnectorCommand.decode(bytes)
            await account.entry.submit(command)
            sent += 1
        }
        let elapsed = clock.now - start
        try? await Task.sleep(for: .milliseconds(500))
        await account.stop()
        _ = await running.value
        await account.rest.shutdown()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (samples.take(), sent, seconds)
    }
}
