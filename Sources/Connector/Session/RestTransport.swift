import AsyncHTTPClient
import Foundation
import Logging
import Market
import NIOCore
import NIOHTTP1
import NIOSSL
import Runtime

/// How the connector talks REST: one pooled client with keep-alive and pre-warmed connections, each
/// request with its own time limit. The exchange's signing is the caller's.
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

/// Why a REST request has no usable answer. Never carries a key, a secret or a signature.
enum RestFailure: Error, CustomStringConvertible, Equatable {
    /// No answer in time: the request may or may not have taken effect.
    case timeout
    /// The connection failed; the request may or may not have reached the exchange.
    case transport(String)
    /// An HTTP status other than 200 (403 on Bybit, 418/429 on Binance: the IP's rate limit).
    case status(Int)
    /// An answer that is not the exchange's shape.
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

/// The one REST client of a connector, over async-http-client: pooled, kept warm, time-limited.
final class RestTransport: Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let configuration: RestConfiguration
    private let http: HTTPClient

    init(configuration: RestConfiguration) throws {
        self.configuration = configuration
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

    /// Keeps `preWarmedConnections` pooled connections open: that many concurrent cheap calls of `path`
    /// now, and again before the keep-alive would close them, so an order never waits for a TCP and
    /// TLS handshake. Runs until cancelled.
    func keepWarm(path: String) async {
        let count = configuration.preWarmedConnections
        guard count > 0 else { return }
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask { _ = try? await self.execute(method: .GET, path: path) }
                }
            }
            try? await Task.sleep(for: configuration.keepAlive / 2)
        }
    }

    /// One request; any HTTP status is an answer (the caller decides what a non-200 means).
    func execute(method: HTTPMethod, path: String, query: String = "", headers: [(String, String)] = [], body: String? = nil) async throws(RestFailure) -> Answer {
        var request = HTTPClientRequest(url: configuration.baseURL + path + (query.isEmpty ? "" : "?" + query))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.inNanoseconds)
        do {
            let response = try await http.execute(request, timeout: timeout)
            var buffer = try await response.body.collect(upTo: 16 << 20)
            return Answer(status: Int(response.status.code), headers: response.headers, body: buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            throw .transport(String(describing: type(of: error)) + ": " + "\(error)".prefix(120))
        }
    }

    /// Runs `attempt` up to `attempts` times, waiting between them as the one `ReconnectPolicy` says
    /// (from `backoff`, doubling, with jitter): a refusal (returned) is logged as `<event>_refused` with
    /// `describe`'s fields, a thrown error as `<event>_failed`; true once an attempt returns nil.
    static func withRetries<Refusal>(isolation: isolated (any Actor)? = #isolation, attempts: Int, backoff: Duration, event: String, logger: Logger,
                                     _ attempt: () async throws -> Refusal?, describe: (Refusal) -> Logger.Metadata) async -> Bool {
        var policy = ReconnectPolicy(base: backoff, cap: backoff * 64)
        var random = SystemRandomNumberGenerator()
        for number in 0..<attempts {
            if number > 0 { try? await Task.sleep(for: policy.nextDelay(using: &random)) }
            do {
                guard let refused = try await attempt() else { return true }
                logger.warning("\(event)_refused", metadata: describe(refused))
            } catch {
                logger.warning("\(event)_failed", metadata: ["attempt": "\(number + 1)", "reason": "\(error)"])
            }
        }
        return false
    }
}
