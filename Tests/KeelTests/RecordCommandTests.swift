import Foundation
import Testing
import TestSupport

/// `keel record` against a `keel sim`, and `keel book` reading what it wrote.
@Suite(.serialized)
struct RecordCommandTests {
    private struct Recorder {
        let process = Process()
        let stdout: Collector
        let stderr: Collector

        init(_ sim: SimChildProcess, out: URL, extra: [String] = []) throws {
            process.executableURL = try keelURL()
            process.arguments = ["record", "--exchange", "bybit", "--symbols", "BTCUSDT,ETHUSDT", "--out", out.path,
                                 "--public-url", "ws://127.0.0.1:\(sim.port)/v5/public/linear"] + extra
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            stdout = Collector(output.fileHandleForReading)
            stderr = Collector(errors.fileHandleForReading)
        }
    }

    private func book(_ file: String, symbol: String) async throws -> (status: Int32, json: [String: Any], stderr: String) {
        let run = try await runKeel(["book", "--exchange", "bybit", "--symbol", symbol, "--depth", "50", file])
        let json = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
        return (run.status, json, run.stderr)
    }

    private func dayFile(_ out: URL, _ symbol: String) throws -> String {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasPrefix(symbol + "_") && $0.hasSuffix(".gz") })
        #expect(name.count == symbol.count + 12)
        return out.appendingPathComponent(name).path
    }

    @Test func aRecordingOfTheSimReplayedByKeelBookEndsEqualToTheSimsTruth() async throws {
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let recorder = try Recorder(sim, out: out, extra: ["--flush-interval", "1"])
        defer { if recorder.process.isRunning { recorder.process.terminate() } }
        // Let it record a few seconds of flow, then pause the flow and take the truth.
        _ = try await waitFor(.seconds(60)) { recorder.stderr.text.components(separatedBy: "keel_record_file_opened").count > 2 }
        try await Task.sleep(for: .seconds(3))
        _ = try await post("http://127.0.0.1:\(sim.controlPort)/sim/flow", body: #"{"paused":true}"#)
        try await Task.sleep(for: .seconds(1))
        let (_, body) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/book?symbol=BTCUSDT&depth=50")
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        recorder.process.interrupt()
        recorder.process.waitUntilExit()
        #expect(recorder.process.terminationStatus == 0)
        await recorder.stdout.drained()
        let summary = try #require(recorder.stdout.text.split(separator: "\n").last.flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect((summary["frames"] as? Int ?? 0) > 100 && summary["files"] as? Int == 2 && summary["dropped"] as? Int == 0)

        let replayed = try await book(try dayFile(out, "BTCUSDT"), symbol: "BTCUSDT")
        #expect(replayed.status == 0 && replayed.json["valid"] as? Bool == true && replayed.json["gaps"] as? Int == 0)
        #expect(replayed.json["bids"] as? [[String]] == truth["bids"] as? [[String]])
        #expect(replayed.json["asks"] as? [[String]] == truth["asks"] as? [[String]])
        let topics = try #require(truth["topics"] as? [String: Any])
        #expect((replayed.json["last_update_id"] as? NSNumber)?.int64Value == (topics["orderbook.50.BTCUSDT"] as? NSNumber)?.int64Value)
        #expect(try await book(try dayFile(out, "ETHUSDT"), symbol: "ETHUSDT").json["valid"] as? Bool == true)
    }

    /// Binance USD-M: the combined-stream frames and the REST snapshots go in as received; a `pu` break
    /// and a dropped connection in the middle (each mended by a new snapshot line); `keel book` ends on
    /// the sim's truth and `keel backtest` runs on the file.
    @Test func aBinanceRecordingWithAPuBreakAndADropReplaysToTheTruth() async throws {
        let sim = try await SimChildProcess(arguments: ["--exchange", "binance-usdm"])
        defer { sim.stop() }
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let recorder = Process()
        recorder.executableURL = try keelURL()
        recorder.arguments = ["record", "--exchange", "binance-usdm", "--symbols", "BTCUSDT", "--out", out.path, "--flush-interval", "1",
                              "--public-url", "ws://127.0.0.1:\(sim.port)", "--rest-url", "http://127.0.0.1:\(sim.port)"]
        let output = Pipe(), errors = Pipe()
        recorder.standardOutput = output
        recorder.standardError = errors
        try recorder.run()
        defer { if recorder.isRunning { recorder.terminate() } }
        let stdout = Collector(output.fileHandleForReading)
        let stderr = Collector(errors.fileHandleForReading)
        _ = try await waitFor(.seconds(60)) { stderr.text.contains("binance_book_synced") }
        try await Task.sleep(for: .seconds(1))
        try await sim.fault(#"{"kind":"pu_break","symbol":"BTCUSDT"}"#)
        _ = try await waitFor { stderr.text.components(separatedBy: "binance_book_synced").count > 2 }
        try await sim.fault(#"{"kind":"drop"}"#)
        _ = try await waitFor { stderr.text.components(separatedBy: "binance_book_synced").count > 3 }
        try await Task.sleep(for: .seconds(1))
        _ = try await post("http://127.0.0.1:\(sim.controlPort)/sim/flow", body: #"{"paused":true}"#)
        try await Task.sleep(for: .seconds(1))
        let (_, body) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/book?symbol=BTCUSDT&depth=50")
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        recorder.interrupt()
        recorder.waitUntilExit()
        #expect(recorder.terminationStatus == 0)
        await stdout.drained()
        let summary = try #require(stdout.text.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect((summary["frames"] as? Int ?? 0) > 100 && summary["dropped"] as? Int == 0)

        let file = try dayFile(out, "BTCUSDT")
        let run = try await runKeel(["book", "--exchange", "binance-usdm", "--symbol", "BTCUSDT", "--depth", "50", file])
        let replayed = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        #expect(run.status == 0 && replayed["valid"] as? Bool == true)
        #expect((replayed["snapshots"] as? Int ?? 0) >= 3, "\(replayed)")
        #expect(replayed["bids"] as? [[String]] == truth["bids"] as? [[String]])
        #expect(replayed["asks"] as? [[String]] == truth["asks"] as? [[String]])
        #expect((replayed["last_update_id"] as? NSNumber)?.int64Value == (truth["update_id"] as? NSNumber)?.int64Value)

        let config = out.appendingPathComponent("bot.yaml")
        try Data("strategy:\n  order_levels: 1\n".utf8).write(to: config)
        let backtest = try await runKeel(["backtest", "--exchange", "binance-usdm", "--config", config.path, file])
        #expect(backtest.status == 0, "\(backtest.stderr)")
        let result = try #require(backtest.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect((result["events"] as? Int ?? 0) > 100 && result["symbol"] as? String == "BTCUSDT")
    }

    @Test func killNineMidRecordingLeavesAFileKeelBookReads() async throws {
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let recorder = try Recorder(sim, out: out, extra: ["--flush-interval", "0.5"])
        _ = try await waitFor(.seconds(60)) { recorder.stderr.text.contains("keel_record_file_opened") }
        try await Task.sleep(for: .seconds(3))
        kill(recorder.process.processIdentifier, SIGKILL)
        recorder.process.waitUntilExit()
        let replayed = try await book(try dayFile(out, "BTCUSDT"), symbol: "BTCUSDT")
        #expect(replayed.status == 0, "\(replayed.stderr)")
        // Three seconds of flow at a 0.5 s flush: most of it is in finished members.
        #expect((replayed.json["messages"] as? Int ?? 0) > 50 && replayed.json["errors"] as? Int == 0)
        #expect(replayed.json["valid"] as? Bool == true)
        if replayed.stderr.contains("warning") { #expect(replayed.stderr.contains("before the cut")) }
    }

    @Test(arguments: [(["--duration", "soon"], "write e.g. 90s, 10m or 24h"), (["--flush-interval", "0"], "--flush-interval must be a positive number"),
                      (["--public-url", "http://x"], "exchange.binance.public_url"), (["--exchange", "kraken"], "binance-usdm")])
    func badArgumentsAreRefusedWithTheFix(arguments: [String], fix: String) async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("keel-record-bad-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = ["record", "--exchange", "binance-usdm", "--symbols", "BTCUSDT", "--out", out, "--duration", "1s"]
        command += arguments
        let run = try await runKeel(command)
        #expect(run.status != 0 && run.stderr.contains(fix), "\(run.stderr)")
    }
}
