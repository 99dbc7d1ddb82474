import Logging
import Market
import Runtime
import ServiceLifecycle
import Storage

/// What `keel sim --replay` serves.
public struct ReplayConfiguration: Sendable, Equatable {
    public var path: String
    public var source: ReplayMarket.Source
    /// 1 is real time, 10 ten times faster; 0 as fast as the sim can take it.
    public var speed: Double

    public init(path: String, source: ReplayMarket.Source, speed: Double = 1) {
        self.path = path
        self.source = source
        self.speed = speed
    }
}

/// Feeds a recording into the exchange at its recorded pace (its local receive times, divided by
/// `speed`); messages due within the same millisecond go in as one batch.
struct ReplayService: Service {
    let configuration: ReplayConfiguration
    let exchange: SimExchange
    let logger: Logger

    func run() async throws {
        let data: [UInt8]
        do {
            data = try RecordingReader.readAll(path: configuration.path)
        } catch {
            logger.error("sim_replay_failed", metadata: ["reason": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        var lines: [(time: Int64, bytes: [UInt8])] = []
        data.withUnsafeBytes { buffer in
            LineSplitter.forEachLineIncludingLast(in: buffer) { line in
                let recorded = RecordedLine(line)
                lines.append((recorded.receiveTime, Array(recorded.message)))
            }
        }
        logger.info("sim_replay_started", metadata: ["messages": "\(lines.count)", "speed": "\(configuration.speed)"])
        let clock = ContinuousClock()
        let start = clock.now
        let firstTime = lines.first { $0.time > 0 }?.time ?? 0
        var index = 0
        while index < lines.count {
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            // The batch due at the same millisecond as this line.
            let due = configuration.speed > 0 && lines[index].time > 0
                ? Int64(Double(lines[index].time - firstTime) / configuration.speed) : 0
            var batch: [[UInt8]] = []
            while index < lines.count, batch.count < 1_000 {
                let next = configuration.speed > 0 && lines[index].time > 0
                    ? Int64(Double(lines[index].time - firstTime) / configuration.speed) : 0
                if next - due > 1_000_000 { break }
                batch.append(lines[index].bytes)
                index += 1
            }
            if due > 0 { try? await Task.sleep(until: start + .nanoseconds(due), clock: clock) }
            await exchange.replay(batch, now: WallClock.nanoseconds())
        }
        let stats = await exchange.replayStats()
        logger.info("sim_replay_finished", metadata: ["messages": "\(stats.messages)", "errors": "\(stats.errors)", "trades": "\(stats.trades)"])
        try? await gracefulShutdown()
    }
}
