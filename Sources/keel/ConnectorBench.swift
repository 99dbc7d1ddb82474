import ArgumentParser
import Connector
import Foundation
import Logging
import Market
import Runtime

/// `keel bench connector`: the connector's latency on its two hot paths, against a `keel sim` child.
struct ConnectorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Measure the connector: WS frame read → NDJSON line written, and place line read → request on the wire.",
        discussion: """
        Starts `keel sim` (this binary) with a 1 ms step and --symbols instruments, runs the connector's \
        public session on every orderbook.50 topic for --seconds (after a 2 s warm-up) writing each event \
        line to /dev/null, then drives order entry with place/cancel lines at --rate a second on the trade \
        stream of a peer that acks every request at once (the sim's engine caps near 4,700 requests/s), the \
        private stream and REST on a quiet sim (one step a second: a real exchange's market is not made on \
        this machine's cores; --busy-sim keeps the market phase's sim running instead, as before 2026-12-01). \
        Latencies go into HdrHistograms (1 ns to 10 s, 3 significant digits); prints p50, p99, \
        p99.9 and max in microseconds, and, last, a JSON object. Use a release build.
        """
    )

    @Option(help: "Seconds per phase.")
    var seconds = 10.0

    @Option(help: "Instruments in the simulated market (each orderbook.50 topic updates up to 1,000 times a second).")
    var symbols = 5

    @Option(help: "Order lines a second (place and cancel in turn).")
    var rate = 5_000

    @Flag(help: "Run the order phase beside the market phase's sim (its 1 ms flow on the same cores) instead of a quiet one.")
    var busySim = false

    func validate() throws {
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (1...50).contains(symbols) else { throw ValidationError("--symbols must be 1–50") }
        guard (1...50_000).contains(rate) else { throw ValidationError("--rate must be 1–50000") }
    }

    func run() async throws {
        SimChild.warnIfDebug()
        let (names, instruments) = SimChild.market(symbols: symbols)
        let limits = #""order_rate_limit":100000000,"ip_request_limit":100000000"#
        var (child, port) = try SimChild.start(config: #"{"step_ms":1,\#(limits),"instruments":[\#(instruments)]}"#)
        defer { child.terminate(); child.waitUntilExit() }
        let sink = open("/dev/null", O_WRONLY)
        defer { close(sink) }
        let phase = Duration.milliseconds(Int64(seconds * 1_000))

        let depth = await LatencyProbe.depth(url: "ws://127.0.0.1:\(port)/v5/public/linear", symbols: names, depth: 50,
                                             warmUp: .seconds(2), duration: phase, descriptor: sink)
        let depthRate = Double(depth.events) / seconds
        let market = LatencyHistogram(depth.samples)
        print("market: \(depth.events) depth events (\(names.count) topics) at \(format(depthRate))/s; frame read → line written: \(summary(market))")

        if !busySim {
            // The exchange's market flow is not on the bot's cores in production: the private stream and REST
            // come from a sim that steps once a second.
            child.terminate()
            child.waitUntilExit()
            (child, port) = try SimChild.start(config: #"{"step_ms":1000,\#(limits)}"#)
        }
        // The order path against a peer that only acks (the sim's matching engine would pace it below --rate).
        var quiet = Logger(label: "keel.bench")
        quiet.logLevel = .critical
        let (ready, portSink) = AsyncStream.makeStream(of: Int.self)
        let peer = Task { [quiet] in try await TradeAckPeer.run(logger: quiet) { portSink.yield($0) } }
        defer { peer.cancel() }
        var iterator = ready.makeAsyncIterator()
        guard let peerPort = await iterator.next() else { throw ValidationError("the trade peer did not start") }
        var settings = ConnectorSettings()
        settings.symbols = ["BTCUSDT"]
        settings.orderRateLimit = 1_000_000
        settings.pingInterval = 3_600
        var options = settings.options(credentials: Credentials(apiKey: "keel-demo-key", apiSecret: "keel-demo-secret"))
        options.privateSocket.url = "ws://127.0.0.1:\(port)/v5/private"
        options.tradeSocket.url = "ws://127.0.0.1:\(peerPort)/v5/trade"
        options.rest.baseURL = "http://127.0.0.1:\(port)"
        let orders = try await LatencyProbe.orders(options: options, symbol: "BTCUSDT", price: FixedDecimal(1_000), rate: rate,
                                                   duration: phase, descriptor: sink)
        let orderRate = Double(orders.sent) / orders.seconds
        let entry = LatencyHistogram(orders.samples)
        print("orders: \(orders.sent) lines at \(format(orderRate))/s; line read → request written: \(summary(entry))")

        var out = JSONWriter()
        out.beginObject()
        out.key("depth_events_per_sec"); out.double(depthRate.rounded())
        write(market, prefix: "market", to: &out)
        out.key("order_lines_per_sec"); out.double(orderRate.rounded())
        write(entry, prefix: "order", to: &out)
        out.endObject()
        print(out.string)
    }

    private func summary(_ histogram: LatencyHistogram) -> String {
        "p50 \(histogram.microseconds(at: 50)) µs, p99 \(histogram.microseconds(at: 99)) µs, "
            + "p99.9 \(histogram.microseconds(at: 99.9)) µs, max \(histogram.maxMicroseconds) µs (\(histogram.count) samples)"
    }

    private func write(_ histogram: LatencyHistogram, prefix: String, to out: inout JSONWriter) {
        out.field("\(prefix)_samples", histogram.count)
        for (name, percentile) in [("p50", 50.0), ("p99", 99.0), ("p99_9", 99.9)] {
            out.key("\(prefix)_\(name)_us"); out.double(histogram.microseconds(at: percentile))
        }
        out.key("\(prefix)_max_us"); out.double(histogram.maxMicroseconds)
    }

    private func format(_ value: Double) -> String { String(format: "%.0f", value) }
}
