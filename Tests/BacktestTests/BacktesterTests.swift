import Backtest
import Execution
import Market
import Storage
import Strategy
import Testing
import TestSupport

/// The backtester on the shared Binance USD-M capture and on scripted streams.
@Suite(.offThePool)
struct BacktesterTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func options(latency: Int64 = 20_000_000) -> Backtester.Options {
        touchQuoterOptions(latency: latency)
    }

    /// The first `count` lines of the capture.
    private func capture(_ count: Int) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { line in
            if lines.count < count { lines.append(Array(line)) }
        }
        return lines
    }

    private struct Run {
        var summary: String
        var equity: [String] = []
        var fills: [String] = []
        var intents: [(String, Int64)] = []
        var fillTimes: [(String, Int64)] = []
    }

    private func run(_ lines: [[UInt8]], _ options: Backtester.Options) -> Run {
        var result = Run(summary: "")
        var equity: [String] = [], fills: [String] = [], intents: [(String, Int64)] = [], fillTimes: [(String, Int64)] = []
        var backtester = Backtester(options: options) { output in
            switch output {
            case .equity(let point): equity.append(point.csv)
            case .fill(let fill, _):
                fills.append("\(fill.time),\(fill.side),\(fill.price),\(fill.qty),\(fill.fee)")
                fillTimes.append((fill.clientId, fill.time))
            case .intent(let intent, let time):
                if case .place(let request, _) = intent { intents.append((request.orderLinkId, time)) }
            }
        }
        for line in lines { line.withUnsafeBytes { backtester.ingest(line: $0) } }
        backtester.finish()
        result.summary = backtester.summary.json(seconds: 0)
        result.equity = equity
        result.fills = fills
        result.intents = intents
        result.fillTimes = fillTimes
        return result
    }

    @Test func theCaptureTradesAndTheSameInputGivesByteIdenticalOutput() throws {
        let lines = try capture(30_000)
        let first = run(lines, options())
        let second = run(lines, options())
        #expect(first.summary == second.summary)
        #expect(first.equity == second.equity && first.fills == second.fills)
        #expect(!first.fills.isEmpty && first.equity.count > 10, "\(first.summary)")
        #expect(first.summary.contains("\"orders\":") && first.summary.contains("\"quote_uptime\":"))
    }

    @Test func noOrderFillsOnAnEventEarlierThanItsArrival() throws {
        let latency: Int64 = 150_000_000
        let result = run(try capture(30_000), options(latency: latency))
        let sent = Dictionary(result.intents, uniquingKeysWith: { first, _ in first })
        #expect(!result.fillTimes.isEmpty)
        for (clientId, time) in result.fillTimes {
            let placed = try #require(sent[clientId])
            // The venue's clock (the exchange's, moved onto the local one) is never ahead of the strategy's.
            #expect(time >= placed + latency, "\(clientId): placed \(placed), filled \(time)")
        }
    }

    @Test func aLongerLatencyFillsNoMoreOftenOnTheSameData() throws {
        let lines = try capture(30_000)
        func fills(_ result: Run) -> Int { result.fills.count }
        let fast = run(lines, options(latency: 1_000_000))
        let slow = run(lines, options(latency: 2_000_000_000))
        #expect(fills(fast) > 0 && fills(slow) <= fills(fast) * 2, "fast \(fast.summary) slow \(slow.summary)")
    }
}
