import Foundation
import Testing
import TestSupport

/// A paper run against `keel sim` with recording on, then `keel backtest --parity` on what it recorded:
/// the replay, through the same decision code and the paper venue's own settings, makes the same fills.
struct ParityTests {
    @Test func aPaperRunsRecordingReplaysIntoTheSameFills() async throws {
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Fee-free (no fee floor): quoting near the touch, so a minute and a half brings enough fills to compare.
        let (bot, recordings, yaml) = try await startRecordingPaperBot(sim, in: directory, strategy: ["maker_fee: 0", "min_edge_bps: 0"])
        // Wait for some fills of the paper run, then stop it.
        let logged = try await waitFor(.seconds(90)) {
            let text = (try? String(contentsOfFile: OrderLogFiles.first(in: recordings) ?? "", encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\"event\":\"fill\"").count > 6
        }
        bot.stop()
        #expect(logged, "the paper run made too few fills: \(bot.stderr.text.suffix(2_000))")
        let config = directory.appendingPathComponent("parity.yaml")
        try Data(yaml.utf8).write(to: config)
        let run = try await runKeel(["backtest", "--parity", recordings, "--config", config.path])
        #expect(run.status == 0, "\(run.stderr)")
        let text = run.stdout
        let last = try #require(text.split(separator: "\n").last)
        let parity = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let paperFills = parity["paper_fills"] as? Int ?? 0
        #expect(paperFills >= 5, "\(last)")
        #expect((parity["match_ratio"] as? Double ?? 0) >= 0.9, "\(last)")
        #expect((parity["paper_orders"] as? Int ?? 0) > 0 && (parity["backtest_orders"] as? Int ?? 0) > 0, "\(last)")
        // Both runs' markouts, measured on the same replayed mids.
        let paperMarkouts = try #require(parity["markouts_paper"] as? [String: [String: Any]], "\(last)")
        #expect((paperMarkouts["1s"]?["fills"] as? Int ?? 0) > 0, "\(last)")
        #expect(parity["markouts_backtest"] is [String: Any])
    }
}

enum OrderLogFiles {
    static func first(in directory: String) -> String? {
        (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasPrefix("orders_") }.sorted().first.map { directory + "/" + $0 }
    }
}
