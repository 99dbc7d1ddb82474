import Foundation
import Testing
import TestSupport

struct KeelBookCommandTests {
    @Test func binanceCaptureGivesTheExactFinalBook() async throws {
        let result = try await runKeel(["book", "--exchange", "binance-usdm", "--depth", "3", SharedData.path("binance-usdm/btcusdt_20240808.gz")])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(report["exchange"] as? String == "binance-usdm")
        #expect(report["symbol"] as? String == "BTCUSDT")
        #expect(report["messages"] as? Int == 93_954)
        #expect(report["errors"] as? Int == 0)
        #expect(report["snapshots"] as? Int == 1)
        #expect(report["deltas"] as? Int == 6_551)
        #expect(report["trades"] as? Int == 21_313)
        #expect(report["gaps"] as? Int == 0)
        #expect(report["valid"] as? Bool == true)
        #expect(report["last_update_id"] as? Int == 5_123_135_475_514)
        #expect(report["bid_levels"] as? Int == 5_018)
        #expect(report["ask_levels"] as? Int == 4_578)
        #expect(report["bids"] as? [[String]] == [["61659.70", "1.486"], ["61659.00", "0.002"], ["61658.10", "0.033"]])
        #expect(report["asks"] as? [[String]] == [["61659.80", "0.981"], ["61659.90", "0.188"], ["61660.00", "7.977"]])
        // Key order as documented.
        #expect(lines[0].hasPrefix(#"{"exchange":"binance-usdm","symbol":"BTCUSDT","messages":93954,"errors":0,"snapshots":1,"deltas":6551,"trades":21313,"gaps":0,"valid":true,"last_update_id":5123135475514,"bid_levels":5018,"ask_levels":4578,"bids":"#))
    }

    @Test func bybitSampleReportsTheValidTopic() async throws {
        let result = try await runKeel(["book", "--exchange", "bybit", SharedData.path("bybit/recorded-sample.txt")])
        #expect(result.status == 0)
        #expect(result.stdout == #"{"exchange":"bybit","symbol":"BTCUSDT","messages":3,"errors":0,"snapshots":1,"deltas":1,"trades":1,"gaps":0,"valid":true,"last_update_id":14869255,"bid_levels":1,"ask_levels":1,"bids":[["109378.80","1.273"]],"asks":[["109378.90","6.278"]]}"# + "\n")
    }

    @Test func unreadableFileIsAOneLineErrorAndNonZeroExit() async throws {
        let result = try await runKeel(["book", "--exchange", "bybit", "/nonexistent/capture.gz"])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        let errorLines = result.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(result.stderr.contains("/nonexistent/capture.gz"))
    }

    @Test func unknownExchangeNamesTheAllowedValues() async throws {
        let result = try await runKeel(["book", "--exchange", "kraken", SharedData.path("bybit/recorded-sample.txt")])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bybit") && result.stderr.contains("binance-usdm"))
    }

    @Test func benchFeedPrintsAJSONSummaryLast() async throws {
        let result = try await runKeel(["bench", "feed", "--exchange", "bybit", "--iterations", "2", SharedData.path("bybit/recorded-sample.txt")])
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(result.stdout.split(separator: "\n").last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(summary["messages"] as? Int == 3)
        for key in ["messages_per_sec", "mb_per_sec", "ns_per_message"] { #expect(summary[key] is NSNumber, "\(key)") }
    }

    /// The bot of `keel run` against the replaying peer: order commands come back for book events, and the floor of
    /// the same run (the peer's pipes through `cat`) is reported beside them.
    @Test func benchBotTimesQuotesAgainstTheReplayedCaptureAndItsPipesFloor() async throws {
        let result = try await runKeel(["bench", "bot", "--seconds", "2", "--rate", "200", SharedData.path("binance-usdm/btcusdt_20240808.gz")])
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(result.stdout.split(separator: "\n").last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let quotes = try #require(summary["quotes"] as? Int)
        let books = try #require(summary["book_events"] as? Int)
        #expect(books >= 300 && books <= 420, "\(summary)")
        #expect(quotes > 0 && quotes <= books, "\(summary)")
        for key in ["p50_us", "p99_us", "p999_us", "max_us", "baseline_p50_us", "baseline_p99_us"] {
            #expect(((summary[key] as? NSNumber)?.doubleValue ?? 0) > 0, "\(key): \(summary)")
        }
        #expect((summary["p50_us"] as! NSNumber).doubleValue <= (summary["max_us"] as! NSNumber).doubleValue)
    }
}
