import ArgumentParser
import Bybit
import Foundation
import HummingbirdWSClient
import Logging
import Market

/// `keel bench sim`: what one `keel sim` process sustains — public messages to a subscriber, and
/// order requests on the trade stream — with the sim's own CPU time read from /proc.
struct SimBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Measure keel sim: public messages/s to one subscriber, order requests/s on the trade stream.",
        discussion: """
        Starts `keel sim` (this binary) as a child process with --symbols instruments and a 1 ms step, \
        subscribes one client to every orderbook and publicTrade topic for --seconds, then pipelines \
        order.create/order.cancel pairs on /v5/trade (--window in flight) for --seconds. Prints each phase \
        and, last, a JSON object. CPU is the child's user+system time over the phase's wall time \
        (1.0 = one core busy). Use a release build.
        """
    )

    @Option(help: "Seconds per phase.")
    var seconds = 10.0

    @Option(help: "Instruments in the simulated market (BTCUSDT, ETHUSDT, then synthetic ones).")
    var symbols = 8

    @Option(help: "Order requests in flight on the trade stream.")
    var window = 64

    func validate() throws {
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (1...50).contains(symbols) else { throw ValidationError("--symbols must be 1–50") }
        guard (1...1_000).contains(window) else { throw ValidationError("--window must be 1–1000") }
    }

    func run() async throws {
        SimChild.warnIfDebug()
        let (names, instruments) = SimChild.market(symbols: symbols)
        let limits = #""order_rate_limit":100000000,"ip_request_limit":100000000"#
        // Phase 1 runs a busy market (every symbol, 1 ms steps); phase 2 the default market, so
        // each figure is the sim doing that one job.
        let (publicChild, publicPort) = try SimChild.start(config: #"{"step_ms":1,\#(limits),"instruments":[\#(instruments)]}"#)
        defer { publicChild.terminate(); publicChild.waitUntilExit() }
        var logger = Logger(label: "keel.bench")
        logger.logLevel = .critical

        // Phase 1: public messages to one subscriber.
        let topics = names.flatMap { name in [1, 50, 200, 1_000].map { "orderbook.\($0).\(name)" } + ["publicTrade.\(name)"] }
        let counter = Counter()
        let publicCPU = try await SimChild.measure(pid: publicChild.processIdentifier) {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(publicPort)/v5/public/linear", configuration: .init(maxFrameSize: 16 << 20), logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "bench", topics: topics)))
                let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    if case .text(let text) = message { await counter.add(bytes: text.utf8.count) }
                    if ContinuousClock.now >= deadline { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let (messages, bytes) = await counter.totals()
        let publicRate = Double(messages) / publicCPU.wall
        print("public: \(messages) messages (\(topics.count) topics, \(symbols) symbols) in \(format(publicCPU.wall)) s: \(format(publicRate)) msg/s, \(format(Double(bytes) / publicCPU.wall / 1e6)) MB/s, sim CPU \(format(publicCPU.cpu)) cores")

        // Phase 2: order requests on the trade stream, create and cancel in turn.
        publicChild.terminate()
        let (orderChild, orderPort) = try SimChild.start(config: "{\(limits)}")
        defer { orderChild.terminate(); orderChild.waitUntilExit() }
        let acks = Counter()
        let orderCPU = try await SimChild.measure(pid: orderChild.processIdentifier) {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(orderPort)/v5/trade", logger: logger) { inbound, outbound, _ in
                let expires = Int64(Date().timeIntervalSince1970 * 1_000) + 60_000
                try await outbound.write(.text(BybitEncode.auth(requestId: "a", apiKey: "keel-demo-key", expires: expires,
                                                                signature: BybitSigning.authSignature(secret: "keel-demo-secret", expires: expires))))
                var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                _ = try await iterator.next()   // the auth answer
                let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
                var sent = 0
                func request(_ index: Int) -> String {
                    let link = "b\(index / 2)"
                    if index % 2 == 0 {
                        return #"{"reqId":"\#(index)","header":{},"op":"order.create","args":[{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"1000.00","orderLinkId":"\#(link)"}]}"#
                    }
                    return #"{"reqId":"\#(index)","header":{},"op":"order.cancel","args":[{"category":"linear","symbol":"BTCUSDT","orderLinkId":"\#(link)"}]}"#
                }
                while sent < window {
                    try await outbound.write(.text(request(sent)))
                    sent += 1
                }
                while let message = try await iterator.next() {
                    guard case .text(let text) = message else { continue }
                    await acks.add(bytes: text.contains("\"retCode\":0") ? 0 : 1)
                    if ContinuousClock.now >= deadline { break }
                    try await outbound.write(.text(request(sent)))
                    sent += 1
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let (answered, failures) = await acks.totals()
        let orderRate = Double(answered) / orderCPU.wall
        print("orders: \(answered) acked (\(failures) refused) in \(format(orderCPU.wall)) s: \(format(orderRate)) requests/s, sim CPU \(format(orderCPU.cpu)) cores")

        var out = JSONWriter()
        out.beginObject()
        out.field("symbols", symbols)
        out.field("public_topics", topics.count)
        out.key("public_messages_per_sec"); out.double((publicRate).rounded())
        out.key("public_mb_per_sec"); out.double((Double(bytes) / publicCPU.wall / 1e4).rounded() / 100)
        out.key("public_sim_cpu_cores"); out.double((publicCPU.cpu * 100).rounded() / 100)
        out.key("order_requests_per_sec"); out.double(orderRate.rounded())
        out.field("order_requests_refused", failures)
        out.key("order_sim_cpu_cores"); out.double((orderCPU.cpu * 100).rounded() / 100)
        out.endObject()
        print(out.string)
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
}

actor Counter {
    var count = 0
    var bytes = 0
    func add(bytes: Int) {
        count += 1
        self.bytes += bytes
    }
    func totals() -> (Int, Int) { (count, bytes) }
}
