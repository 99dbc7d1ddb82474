import Hummingbird
import Market
import NIOCore
import Runtime

/// Bybit's REST envelope `{"retCode","retMsg","result","retExtInfo":{},"time"}` as a Hummingbird response.
enum RestAnswer {
    static func ok(_ result: [UInt8], now: Int64, headers: HTTPFields = [:]) -> Response {
        envelope(code: 0, message: "OK", result: result, now: now, headers: headers)
    }

    static func error(_ error: SimError, now: Int64, headers: HTTPFields = [:]) -> Response {
        envelope(code: error.code, message: error.message, result: [UInt8]("{}".utf8), now: now, headers: headers)
    }

    static func envelope(code: Int, message: String, result: [UInt8], now: Int64, headers: HTTPFields = [:]) -> Response {
        var out = JSONWriter(capacity: result.count + 96)
        out.beginObject()
        out.field("retCode", code)
        out.field("retMsg", message)
        out.key("result")
        out.raw(result)
        out.key("retExtInfo")
        out.beginObject()
        out.endObject()
        out.field("time", now / 1_000_000)
        out.endObject()
        return json(out.bytes, headers: headers)
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func plain(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

/// Applies the REST faults (`rest_error`, `latency`) and counts requests, before any route runs.
struct SimFaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let exchange: SimExchange

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = WallClock.nanoseconds()
        await exchange.countRestRequest()
        guard await exchange.takeIPBudget(now: now) else {
            // Bybit answers an IP over its limit with HTTP 403 (and a ban; here the window just slides).
            return RestAnswer.plain(.forbidden, "access too frequent")
        }
        let delay = await exchange.currentLatency(now: now)
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        if await exchange.restErrorActive(now: now) {
            return RestAnswer.plain(.serviceUnavailable, "sim fault: rest_error")
        }
        // `rate_limit` on the kline endpoints is the IP's limit: Bybit's 403, Binance's 429 with `Retry-After`.
        if await exchange.rateLimitActive(now: now) {
            let path = request.uri.path
            if path == "/v5/market/kline" { return RestAnswer.plain(.forbidden, "access too frequent (sim fault: rate_limit)") }
            if path == "/fapi/v1/klines" {
                return RestAnswer.json(Array(#"{"code":-1003,"msg":"Too many requests; sim fault: rate_limit."}"#.utf8), status: .tooManyRequests,
                                       headers: [.retryAfter: "1"])
            }
        }
        return try await next(request, context)
    }
}
