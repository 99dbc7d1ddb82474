import Foundation
import Market

/// `GET /fapi/v1/exchangeInfo`, the parts Keel reads: each symbol's status and its filters — the tick
/// from `PRICE_FILTER`, step and limits from `LOT_SIZE`, the minimum notional from `MIN_NOTIONAL`.
/// A REST answer, read once at start: Codable is fine here.
public struct BinanceExchangeInfo: Sendable, Decodable {
    public struct Symbol: Sendable, Decodable {
        public var symbol: String
        public var status: String
        public var contractType: String?
        public var filters: [Filter]
    }

    public struct Filter: Sendable, Decodable {
        public var filterType: String
        public var tickSize: String?
        public var stepSize: String?
        public var minQty: String?
        public var maxQty: String?
        public var notional: String?
    }

    public var serverTime: Int64?
    public var symbols: [Symbol]

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        /// A filter Keel needs is missing or not a decimal.
        case filter(symbol: String, name: String)

        public var description: String {
            switch self {
            case .malformed(let reason): return "exchangeInfo is not Binance's shape: \(reason)"
            case .filter(let symbol, let name): return "exchangeInfo of \(symbol) has no usable \(name)"
            }
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> BinanceExchangeInfo {
        do {
            return try JSONDecoder().decode(BinanceExchangeInfo.self, from: Data(bytes))
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// The instrument and status of `symbol`, or nil when the exchange does not list it.
    public func instrument(_ symbol: String) throws(Failure) -> (instrument: Instrument, status: InstrumentStatus)? {
        guard let entry = symbols.first(where: { $0.symbol == symbol }) else { return nil }
        func decimal(_ filterType: String, _ field: KeyPath<Filter, String?>, name: String) throws(Failure) -> FixedDecimal {
            guard let text = entry.filters.first(where: { $0.filterType == filterType })?[keyPath: field],
                  let value = try? FixedDecimal(parsing: text) else { throw .filter(symbol: symbol, name: name) }
            return value.normalized
        }
        let tick = try decimal("PRICE_FILTER", \.tickSize, name: "PRICE_FILTER.tickSize")
        let step = try decimal("LOT_SIZE", \.stepSize, name: "LOT_SIZE.stepSize")
        let minQty = try decimal("LOT_SIZE", \.minQty, name: "LOT_SIZE.minQty")
        let maxQty = try? decimal("LOT_SIZE", \.maxQty, name: "LOT_SIZE.maxQty")
        let notional = try? decimal("MIN_NOTIONAL", \.notional, name: "MIN_NOTIONAL.notional")
        let instrument = Instrument(symbol: symbol, tickSize: tick, qtyStep: step, minQty: minQty, maxQty: maxQty,
                                    minNotional: notional.flatMap { $0.signum == 0 ? nil : $0 })
        return (instrument, InstrumentStatus(binance: entry.status))
    }
}

extension InstrumentStatus {
    /// Binance's contract status: `TRADING`, `PENDING_TRADING`, `PRE_SETTLE`, `SETTLING`, `DELIVERING`,
    /// `CLOSE`; others are kept as said (and are not trading).
    public init(binance text: String) {
        switch text {
        case "TRADING": self = .trading
        case "PENDING_TRADING": self = .preLaunch
        case "PRE_SETTLE", "SETTLING": self = .settling
        case "DELIVERING": self = .delivering
        case "CLOSE": self = .closed
        default: self = .other(text)
        }
    }

    /// The status as Binance spells it.
    public var binance: String {
        switch self {
        case .trading: return "TRADING"
        case .preLaunch: return "PENDING_TRADING"
        case .settling: return "SETTLING"
        case .delivering: return "DELIVERING"
        case .closed: return "CLOSE"
        case .other(let text): return text
        }
    }
}
