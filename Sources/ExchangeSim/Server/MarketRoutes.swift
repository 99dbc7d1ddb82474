import Hummingbird
import Market
import Runtime

/// `GET /v5/market/{time, instruments-info, orderbook, tickers, recent-trade, kline}` in Bybit's shapes. A
/// category the sim does not simulate (`spot`, `inverse`, `option`) answers an empty list, as an exchange
/// with no such instruments would: clients load every category at start.
struct MarketRoutes {
    let exchange: SimExchange

    func add(to router: Router<BasicRequestContext>) {
        let exchange = self.exchange
        router.get("/v5/market/time") { _, _ in
            let now = WallClock.nanoseconds()
            return RestAnswer.ok(await exchange.marketTime(now: now), now: now)
        }
        router.get("/v5/market/instruments-info") { request, _ in
            await MarketRoutes.answer(request) { (query) async throws(SimError) -> [UInt8] in
                try await exchange.instrumentsInfo(symbol: query.string("symbol"))
            }
        }
        router.get("/v5/market/orderbook") { request, _ in
            await MarketRoutes.answer(request) { (query) async throws(SimError) -> [UInt8] in
                try await exchange.orderbookSnapshot(symbol: try query.required("symbol"), limit: try query.int("limit") ?? 25, now: WallClock.nanoseconds())
            }
        }
        router.get("/v5/market/tickers") { request, _ in
            await MarketRoutes.answer(request) { (query) async throws(SimError) -> [UInt8] in
                try await exchange.tickersJSON(symbol: query.string("symbol"), now: WallClock.nanoseconds())
            }
        }
        router.get("/v5/market/recent-trade") { request, _ in
            await MarketRoutes.answer(request) { (query) async throws(SimError) -> [UInt8] in
                try await exchange.recentTrades(symbol: try query.required("symbol"), limit: try query.int("limit") ?? 500)
            }
        }
        router.get("/v5/market/kline") { request, _ in
            await MarketRoutes.answer(request) { (query) async throws(SimError) -> [UInt8] in
                try await exchange.klines(symbol: try query.required("symbol"), interval: try query.required("interval"),
                                          start: try query.int64("start"), end: try query.int64("end"),
                                          limit: try query.int("limit") ?? 200, now: WallClock.nanoseconds())
            }
        }
    }

    /// Runs a market query with the linear category check; a `SimError` becomes Bybit's error envelope.
    static func answer(_ request: Request, _ body: (Query) async throws(SimError) -> [UInt8]) async -> Response {
        let query = Query(request)
        let now = WallClock.nanoseconds()
        do throws(SimError) {
            if let category = query.string("category"), category != "linear" {
                guard ["spot", "inverse", "option"].contains(category) else { throw .parameter("params error: category \(category) invalid") }
                if request.uri.path == "/v5/market/orderbook" {
                    return RestAnswer.ok(Array(#"{"s":"\#(query.string("symbol") ?? "")","b":[],"a":[],"ts":\#(now / 1_000_000),"u":0,"seq":0,"cts":0}"#.utf8), now: now)
                }
                return RestAnswer.ok(OrderRoutes.emptyList(category), now: now)
            }
            return RestAnswer.ok(try await body(query), now: now)
        } catch {
            return RestAnswer.error(error, now: now)
        }
    }
}

/// Typed access to a request's query string, with Bybit's parameter errors.
struct Query {
    let parameters: [String: String]

    init(_ request: Request) {
        var parameters: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value).removingPercentEncodingOrSelf }
        self.parameters = parameters
    }

    init(parameters: [String: String]) {
        self.parameters = parameters
    }

    func string(_ name: String) -> String? { parameters[name].flatMap { $0.isEmpty ? nil : $0 } }

    func required(_ name: String) throws(SimError) -> String {
        guard let value = string(name) else { throw .parameter("params error: \(name) is required") }
        return value
    }

    func int(_ name: String) throws(SimError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw .parameter("params error: \(name) must be an integer") }
        return value
    }

    func int64(_ name: String) throws(SimError) -> Int64? {
        guard let text = string(name) else { return nil }
        guard let value = Int64(text) else { throw .parameter("params error: \(name) must be an integer") }
        return value
    }
}

extension String {
    /// Percent-decoding for query values (`%2C` → `,`); malformed escapes are left as they are.
    var removingPercentEncodingOrSelf: String {
        guard contains("%") || contains("+") else { return self }
        var bytes: [UInt8] = []
        var iterator = Array(utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let h = hexDigit(high), let l = hexDigit(low) {
                bytes.append(h << 4 | l)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private func hexDigit(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: return byte - 48
    case 65...70: return byte - 55
    case 97...102: return byte - 87
    default: return nil
    }
}
