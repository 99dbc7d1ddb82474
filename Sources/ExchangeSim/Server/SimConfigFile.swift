import Foundation
import Market

/// `keel sim --config FILE`: JSON with snake_case keys, every part optional.
///
///     {"seed": 7, "step_ms": 20,
///      "accounts": [{"api_key": "k1", "secret": "s1", "balance": "50000"}],
///      "instruments": [{"symbol": "SOLUSDT", "tick_size": "0.01", "qty_step": "0.1", "min_qty": "0.1", "start_price": 150}],
///      "flow": {"BTCUSDT": {"volatility_per_step": 0.00005, "market_orders_per_step": 1.2, "informed_share": 0.3}},
///      "order_rate_limit": 10, "ip_request_limit": 600, "send_buffer_limit": 20000, "max_connections": 500}
///
/// Instruments are added to (or replace, by symbol) the defaults; accounts replace the demo account.
public struct SimConfigFile: Decodable, Sendable {
    public struct Account: Decodable, Sendable {
        var apiKey: String
        var secret: String
        var balance: FixedDecimal?
        var makerFeeRate: FixedDecimal?
        var takerFeeRate: FixedDecimal?
    }

    public struct InstrumentEntry: Decodable, Sendable {
        var symbol: String
        var tickSize: FixedDecimal
        var qtyStep: FixedDecimal
        var minQty: FixedDecimal
        var startPrice: Double
    }

    /// Any subset of `FlowParameters`.
    public struct Flow: Decodable, Sendable {
        var startPrice: Double?
        var volatilityPerStep: Double?
        var garchAlpha: Double?
        var garchBeta: Double?
        var limitOrdersPerStep: Double?
        var marketOrdersPerStep: Double?
        var cancelProbability: Double?
        var meanLots: Double?
        var depthDecayTicks: Double?
        var minLevels: Int?
        var maxDistanceTicks: Int64?
        var informedShare: Double?
        var informedHorizonSteps: Int?
        var informedSizeMultiple: Double?
        var marketMedianLots: Double?
        var marketSizeSigma: Double?
        var maxMarketLots: Double?
        var impactBps: Double?
        var depthLots: [Double]?
        var staleCancelProbability: Double?
        var replenishProbability: Double?

        func apply(to parameters: inout FlowParameters) {
            func set<Value>(_ key: WritableKeyPath<FlowParameters, Value>, _ value: Value?) {
                if let value { parameters[keyPath: key] = value }
            }
            set(\.startPrice, startPrice)
            set(\.volatilityPerStep, volatilityPerStep)
            set(\.garchAlpha, garchAlpha)
            set(\.garchBeta, garchBeta)
            set(\.limitOrdersPerStep, limitOrdersPerStep)
            set(\.marketOrdersPerStep, marketOrdersPerStep)
            set(\.cancelProbability, cancelProbability)
            set(\.meanLots, meanLots)
            set(\.depthDecayTicks, depthDecayTicks)
            set(\.minLevels, minLevels)
            set(\.maxDistanceTicks, maxDistanceTicks)
            set(\.informedShare, informedShare)
            set(\.informedHorizonSteps, informedHorizonSteps)
            set(\.informedSizeMultiple, informedSizeMultiple)
            set(\.marketMedianLots, marketMedianLots)
            set(\.marketSizeSigma, marketSizeSigma)
            set(\.maxMarketLots, maxMarketLots)
            set(\.impactBps, impactBps)
            set(\.depthLots, depthLots)
            set(\.staleCancelProbability, staleCancelProbability)
            set(\.replenishProbability, replenishProbability)
        }
    }

    var seed: UInt64?
    var stepMs: Int?
    var accounts: [Account]?
    var instruments: [InstrumentEntry]?
    var flow: [String: Flow]?
    var orderRateLimit: Int?
    var ipRequestLimit: Int?
    var sendBufferLimit: Int?
    var maxConnections: Int?

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a config file; every mistake names the key and what to write instead.
    public static func load(path: String) throws(LoadError) -> SimConfigFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LoadError(description: "config \(path): cannot read it (\(error.localizedDescription))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(SimConfigFile.self, from: data)
        } catch let error as DecodingError {
            throw LoadError(description: "config \(path): \(describe(error))")
        } catch {
            throw LoadError(description: "config \(path): not JSON (\(error.localizedDescription))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(snake(key.stringValue))" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing key \(parent.isEmpty ? "" : parent + ".")\(snake(key.stringValue)) (add it)"
        case .typeMismatch(let type, let context):
            return "key \(path(context.codingPath)): expected \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "key \(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "key \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func snake(_ camel: String) -> String {
        var out = ""
        for character in camel {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }

    /// Applies the file to a configuration, checking values a decoder cannot.
    public func apply(to configuration: inout SimConfiguration) throws(LoadError) {
        if let seed { configuration.seed = seed }
        if let stepMs {
            guard (1...1_000).contains(stepMs) else { throw LoadError(description: "config key step_ms: must be 1–1000") }
            configuration.stepMilliseconds = stepMs
        }
        for (index, entry) in (instruments ?? []).enumerated() {
            guard entry.tickSize.signum > 0, entry.qtyStep.signum > 0, entry.minQty.signum > 0, entry.startPrice > 0 else {
                throw LoadError(description: "config key instruments[\(index)]: tick_size, qty_step, min_qty and start_price must be positive")
            }
            configuration.instruments.removeAll { $0.symbol == entry.symbol }
            configuration.instruments.append(Instrument(symbol: entry.symbol, tickSize: entry.tickSize, qtyStep: entry.qtyStep, minQty: entry.minQty))
            configuration.flow[entry.symbol] = FlowParameters(startPrice: entry.startPrice)
        }
        for (symbol, overrides) in flow ?? [:] {
            guard configuration.instruments.contains(where: { $0.symbol == symbol }) else {
                throw LoadError(description: "config key flow.\(symbol): no such instrument (add it under instruments)")
            }
            var parameters = configuration.flow[symbol] ?? FlowParameters(startPrice: overrides.startPrice ?? 100)
            overrides.apply(to: &parameters)
            if let problem = parameters.problem() { throw LoadError(description: "config key flow.\(symbol): \(problem)") }
            configuration.flow[symbol] = parameters
        }
        if let accounts, !accounts.isEmpty {
            configuration.accounts = accounts.map {
                SimAccountConfig(apiKey: $0.apiKey, secret: $0.secret, balance: $0.balance ?? FixedDecimal(100_000),
                                 makerFeeRate: $0.makerFeeRate ?? SimAccountConfig.demo.makerFeeRate,
                                 takerFeeRate: $0.takerFeeRate ?? SimAccountConfig.demo.takerFeeRate)
            }
        }
        if let orderRateLimit { configuration.orderRateLimit = orderRateLimit }
        if let ipRequestLimit { configuration.ipRequestLimit = ipRequestLimit }
        if let sendBufferLimit { configuration.sendBufferLimit = sendBufferLimit }
        if let maxConnections { configuration.maxConnections = maxConnections }
    }
}
