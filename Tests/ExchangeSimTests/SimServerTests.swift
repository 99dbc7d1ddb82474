import Binance
import Bybit
import Storage
import TestSupport
import ExchangeSim
import Foundation
import HummingbirdWSClient
import NIOSSL
import Market
import Testing

private let book50 = BybitBookTopic(symbol: "BTCUSDT", depth: 50)

/// Connects to the public stream, subscribes, and runs `script` with the follower while frames flow.
/// Returns the close frame (nil when the client closed).
@discardableResult
private func follow(_ sim: SimHarness, topics: [String], follower: StreamFollower,
                    script: @escaping @Sendable (StreamFollower, WebSocketOutboundWriter) async throws -> Void) async throws -> WebSocketCloseFrame? {
    try await WebSocketClient.connect(url: sim.publicURL, configuration: .init(maxFrameSize: 8 << 20), logger: SimHarness.quiet) { inbound, outbound, _ in
        try await outbound.write(.text(BybitEncode.subscribe(requestId: "1", topics: topics)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 8 << 20) {
                    if case .text(let text) = message { await follower.receive(text) }
                }
            }
            group.addTask {
                try await script(follower, outbound)
                try await outbound.close(.normalClosure, reason: nil)
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

func waitUntil(_ timeout: Duration = .seconds(5), _ condition: @Sendable () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

@Suite(.serialized)
struct SimServerTests {
    @Test func clientBookEqualsTheTruthOnceTheFlowPauses() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.BTCUSDT", "orderbook.200.BTCUSDT", "publicTrade.BTCUSDT"], follower: follower) { follower, _ in
                // Progress, not wall time: a loaded machine steps slower.
                #expect(try await waitUntil(.seconds(30)) { await follower.progress() > 80 })
                _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":true}"#)
                // Past the 200-level topic's cadence (5 steps): wait until its u stops moving.
                var last: Int64 = -1
                for _ in 0..<100 {
                    try await Task.sleep(for: .milliseconds(300))
                    let now = try await sim.truth(symbol: "BTCUSDT", depth: 1).topics["orderbook.200.BTCUSDT"] ?? 0
                    if now == last { break }
                    last = now
                }
                try await Task.sleep(for: .milliseconds(200))
                let truth50 = try await sim.truth(symbol: "BTCUSDT", depth: 50)
                let truth200 = try await sim.truth(symbol: "BTCUSDT", depth: 200)
                let client50 = await follower.book(book50)
                let client200 = await follower.book(BybitBookTopic(symbol: "BTCUSDT", depth: 200))
                #expect(client50?.isValid == true)
                #expect(client50?.book.levels(.bid) == truth50.bids)
                #expect(client50?.book.levels(.ask) == truth50.asks)
                #expect(client50?.lastUpdateId == truth50.topics["orderbook.50.BTCUSDT"])
                #expect(client200?.book.levels(.bid) == truth200.bids)
                #expect(client200?.book.levels(.ask) == truth200.asks)
            }
            #expect(await follower.gaps() == 0)
            #expect(await follower.malformed == 0)
            #expect(await follower.trades > 100)
            #expect(await follower.responses.first?.success == true)
            #expect(await follower.updateIds.count > 80)
        }
    }

    @Test func unknownTopicGetsBybitsErrorAnswerAndPingGetsPong() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.DOGEUSDT"], follower: follower) { follower, outbound in
                try await outbound.write(.text(BybitEncode.ping(requestId: "p1")))
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "2", topics: ["orderbook.50.BTCUSDT"])))
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "3", topics: ["orderbook.50.BTCUSDT"])))
                #expect(try await waitUntil { await follower.responses.count >= 4 })
            }
            let responses = await follower.responses
            #expect(responses[0].success == false && responses[0].message == "error:handler not found,topic:orderbook.50.DOGEUSDT")
            #expect(responses[1].isPong && responses[1].requestId == "p1")
            #expect(responses[2].success == true)
            #expect(responses[3].success == false && responses[3].message.contains("already subscribed"))
        }
    }

    @Test func gapFaultMakesTheClientSeeAGap() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.BTCUSDT"], follower: follower) { follower, _ in
                #expect(try await waitUntil { await follower.updateIds.count > 5 })
                try await sim.fault(#"{"kind":"gap","symbol":"BTCUSDT"}"#)
                #expect(try await waitUntil { await follower.gaps() == 1 })
            }
        }
    }

    @Test func restartFaultSendsAnUpdateIdOneSnapshot() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.BTCUSDT"], follower: follower) { follower, _ in
                #expect(try await waitUntil { await follower.updateIds.count > 5 })
                try await sim.fault(#"{"kind":"restart"}"#)
                #expect(try await waitUntil { await follower.updateIds.contains(1) })
                #expect(try await waitUntil { (await follower.book(book50)?.lastUpdateId ?? 99) < 20 })
                #expect(await follower.book(book50)?.isValid == true)
            }
        }
    }

    @Test func malformedFaultSendsOneBrokenFrameAndTheStreamGoesOn() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.BTCUSDT"], follower: follower) { follower, _ in
                #expect(try await waitUntil { await follower.updateIds.count > 3 })
                try await sim.fault(#"{"kind":"malformed"}"#)
                #expect(try await waitUntil { await follower.malformed == 1 })
                let after = await follower.updateIds.count
                #expect(try await waitUntil { await follower.updateIds.count > after + 5 })
            }
        }
    }

    @Test func dropAndCloseCodeFaultsCloseTheSocket() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            let close = try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { inbound, outbound, _ in
                try await outbound.write(.text(BybitEncode.ping(requestId: "x")))
                Task { try await Task.sleep(for: .milliseconds(300)); try await sim.fault(#"{"kind":"close_code","code":4001}"#) }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { await follower.receive(text) }
                }
            }
            #expect(close?.closeCode == .init(codeNumber: 4001))
            let dropped = try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { inbound, _, _ in
                Task { try await Task.sleep(for: .milliseconds(300)); try await sim.fault(#"{"kind":"drop"}"#) }
                for try await _ in inbound.messages(maxSize: 1 << 20) {}
            }
            #expect(dropped?.closeCode == .goingAway)
        }
    }

    @Test func rejectFaultRefusesNewConnectionsForItsDuration() async throws {
        try await SimHarness.with { sim in
            try await sim.fault(#"{"kind":"reject","seconds":4}"#)
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { _, outbound, _ in
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
            try await Task.sleep(for: .seconds(4.2))
            try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { _, outbound, _ in
                try await outbound.close(.normalClosure, reason: nil)
            }
            let (_, data) = try await sim.control("GET", "/sim/stats")
            let stats = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            #expect((stats["connections_rejected"] as? Int ?? 0) >= 1)
        }
    }

    @Test func theTruthsBookHasADefaultDepthAndRefusesABadOne() async throws {
        try await SimHarness.with { sim in
            // The flow keeps 60 levels a side once it has stepped: ask until it has (a fresh sim's book is empty).
            var levels = (bids: 0, asks: 0)
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(20) {
                let (status, data) = try await sim.control("GET", "/sim/book?symbol=BTCUSDT")
                #expect(status == 200)
                let book = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                levels = ((book["bids"] as? [Any])?.count ?? -1, (book["asks"] as? [Any])?.count ?? -1)
                if levels.bids > 0 && levels.asks > 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(levels.bids == 50 && levels.asks == 50, "the default depth is 50: \(levels)")
            for depth in ["0", "10001", "abc"] {
                #expect(try await sim.control("GET", "/sim/book?symbol=BTCUSDT&depth=\(depth)").0 == 400, "depth=\(depth)")
            }
        }
    }

    @Test func stallFaultStopsDataButStillAnswersPings() async throws {
        try await SimHarness.with { sim in
            let follower = StreamFollower()
            try await follow(sim, topics: ["orderbook.50.BTCUSDT"], follower: follower) { follower, outbound in
                #expect(try await waitUntil { await follower.updateIds.count > 3 })
                let stalledAt = ContinuousClock.now
                try await sim.fault(#"{"kind":"stall","seconds":4}"#)
                try await Task.sleep(for: .milliseconds(200))
                let during = await follower.updateIds.count
                try await outbound.write(.text(BybitEncode.ping(requestId: "during-stall")))
                #expect(try await waitUntil(.seconds(3)) { await follower.responses.contains { $0.isPong && $0.requestId == "during-stall" } })
                try await Task.sleep(for: .milliseconds(500))
                if ContinuousClock.now - stalledAt < .milliseconds(3_500) {   // still inside the stall
                    #expect(await follower.updateIds.count == during)
                }
                #expect(try await waitUntil(.seconds(20)) { await follower.updateIds.count > during + 3 })
            }
        }
    }

    @Test func restFaultsAndMarketData() async throws {
        try await SimHarness.with { sim in
            let (status, data) = try await sim.get("/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=5")
            #expect(status == 200)
            let envelope = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            #expect(envelope["retCode"] as? Int == 0)
            let result = envelope["result"] as! [String: Any]
            #expect((result["b"] as! [[String]]).count <= 5)
            let (_, bad) = try await sim.get("/v5/market/orderbook?category=linear&symbol=NOPE")
            #expect((try JSONSerialization.jsonObject(with: bad) as! [String: Any])["retCode"] as? Int == 10001)
            try await sim.fault(#"{"kind":"rest_error","seconds":3}"#)
            #expect(try await sim.get("/v5/market/time").0 == 503)
            try await Task.sleep(for: .milliseconds(3_100))
            #expect(try await sim.get("/v5/market/time").0 == 200)
            try await sim.fault(#"{"kind":"latency","seconds":10,"ms":300}"#)
            let start = ContinuousClock.now
            _ = try await sim.get("/v5/market/time")
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            let (badFault, _) = try await sim.control("POST", "/sim/faults", body: #"{"kind":"meteor"}"#)
            #expect(badFault == 400)
            let (_, statsData) = try await sim.control("GET", "/sim/stats")
            let stats = try JSONSerialization.jsonObject(with: statsData) as! [String: Any]
            #expect((stats["faults_applied"] as? [String: Int])?["rest_error"] == 1)
        }
    }
}

@Suite(.serialized)
struct SimTickerKlineTests {
    @Test func tickersSnapshotThenDeltasAndKlineCandles() async throws {
        try await SimHarness.with { sim in
            let frames = Frames()
            try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { inbound, outbound, _ in
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "t", topics: ["tickers.BTCUSDT", "kline.1.BTCUSDT", "kline.M.BTCUSDT"])))
                // Read in this task until two kline pushes (one a second) and some tickers have come, or 30 s.
                let deadline = ContinuousClock.now + .seconds(30)
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { await frames.add(text) }
                    if await frames.topic("kline.1.BTCUSDT").count >= 2, await frames.topic("tickers.BTCUSDT").count > 3 { break }
                    if ContinuousClock.now > deadline { break }
                }
                #expect(await frames.topic("kline.1.BTCUSDT").count >= 2)
                let tickers = await frames.topic("tickers.BTCUSDT")
                #expect(tickers.first?["type"] as? String == "snapshot")
                #expect(tickers.dropFirst().allSatisfy { $0["type"] as? String == "delta" })
                #expect(tickers.count > 3)
                // Apply the deltas as a client would: the result must hold every field of the snapshot.
                var state = tickers.first?["data"] as? [String: String] ?? [:]
                for delta in tickers.dropFirst() { for (key, value) in delta["data"] as! [String: String] { state[key] = value } }
                let last = try FixedDecimal(parsing: state["lastPrice"] ?? "")
                let bid = try FixedDecimal(parsing: state["bid1Price"] ?? "")
                #expect(state.count == (tickers.first?["data"] as? [String: String])?.count)
                #expect(abs((last - bid).doubleValue) < 1_000)
                let candle = ((await frames.topic("kline.1.BTCUSDT")).last?["data"] as? [[String: Any]])?.first
                let high = try FixedDecimal(parsing: candle?["high"] as? String ?? "")
                let low = try FixedDecimal(parsing: candle?["low"] as? String ?? "")
                #expect(high >= low && candle?["interval"] as? String == "1" && candle?["confirm"] as? Bool == false)
                let answer = (await frames.all()).first { $0["op"] as? String == "subscribe" }
                #expect(answer?["success"] as? Bool == false)   // kline.M is not simulated
                #expect((answer?["ret_msg"] as? String)?.contains("kline.M.BTCUSDT") == true)
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }
}

@Suite(.serialized)
struct SimTLSTests {
    @Test func servesWebSocketAndRestOverTLSWithATrustableSelfSignedCertificate() async throws {
        let certificate = FileManager.default.temporaryDirectory.appendingPathComponent("keel-sim-test-\(UUID().uuidString)/cert.pem").path
        try await SimHarness.with({ $0.tls = .selfSigned(certificatePath: certificate) }) { sim in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
            tls.certificateVerification = .fullVerification
            let follower = StreamFollower()
            try await WebSocketClient.connect(url: "wss://localhost:\(sim.ports.main)/v5/public/linear", tlsConfiguration: tls, logger: SimHarness.quiet) { inbound, outbound, _ in
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "1", topics: ["orderbook.50.BTCUSDT"])))
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { await follower.receive(text) }
                    if await follower.updateIds.count >= 5 { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(await follower.updateIds.count >= 5)
            #expect(await follower.gaps() == 0)
            // A client that does not trust the certificate is refused.
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(url: "wss://localhost:\(sim.ports.main)/v5/public/linear",
                                                  tlsConfiguration: .makeClientConfiguration(), logger: SimHarness.quiet) { _, outbound, _ in
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
            // REST over https with curl trusting only that certificate.
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            curl.arguments = ["curl", "-sS", "--cacert", certificate, "https://127.0.0.1:\(sim.ports.main)/v5/market/time"]
            let pipe = Pipe()
            curl.standardOutput = pipe
            try curl.run()
            let body = pipe.fileHandleForReading.readDataToEndOfFile()
            curl.waitUntilExit()
            #expect(curl.terminationStatus == 0)
            #expect(String(decoding: body, as: UTF8.self).contains("\"retCode\":0"))
        }
    }
}

@Suite(.serialized)
struct FaultScheduleTests {
    @Test func scheduleParsesAndNamesTheBadLine() throws {
        let schedule = try FaultSchedule(text: """
        # a comment
        {"at": 1.5, "kind": "gap", "symbol": "BTCUSDT"}

        {"at": 0.2, "kind": "stall", "seconds": 1}
        """)
        #expect(schedule.faults.map(\.kind) == [.stall, .gap])
        #expect(throws: FaultSchedule.ParseError.self) { try FaultSchedule(text: #"{"kind":"drop"}"#) }
        do {
            _ = try FaultSchedule(text: "{\"at\":1,\"kind\":\"drop\"}\n{\"at\":2,\"kind\":\"meteor\"}")
        } catch {
            #expect("\(error)".contains("line 2"))
        }
    }

    @Test func scheduledFaultsAreAppliedOnTime() async throws {
        // Before the sim starts: the schedule's clock starts with the sim, which may be well before it reports ready.
        var started = ContinuousClock.now
        try await SimHarness.with({
            started = .now
            $0.faultSchedule = FaultSchedule(faults: [SimFault(kind: .gap, at: 0.3), SimFault(kind: .malformed, at: 0.6)])
        }) { sim in
            var applied: [String: Int] = [:]
            while applied.count < 2 && ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(100))
                let (_, data) = try await sim.control("GET", "/sim/stats")
                applied = ((try JSONSerialization.jsonObject(with: data) as! [String: Any])["faults_applied"] as? [String: Int]) ?? [:]
            }
            #expect(applied == ["gap": 1, "malformed": 1])
            #expect(ContinuousClock.now - started >= .milliseconds(500))   // not before their time
        }
    }
}

struct SimConfigFileTests {
    private func load(_ json: String) throws -> SimConfiguration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-sim-config-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = SimConfiguration()
        try SimConfigFile.load(path: path).apply(to: &configuration)
        return configuration
    }

    @Test func appliesAccountsInstrumentsAndFlow() throws {
        let configuration = try load("""
        {"seed": 7, "step_ms": 10, "order_rate_limit": 5,
         "accounts": [{"api_key": "k1", "secret": "s1", "balance": "5000"}],
         "instruments": [{"symbol": "SOLUSDT", "tick_size": "0.01", "qty_step": "0.1", "min_qty": "0.1", "start_price": 150}],
         "flow": {"BTCUSDT": {"volatility_per_step": 0.00005, "informed_share": 0.25, "impact_bps": 0.2, "depth_lots": [100, 50],
                              "market_size_sigma": 1.5}}}
        """)
        #expect(configuration.seed == 7 && configuration.stepMilliseconds == 10 && configuration.orderRateLimit == 5)
        #expect(configuration.accounts == [SimAccountConfig(apiKey: "k1", secret: "s1", balance: FixedDecimal(5_000))])
        #expect(configuration.instruments.map(\.symbol) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        #expect(configuration.flow["BTCUSDT"]?.volatilityPerStep == 0.00005)
        #expect(configuration.flow["BTCUSDT"]?.informedShare == 0.25 && configuration.flow["BTCUSDT"]?.impactBps == 0.2)
        #expect(configuration.flow["BTCUSDT"]?.depthLots == [100, 50] && configuration.flow["BTCUSDT"]?.marketSizeSigma == 1.5)
        #expect(configuration.flow["BTCUSDT"]?.marketMedianLots == FlowParameters.calibrated.marketMedianLots)
        #expect(configuration.flow["BTCUSDT"]?.startPrice == 60_000)
        #expect(configuration.flow["SOLUSDT"]?.startPrice == 150)
    }

    @Test(arguments: [
        (#"{"instruments": [{"symbol": "X", "tick_size": 0.01, "qty_step": "1", "min_qty": "1", "start_price": 1}]}"#, "instruments[0].tick_size"),
        (#"{"accounts": [{"api_key": "k1"}]}"#, "accounts[0].secret"),
        (#"{"flow": {"DOGEUSDT": {"mean_lots": 3}}}"#, "flow.DOGEUSDT"),
        (#"{"flow": {"BTCUSDT": {"garch_alpha": 0.5, "garch_beta": 0.6}}}"#, "garch_alpha + garch_beta"),
        (#"{"flow": {"BTCUSDT": {"informed_share": 1.5}}}"#, "flow.BTCUSDT: informed_share must be between 0 and 1"),
        (#"{"flow": {"BTCUSDT": {"impact_bps": -1}}}"#, "flow.BTCUSDT: impact_bps"),
        (#"{"step_ms": 0}"#, "step_ms"),
        ("not json", "not valid JSON"),
    ])
    func badConfigNamesTheKey(json: String, mention: String) {
        do {
            _ = try load(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(mention), "\(error)")
        }
    }
}

@Suite(.serialized, .offThePool)
struct SimReplayTests {
    /// The Binance capture, replayed as fast as the sim takes it: the sim's true book ends equal to
    /// the book Keel's own Binance feed builds from the same file.
    @Test func binanceCaptureReplaysIntoTheSameBook() async throws {
        let path = SharedData.path("binance-usdm/btcusdt_20240808.gz")
        var feed = BinanceFeed()
        try RecordingReader.forEachLine(path: path) { line in
            let recorded = RecordedLine(line)
            feed.ingest(recorded.message, receiveTime: recorded.receiveTime)
        }
        let expected = try #require(feed.bookState(symbol: "BTCUSDT")).book
        try await SimHarness.with({ $0.replay = ReplayConfiguration(path: path, source: .binanceUSDM, speed: 0) }) { sim in
            var stats: [String: Any] = [:]
            let started = ContinuousClock.now
            while (stats["replay_messages"] as? Int ?? 0) < 93_954 && ContinuousClock.now - started < .seconds(120) {
                try await Task.sleep(for: .milliseconds(200))
                stats = try JSONSerialization.jsonObject(with: try await sim.control("GET", "/sim/stats").1) as! [String: Any]
            }
            #expect(stats["replay_messages"] as? Int == 93_954)
            #expect(stats["replay_errors"] as? Int == 0)
            #expect((stats["trades"] as? Int ?? 0) >= 21_313)
            let truth = try await sim.truth(symbol: "BTCUSDT", depth: 20)
            #expect(truth.bids == expected.levels(.bid, limit: 20))
            #expect(truth.asks == expected.levels(.ask, limit: 20))
        }
    }
}

@Suite(.serialized)
struct SlowConsumerTests {
    /// A client that subscribes to a firehose and stops reading is disconnected, not waited for.
    @Test func slowConsumerIsDisconnectedAndCounted() async throws {
        try await SimHarness.with({ configuration in
            configuration.stepMilliseconds = 1
            configuration.sendBufferLimit = 200
        }) { sim in
            let topics = ["BTCUSDT", "ETHUSDT"].flatMap { symbol in [1, 50, 200, 1_000].map { "orderbook.\($0).\(symbol)" } + ["publicTrade.\(symbol)"] }
            let stalled = Task {
                try await WebSocketClient.connect(url: sim.publicURL, configuration: .init(maxFrameSize: 16 << 20), logger: SimHarness.quiet) { inbound, outbound, _ in
                    try await outbound.write(.text(BybitEncode.subscribe(requestId: "1", topics: topics)))
                    try await Task.sleep(for: .seconds(60))   // never reads
                    _ = inbound
                }
            }
            var disconnected = 0
            let started = ContinuousClock.now
            // Bounded, not timed: the kernel's socket buffers take megabytes before the sim's queue fills, and a
            // loaded machine steps the sim slower.
            while disconnected == 0 && ContinuousClock.now - started < .seconds(60) {
                try await Task.sleep(for: .milliseconds(250))
                let stats = try JSONSerialization.jsonObject(with: try await sim.control("GET", "/sim/stats").1) as! [String: Any]
                disconnected = stats["slow_consumers_disconnected"] as? Int ?? 0
            }
            stalled.cancel()
            #expect(disconnected == 1)
            // The sim goes on serving others.
            let follower = StreamFollower()
            try await WebSocketClient.connect(url: sim.publicURL, logger: SimHarness.quiet) { inbound, outbound, _ in
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "2", topics: ["orderbook.50.BTCUSDT"])))
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { await follower.receive(text) }
                    if await follower.updateIds.count >= 3 { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(await follower.updateIds.count >= 3)
        }
    }
}

@Suite(.serialized)
struct IPLimitTests {
    @Test func requestsPastTheIPLimitGetHTTP403() async throws {
        try await SimHarness.with({ $0.ipRequestLimit = 5 }) { sim in
            // All at once, so they land in one 5 s window even on a loaded machine.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await sim.get("/v5/market/time").0 } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == 403 }.count == 3, "\(statuses)")
        }
    }
}
