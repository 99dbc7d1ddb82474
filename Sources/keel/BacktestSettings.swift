import Backtest
import Connector
import Execution
import Market
import Runtime
import Service
import Storage

/// The `backtest` section of the bot's configuration file: the simulated venue's models. Unset keys
/// take the paper venue's values (`strategy.paper_latency_ms`, `strategy.maker_fee`, `strategy.taker_fee`), so a
/// backtest of a paper run's config models what the paper run modelled.
struct BacktestSettings {
    var orderLatencyMilliseconds: Int64?
    /// A bot's `orders_*.jsonl` (or a directory of them): measured request → ack latencies.
    var latencyFile: String?
    var queue = QueueModel.riskAverse
    var partialFills = true
    var makerFee: FixedDecimal?
    var takerFee: FixedDecimal?
    var venueClock = Backtester.VenueClock.exchange
    var equityInterval = 1.0

    static let keys = [
        "backtest.order_latency_ms", "backtest.latency_file", "backtest.queue_model", "backtest.queue_function", "backtest.queue_power",
        "backtest.partial_fills", "backtest.maker_fee", "backtest.taker_fee", "backtest.feed_latency", "backtest.equity_interval",
    ]

    /// The file's `backtest` keys (its `strategy` and `risk` sections are read as the bot reads them).
    static func load(file: String) async throws(ConnectorSettings.Invalid) -> BacktestSettings {
        var settings = BacktestSettings()
        var function = "power"
        var power = 2.0
        var model = "risk_averse"
        for (key, text) in try await ConnectorSettings.fileValues(file, keys: keys) {
            let setting = SettingValue(key: key, text: text)
            switch key {
            case "backtest.order_latency_ms": settings.orderLatencyMilliseconds = Int64(try setting.integer(0...60_000))
            case "backtest.latency_file": settings.latencyFile = setting.text
            case "backtest.queue_model":
                guard ["risk_averse", "probabilistic"].contains(setting.text) else {
                    throw setting.invalid("\(setting.text) is not a queue model", fix: "use risk_averse or probabilistic")
                }
                model = setting.text
            case "backtest.queue_function":
                guard ["power", "log"].contains(setting.text) else { throw setting.invalid("\(setting.text) is not a queue function", fix: "use power or log") }
                function = setting.text
            case "backtest.queue_power": power = try setting.number(0.01...100)
            case "backtest.partial_fills": settings.partialFills = try setting.bool()
            case "backtest.maker_fee":
                guard let fee = try? FixedDecimal(parsing: setting.text) else { throw setting.invalid("\(setting.text) is not a decimal", fix: "write a rate, e.g. 0.0002 (negative for a rebate)") }
                settings.makerFee = fee
            case "backtest.taker_fee":
                guard let fee = try? FixedDecimal(parsing: setting.text) else { throw setting.invalid("\(setting.text) is not a decimal", fix: "write a rate, e.g. 0.00055") }
                settings.takerFee = fee
            case "backtest.feed_latency":
                guard let clock = ["recorded": Backtester.VenueClock.exchange, "none": .local][setting.text] else {
                    throw setting.invalid("\(setting.text) is not a feed latency", fix: "use recorded (each line's local time against the exchange's) or none")
                }
                settings.venueClock = clock
            case "backtest.equity_interval": settings.equityInterval = try setting.seconds(example: "1")
            default: break
            }
        }
        if model == "probabilistic" { settings.queue = .probabilistic(function == "log" ? .log : .power(power)) }
        return settings
    }

    /// The simulated venue: the paper venue's settings, with this section's models over them.
    func venue(paper: PaperExchange.Configuration, measured: OrderLatency?) -> PaperExchange.Configuration {
        var venue = paper
        if let orderLatencyMilliseconds { venue.latency = orderLatencyMilliseconds * 1_000_000 }
        venue.measuredLatency = measured
        venue.queue = queue
        venue.partialFills = partialFills
        if let makerFee { venue.makerFeeRate = makerFee }
        if let takerFee { venue.takerFeeRate = takerFee }
        return venue
    }

}

extension QueueModel {
    /// As the report's title names it.
    var name: String {
        switch self {
        case .riskAverse: return "risk_averse"
        case .probabilistic(.power(let n)): return "probabilistic power \(n)"
        case .probabilistic(.log): return "probabilistic log"
        }
    }
}

extension OrderLog {
    /// The measured order latency of a bot's order log (file or directory); an error names the file and line.
    static func latency(path: String) throws -> OrderLatency {
        let points = latencies(try read(path: path))
        guard !points.isEmpty else { throw OrderLog.Invalid(path: path, line: 0, reason: "no request with its ack") }
        return OrderLatency(measured: points, fallback: points[0].latency)
    }
}
