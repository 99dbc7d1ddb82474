import AsyncHTTPClient
import Bybit
import Foundation
import Logging
import Market
import NIOCore
import NIOHTTP1
import NIOSSL
import Runtime

/// How the connector talks REST: one pooled client with keep-alive and pre-warmed connections, every
/// request signed as Bybit V5 says, with its own time limit.
public struct RestConfiguration: Sendable {
    public var baseURL: String
    public var caFile: String?
    /// A request with no answer this long is given up (for orders: its outcome is unknown).
    public var requestTimeout: Duration = .seconds(10)
    public var recvWindowMilliseconds: Int64 = 5_000
    /// `connection_pool.limit_per_host`.
    public var connectionsPerHost = 30
    /// `connection_pool.keepalive_timeout`: idle pooled connections close after this.
    public var keepAlive: Duration = .seconds(30)
    /// Connections opened ahead of need, so an order never waits for a TCP+TLS handshake.
    public var preWarmedConnections = 2

    public init(baseURL: String) {
        self.baseURL = baseURL
    }
}

/// Bybit V5 REST calls over async-http-client, signed when credentials are given (public market calls
/// need none). Errors never carry a key, a secret or a signature.
final class BybitRestClient: Sendable {
    enum Failure: Error, CustomStringConvertible, Equatable {
        /// No answer in time: the request may or may not have taken effect.
        case timeout
        /// The connection failed; the request may or may not have reached the exchange.
        case transport(String)
        /// An HTTP status other than 200 (403: the exchange's IP rate limit).
        case status(Int)
        /// An answer that is not Bybit's envelope.
        case malformed(String)

        var description: String {
            switch self {
            case .timeout: return "no answer in time"
            case .transport(let reason): return "connection failed: \(reason)"
            case .status(let code): return "HTTP \(code)"
            case .malformed(let reason): return "malformed answer: \(reason)"
            }
        }
    }

    struct Answer: Sendable {
        var answer: BybitRestAnswer
        var rateLimit: BybitRateLimit?
    }

    let configuration: RestConfiguration
    let credentials: Credentials?
    private let http: HTTPClient

    init(configuration: RestConfiguration, credentials: Credentials?) throws {
        self.configuration = configuration
        self.credentials = credentials
        var client = HTTPClient.Configuration()
        if configuration.caFile != nil { client.tlsConfiguration = try TLSConfiguration.client(trusting: configuration.caFile) }
        let pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .nanoseconds(configuration.keepAlive.inNanoseconds),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerHost)
        // Not the pool's own pre-warming (`preWarmedHTTP1ConnectionCount`): with it, `shutdown()` never
        // returns (async-http-client 1.37.0, seen here). `keepWarm()` opens and refreshes them instead.
        client.connectionPool = pool
        client.timeout = .init(connect: .seconds(5))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// Keeps `preWarmedConnections` pooled connections open: that many concurrent cheap public calls
    /// now, and again before the keep-alive would close them, so an order never waits for a TCP and
    /// TLS handshake. Runs until cancelled.
    func keepWarm() async {
        let count = configuration.preWarmedConnections
        guard count > 0 else { return }
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask { _ = try? await self.execute(method: .GET, path: "/v5/market/time", signed: false) }
                }
            }
            try? await Task.sleep(for: configuration.keepAlive / 2)
        }
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

    /// Runs `attempt` up to `attempts` times, the wait doubling from `backoff`: an answer Bybit refused
    /// (returned) is logged as `<event>_refused`, a thrown error as `<event>_failed`; true once an attempt
    /// returns nil.
    static func withRetries(isolation: isolated (any Actor)? = #isolation, attempts: Int, backoff: Duration, event: String, logger: Logger,
                            _ attempt: () async throws -> BybitRestAnswer?) async -> Bool {
        var delay = backoff
        for number in 0..<attempts {
            if number > 0 {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
            do {
                guard let refused = try await attempt() else { return true }
                logger.warning("\(event)_refused", metadata: ["ret_code": "\(refused.retCode)", "message": "\(refused.retMessage)"])
            } catch {
                logger.warning("\(event)_failed", metadata: ["attempt": "\(number + 1)", "reason": "\(error)"])
            }
        }
        return false
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
        var request = HTTPClientRequest(url: configuration.baseURL + path + (query.isEmpty ? "" : "?" + query))
        request.method = method
        if signed {
            guard let credentials else { throw .transport("a signed request needs credentials") }
            let timestamp = WallClock.nanoseconds() / 1_000_000
            let signature = BybitSigning.restSignature(
                secret: credentials.apiSecret, timestamp: timestamp, apiKey: credentials.apiKey,
                recvWindow: configuration.recvWindowMilliseconds, payload: method == .GET ? query : body)
            request.headers.add(name: "X-BAPI-API-KEY", value: credentials.apiKey)
            request.headers.add(name: "X-BAPI-TIMESTAMP", value: String(timestamp))
            request.headers.add(name: "X-BAPI-RECV-WINDOW", value: String(configuration.recvWindowMilliseconds))
            request.headers.add(name: "X-BAPI-SIGN", value: signature)
        }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.inNanoseconds)
        let bytes: [UInt8]
        let headers: HTTPHeaders
        do {
            let response = try await http.execute(request, timeout: timeout)
            headers = response.headers
            guard response.status == .ok else { throw Failure.status(Int(response.status.code)) }
            var buffer = try await response.body.collect(upTo: 16 << 20)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let failure as Failure {
            throw failure
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            throw .transport(String(describing: type(of: error)) + ": " + "\(error)".prefix(120))
        }
        let answer: BybitRestAnswer
        do throws(JSONError) {
            answer = try BybitRestAnswer.decode(bytes)
        } catch {
            throw .malformed("\(error)")
        }
        return Answer(answer: answer, rateLimit: BybitRateLimit { headers.first(name: $0) })
    }
}
