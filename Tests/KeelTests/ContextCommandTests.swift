import Foundation
import Testing
import TestSupport

/// The market context, live and from a recording: the bot's `/context/BTCUSDT` against `keel context` on
/// the frames its own connector recorded — the same trades, the same code, the same figures.
struct ContextCommandTests {
    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func keelContextOfTheBotsRecordingEqualsWhatTheBotShowed() async throws {
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // No REST backfill: the recording holds only the trades the bot saw, and the two must agree on them.
        let (bot, recordings, _) = try await startRecordingPaperBot(sim, in: directory, extra: "context:\n  backfill: 0")
        defer { bot.stop() }
        #expect(try await waitFor(.seconds(60)) {
            guard let (status, body) = try? await get(bot.base + "/context/BTCUSDT"), status == 200,
                  let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return false }
            return (object["trades"] as? Int ?? 0) > 300
        })
        // The market stops; what the bot shows then is what the recording must give.
        _ = try await post("http://127.0.0.1:\(sim.controlPort)/sim/flow", body: #"{"paused":true}"#)
        try await Task.sleep(for: .seconds(2))
        let live = try json(try await get(bot.base + "/context/BTCUSDT").1)
        #expect(try await get(bot.base + "/context/ETHUSDT").0 == 404)
        bot.stop()
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: recordings).first { $0.hasPrefix("BTCUSDT_") })
        let run = try await runKeel(["context", "--exchange", "bybit", "--tick-size", "0.1", "--interval", "1m", recordings + "/" + file])
        #expect(run.status == 0, "\(run.stderr)")
        let replayed = try json(run.stdout)

        #expect(replayed["trades"] as? Int == live["trades"] as? Int)
        for key in ["vwap", "cvd", "profile"] {
            let mine = replayed[key] as? [String: Any] ?? [:], theirs = live[key] as? [String: Any] ?? [:]
            for field in ["session", "poc", "vah", "val"] where theirs[field] != nil {
                #expect(mine[field] as? String == theirs[field] as? String, "\(key).\(field)")
            }
        }
        // Every minute with trades, field by field (the bot's timer may have closed its last candle since).
        func traded(_ object: [String: Any]) -> [Int64: [String: String]] {
            var minutes: [Int64: [String: String]] = [:]
            for candle in (object["candles"] as? [String: Any])?["1m"] as? [[String: Any]] ?? [] where (candle["n"] as? Int ?? 0) > 0 {
                let t = (candle["t"] as! NSNumber).int64Value
                minutes[t] = candle.compactMapValues { $0 as? String }.merging(["n": "\(candle["n"]!)"]) { $1 }
            }
            return minutes
        }
        let mine = traded(replayed), theirs = traded(live)
        #expect(!theirs.isEmpty && mine == theirs)
    }
}
