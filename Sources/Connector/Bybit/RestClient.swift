import AsyncHTTPClient
import Bybit
import Foundation
import Logging
import Market
import NIOCore
import NIOHTTP1
import NIOSSL
import Runtime

/// Bybit V5 REST calls over async-http-client, signed when credentials are given (public market calls
/// need none). Errors never carry a key, a secret or a signature.
final class BybitRestClient: Sendable {
    typealias Failure = RestFailure

    struct Answer: Sendable {
        var answer: BybitRestAnswer
        var rateLimit: BybitRateLimit?
    }

    let credentials: Credentials?
    let transport: RestTransport
    var configuration: RestConfiguration { transport.configuration }

    init(configuration: RestConfiguration, credentials: Credentials?) throws {
        self.credentials = credentials
        transport = try RestTransport(configuration: configuration)
    }

    func shutdown() async {
        await transport.shutdown()
    }

    /// Keeps the pool's connections warm with cheap public calls (see `RestTransport.keepWarm`).
    func keepWarm() async {
        await transport.keepWarm(path: "/v5/market/time")
    }

    /// Sends an order request.
    func send(_ request: BybitOrderRequest) async throws(Failure) -> Answer {
        try await execute(method: .POST, path: request.restPath, body: request.body)
    }

    /// A signed POST of a JSON body.
    func post(_ path: String, body: String) async throws(Failure) -> Answer {
        try await execute(method: .POST, path: path, body: body)
    }

    /// A signed GET; `query` is the exact query string sent and signed.
    func get(_ path: String, query: String) async throws(Failure) -> Answer {
        try await execute(method: .GET, path: path, query: query)
    }

    /// `/v5/market/instruments-info` for one linear symbol (public, unsigned); nil when the exchange does not list it.
    func instrument(_ symbol: String) async throws(Failure) -> (answer: BybitRestAnswer, instrument: BybitInstrument?) {
        let answer = try await execute(method: .GET, path: "/v5/market/instruments-info", query: "category=linear&symbol=\(symbol)", signed: false).answer
        guard answer.success else { return (answer, nil) }
        do throws(JSONError) {
            return (answer, try answer.instruments().first { $0.instrument.symbol == symbol })
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// Runs `attempt` up to `attempts` times, waiting by the one `ReconnectPolicy` from `backoff`: an
    /// answer Bybit refused (returned) is logged as `<event>_refused`, a thrown error as `<event>_failed`;
    /// true once an attempt returns nil.
    static func withRetries(isolation: isolated (any Actor)? = #isolation, attempts: Int, backoff: Duration, event: String, logger: Logger,
                            _ attempt: () async throws -> BybitRestAnswer?) async -> Bool {
        await RestTransport.withRetries(attempts: attempts, backoff: backoff, event: event, logger: logger, attempt) { refused in
            ["ret_code": "\(refused.retCode)", "message": "\(refused.retMessage)"]
        }
    }

    /// Every page of a cursor-paged list (`/v5/order/realtime`, `/v5/position/list`).
    func list(_ path: String, query: String) async throws(Failure) -> [BybitRestAnswer] {
        var pages: [BybitRestAnswer] = []
        var cursor = ""
        repeat {
            var text = query
            if !cursor.isEmpty { text += "&cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor) }
            let page = try await get(path, query: text).answer
            pages.append(page)
            guard page.success else { break }
            cursor = page.result.string("nextPageCursor") ?? ""
        } while !cursor.isEmpty && pages.count < 100
        return pages
    }

    private func execute(method: HTTPMethod, path: String, query: String = "", body: String = "", signed: Bool = true) async throws(Failure) -> Answer {
        var headers: [(String, String)] = []
        if signed {
            guard let credentials else { throw .transport("a signed request needs credentials") }
            let timestamp = WallClock.nanoseconds() / 1_000_000
            let signature = BybitSigning.restSignature(
                secret: credentials.apiSecret, timestamp: timestamp, apiKey: credentials.apiKey,
                recvWindow: configuration.recvWindowMilliseconds, payload: method == .GET ? query : body)
            headers = [("X-BAPI-API-KEY", credentials.apiKey), ("X-BAPI-TIMESTAMP", String(timestamp)),
                       ("X-BAPI-RECV-WINDOW", String(configuration.recvWindowMilliseconds)), ("X-BAPI-SIGN", signature)]
        }
        let response = try await transport.execute(method: method, path: path, query: query, headers: headers, body: method == .POST ? body : nil)
        guard response.status == 200 else { throw .status(response.status) }
        let answer: BybitRestAnswer
        do throws(JSONError) {
            answer = try BybitRestAnswer.decode(response.body)
        } catch {
            throw .malformed("\(error)")
        }
        return Answer(answer: answer, rateLimit: BybitRateLimit { response.headers.first(name: $0) })
    }
}
