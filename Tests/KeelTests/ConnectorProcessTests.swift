import Foundation
import Testing
import TestSupport

/// `keel connector bybit` as the bot runs it: a child process with pipes, against a `keel sim` child.
@Suite(.serialized)
struct ConnectorProcessTests {
    @Test func streamsBookEventsAnswersCommandsAndNeverPrintsSecrets() async throws {
        let key = "known-api-key-3f9a1c"
        let secret = "known-api-secret-77b2e4d0"
        // The sim holds one account with these values; the connector trades it.
        let sim = try await SimChildProcess(account: key, secret: secret)
        defer { sim.stop() }
        let port = sim.port

        let child = try ConnectorChild(["bybit", "--symbols", "BTCUSDT,ETHUSDT", "--public-url", "ws://127.0.0.1:\(port)/v5/public/linear",
                                        "--private-url", "ws://127.0.0.1:\(port)/v5/private", "--trade-url", "ws://127.0.0.1:\(port)/v5/trade",
                                        "--rest-url", "http://127.0.0.1:\(port)", "--stats-interval", "1"],
                                       environment: ProcessInfo.processInfo.environment.merging(["BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret]) { $1 })
        let connector = child.process, input = child.input, stdout = child.stdout, stderr = child.stderr
        #expect(try await waitFor { stdout.text.components(separatedBy: "\"type\":\"depth\"").count > 20 && stdout.text.contains("\"type\":\"stats\"") })
        #expect(try await waitFor { stdout.text.contains("\"status\":\"reconciled\"") && stdout.text.contains("\"status\":\"authenticated\",\"connector\":\"bybit\",\"session\":\"trade\"") })
        input.fileHandleForWriting.write(Data(#"{"command":"ping","id":"p-1"}"# .utf8 + [10]))
        input.fileHandleForWriting.write(Data(#"{"command":"place","id":"o-1","symbol":"BTCUSDT","side":"buy","qty":"0.001","price":"1000","client_id":"c-1"}"#.utf8 + [10]))
        input.fileHandleForWriting.write(Data("not json\n".utf8))
        #expect(try await waitFor { stdout.text.contains(#""id":"o-1""#) && stdout.text.contains(#""client_id":"c-1","side":"buy""#) })
        input.fileHandleForWriting.write(Data(#"{"command":"cancel_all","id":"x-1"}"#.utf8 + [10]))
        #expect(try await waitFor { stdout.text.contains(#"{"type":"ack","id":"x-1","command":"cancel_all"}"#) })
        input.fileHandleForWriting.write(Data(#"{"command":"shutdown","id":"bye"}"#.utf8 + [10]))
        connector.waitUntilExit()
        #expect(connector.terminationStatus == 0)

        let lines = stdout.text.split(separator: "\n").map(String.init)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count)                      // every stdout line is one JSON object
        #expect(objects.contains { $0["type"] as? String == "pong" && $0["id"] as? String == "p-1" })
        #expect(objects.contains { $0["type"] as? String == "ack" && $0["id"] as? String == "o-1" })
        let orders = objects.filter { $0["type"] as? String == "order" && $0["client_id"] as? String == "c-1" }
        #expect(orders.map { $0["status"] as? String } == ["new", "cancelled"])
        #expect(orders.first?["price"] as? Double == 1000)
        let stats = objects.last { $0["type"] as? String == "stats" }
        #expect((stats?["topics"] as? [String: Any])?["private.order"] != nil)
        #expect(objects.contains { $0["type"] as? String == "error" && $0["code"] as? String == "bad_command" })
        #expect(objects.last?["type"] as? String == "ack" && objects.last?["id"] as? String == "bye")
        let symbols = Set(objects.filter { $0["type"] as? String == "depth" }.compactMap { $0["symbol"] as? String })
        #expect(symbols == ["BTCUSDT", "ETHUSDT"])
        // Secrets: in no output at all.
        for text in [stdout.text, stderr.text] {
            #expect(!text.contains(key) && !text.contains(secret))
        }
        #expect(stderr.text.split(separator: "\n").allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    /// `instrument` needs no credentials: the grid comes from the exchange's public instruments-info.
    @Test func instrumentAnswersWithTheExchangesGridWithoutCredentials() async throws {
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["BYBIT_API_KEY"] = nil
        environment["BYBIT_API_SECRET"] = nil
        let child = try ConnectorChild(["bybit", "--symbols", "BTCUSDT", "--public-url", "ws://127.0.0.1:\(sim.port)/v5/public/linear",
                                        "--rest-url", "http://127.0.0.1:\(sim.port)"], environment: environment)
        let connector = child.process, input = child.input, stdout = child.stdout
        for (id, symbol) in [("i-1", "BTCUSDT"), ("i-2", "ETHUSDT"), ("i-3", "NOPEUSDT")] {
            input.fileHandleForWriting.write(Data(#"{"command":"instrument","id":"\#(id)","symbol":"\#(symbol)"}"#.utf8 + [10]))
        }
        #expect(try await waitFor { stdout.text.contains(#""id":"i-1""#) && stdout.text.contains(#""id":"i-2""#) && stdout.text.contains(#""id":"i-3""#) })
        input.fileHandleForWriting.write(Data(#"{"command":"shutdown","id":"bye"}"#.utf8 + [10]))
        connector.waitUntilExit()
        let objects = stdout.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func answer(_ id: String) -> [String: Any] { objects.first { $0["id"] as? String == id } ?? [:] }
        // The sim's BTCUSDT and ETHUSDT grids, as its instruments-info lists them.
        #expect(answer("i-1")["type"] as? String == "instrument" && answer("i-1")["status"] as? String == "Trading")
        #expect(answer("i-1")["tick_size"] as? Double == 0.1 && answer("i-1")["qty_step"] as? Double == 0.001 && answer("i-1")["min_qty"] as? Double == 0.001)
        #expect(answer("i-2")["symbol"] as? String == "ETHUSDT" && answer("i-2")["tick_size"] as? Double == 0.01)
        #expect(answer("i-3")["type"] as? String == "error" && answer("i-3")["code"] as? String == "instrument_refused", "\(answer("i-3"))")
        #expect(answer("i-3")["exchange_code"] as? Int == 10001)
    }

    @Test(arguments: [["--symbols", ""], ["--symbols", "BTCUSDT", "--depth", "7"], ["--symbols", "BTCUSDT", "--public-url", "http://x"],
                      ["--symbols", "BTCUSDT", "--ca-file", "/nonexistent.pem"], ["--symbols", "BTCUSDT", "--submit-timeout", "0"],
                      ["--config", "/nonexistent.yaml"], ["--symbols", "BTCUSDT", "--reconnect-base-ms", "900", "--reconnect-cap-ms", "100"]])
    func badConfigurationIsOneLineAndExitTwo(arguments: [String]) async throws {
        let (status, _, text) = try await runKeel(["connector", "bybit"] + arguments)
        #expect(status == 2)
        #expect(text.split(separator: "\n").count == 1, "\(text)")
    }
}
