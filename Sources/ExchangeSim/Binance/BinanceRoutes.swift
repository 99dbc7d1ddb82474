import Hummingbird
import Market
import Runtime

/// `GET /fapi/v1/{time, exchangeInfo, depth, klines, ticker/bookTicker}` in Binance USD-M's shapes:
/// bare JSON, errors as HTTP 400 `{"code","msg"}`.
struct BinanceRoutes {
    let exchange: SimExchange

    func add(to router: Router<BasicRequestContext>) {
        let exchange = self.exchange
        router.get("/fapi/v1/ping") { _, _ in RestAnswer.json(Array("{}".utf8)) }
        router.get("/fapi/v1/time") { _, _ in RestAnswer.json(await exchange.binanceTime(now: WallClock.nanoseconds())) }
        router.get("/fapi/v1/exchangeInfo") { _, _ in RestAnswer.json(await exchange.binanceExchangeInfo(now: WallClock.nanoseconds())) }
        router.get("/fapi/v1/depth") { request, _ in
            await BinanceRoutes.answer(request) { (query) async throws(BinanceRestError) -> [UInt8] in
                try await exchange.binanceDepth(symbol: try query.symbol(), limit: try query.int("limit") ?? 500, now: WallClock.nanoseconds())
            }
        }
        router.get("/fapi/v1/ticker/bookTicker") { request, _ in
            await BinanceRoutes.answer(request) { (query) async throws(BinanceRestError) -> [UInt8] in
                try await exchange.binanceBookTicker(symbol: query.parameters.string("symbol")?.uppercased(), now: WallClock.nanoseconds())
            }
        }
        router.get("/fapi/v1/klines") { request, _ in
            await BinanceRoutes.answer(request) { (query) async throws(BinanceRestError) -> [UInt8] in
                guard let interval = query.parameters.string("interval") else { throw .mandatory("interval") }
                return try await exchange.binanceKlines(symbol: try query.symbol(), interval: interval, start: try query.int64("startTime"),
                                                        end: try query.int64("endTime"), limit: try query.int("limit") ?? 500, now: WallClock.nanoseconds())
            }
        }
    }

    static func answer(_ request: Request, _ body: (BinanceQuery) async throws(BinanceRestError) -> [UInt8]) async -> Response {
        do throws(BinanceRestError) {
            return RestAnswer.json(try await body(BinanceQuery(parameters: Query(request))))
        } catch {
            return RestAnswer.json(error.body, status: .badRequest)
        }
    }
}

/// A request's query string with Binance's parameter errors.
struct BinanceQuery {
    let parameters: Query

    func symbol() throws(BinanceRestError) -> String {
        guard let symbol = parameters.string("symbol") else { throw .mandatory("symbol") }
        return symbol.uppercased()
    }

    func int(_ name: String) throws(BinanceRestError) -> Int? {
        guard let text = parameters.string(name) else { return nil }
        guard let value = Int(text) else { throw BinanceRestError(code: -1_100, message: "Illegal characters found in parameter '\(name)'; legal range is '^[0-9]{1,20}$'.") }
        return value
    }

    func int64(_ name: String) throws(BinanceRestError) -> Int64? {
        try int(name).map(Int64.init)
    }
}
