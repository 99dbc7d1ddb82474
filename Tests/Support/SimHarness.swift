import Bybit
import ExchangeSim
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HummingbirdWSClient
import Logging
import Market

/// A simulator on free loopback ports for the length of one test.
public struct SimHarness: Sendable {
    public let server: SimServer
    public let ports: SimPorts

    public static let quiet: Logger = {
        var logger = Logger(label: "keel.sim.test")
        logger.logLevel = .critical
        return logger
    }()

    public static func with<T: Sendable>(
        _ configure: (inout SimConfiguration) -> Void = { _ in },
        _ body: (SimHarness) async throws -> T
    ) async throws -> T {
        // Waiting for a slot comes before the sim is configured and started, so no bound a test sets (nor a clock
        // it starts in `configure`) is spent in the queue.
        await InProcessSims.slots.acquire()
        var configuration = SimConfiguration()
        configuration.port = 0
        configuration.seed = 42
        configure(&configuration)
        do {
            let result = try await serve(configuration, body)
            await InProcessSims.slots.release()
            return result
        } catch {
            await InProcessSims.slots.release()
            throw error
        }
    }

    private static func serve<T: Sendable>(_ configuration: SimConfiguration, _ body: (SimHarness) async throws -> T) async throws -> T {
        let server = SimServer(configuration: configuration, logger: quiet)
        let (readyStream, ready) = AsyncStream.makeStream(of: SimPorts.self)
        let task = Task { try await server.run { ports in ready.yield(ports) } }
        var iterator = readyStream.makeAsyncIterator()
        guard let ports = await iterator.next() else { throw HarnessError.notStarted }
        do {
            let result = try await body(SimHarness(server: server, ports: ports))
            task.cancel()
            _ = await task.result
            return result
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
    }

    public enum HarnessError: Error { case notStarted, badAnswer(String) }

    public var publicURL: String { "ws://127.0.0.1:\(ports.main)/v5/public/linear" }

    /// GET on the main (REST) port: status and body.
    public func get(_ path: String) async throws -> (Int, Data) {
        try await http("GET", "http://127.0.0.1:\(ports.main)\(path)")
    }

    /// The control API.
    public func control(_ method: String, _ path: String, body: String? = nil) async throws -> (Int, Data) {
        try await http(method, "http://127.0.0.1:\(ports.control)\(path)", body: body)
    }

    public func fault(_ json: String) async throws {
        let (status, data) = try await control("POST", "/sim/faults", body: json)
        guard status == 200 else { throw HarnessError.badAnswer("\(status) \(String(decoding: data, as: UTF8.self))") }
    }

    public func http(_ method: String, _ url: String, body: String? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// The truth book's levels as `[[price, size]]` per side.
    public func truth(symbol: String, depth: Int) async throws -> (bids: [PriceLevel], asks: [PriceLevel], topics: [String: Int64]) {
        let (_, data) = try await control("GET", "/sim/book?symbol=\(symbol)&depth=\(depth)")
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func levels(_ key: String) -> [PriceLevel] {
            (object[key] as! [[String]]).map { PriceLevel(price: try! FixedDecimal(parsing: $0[0]), qty: try! FixedDecimal(parsing: $0[1])) }
        }
        let topics = (object["topics"] as! [String: Any]).mapValues { ($0 as! NSNumber).int64Value }
        return (levels("bids"), levels("asks"), topics)
    }
}

extension SimHarness {
    /// A Binance sim's truth: the book's levels per side and the newest update id of its diff streams.
    public func binanceTruth(symbol: String, depth: Int) async throws -> (bids: [PriceLevel], asks: [PriceLevel], updateId: Int64) {
        let (_, data) = try await control("GET", "/sim/book?symbol=\(symbol)&depth=\(depth)")
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func levels(_ key: String) -> [PriceLevel] {
            (object[key] as! [[String]]).map { PriceLevel(price: try! FixedDecimal(parsing: $0[0]), qty: try! FixedDecimal(parsing: $0[1])) }
        }
        return (levels("bids"), levels("asks"), (object["update_id"] as? NSNumber)?.int64Value ?? -1)
    }

    public var binanceURL: String { "ws://127.0.0.1:\(ports.main)" }
    public var restURL: String { "http://127.0.0.1:\(ports.main)" }
}

/// Follows one public connection through Keel's own feed path (BybitFeed: the codec and the sync rules, a book per
/// topic), and records what happened.
public actor StreamFollower {
    public init() {}
    /// Keel's own feed path, the one the connector runs.
    var feed = BybitFeed()
    public private(set) var outcomes: [BybitBookSync.Outcome] = []
    public private(set) var responses: [BybitResponse] = []
    public private(set) var trades = 0
    public private(set) var frames = 0
    public private(set) var malformed = 0
    public private(set) var lastFrameAt = ContinuousClock.now
    public private(set) var updateIds: [Int64] = []

    public func receive(_ text: String) {
        frames += 1
        lastFrameAt = .now
        let received = text.withBytes { feed.receive($0, receiveTime: 0) { _ in } }
        switch received {
        case .depth(_, let outcome, let updateId):
            updateIds.append(updateId)
            outcomes.append(outcome)
        case .trades(_, let count): trades += count
        case .response(let response): responses.append(response)
        case .malformed: malformed += 1
        case .other: break
        }
    }

    public func book(_ topic: BybitBookTopic) -> BybitBookSync? { feed.sync(for: topic) }
    /// Book updates seen, once more than 100 trades have been too (0 before).
    public func progress() -> Int { trades > 100 ? updateIds.count : 0 }
    public func snapshotCount() -> Int { outcomes.filter { $0 == .snapshotApplied || $0 == .restartApplied }.count }
    public func gaps() -> Int { outcomes.filter { if case .invalidated(.gap) = $0 { return true } else { return false } }.count }
}

extension SimHarness {
    public static let key = SimAccountConfig.demo.apiKey
    public static let secret = SimAccountConfig.demo.secret

    /// A REST call signed as Bybit's docs say, with the demo account unless told otherwise. The receive
    /// window is a generous 30 s: a loaded test machine must not turn a request into a 10002.
    public func signed(_ method: String, _ path: String, query: String = "", body: String = "", key: String = SimHarness.key,
                secret: String = SimHarness.secret, timestamp: Int64? = nil, recvWindow: Int64 = 30_000) async throws -> (status: Int, json: [String: Any], headers: [String: String]) {
        let stamp = timestamp ?? Int64(Date().timeIntervalSince1970 * 1_000)
        let payload = method == "GET" ? query : body
        let signature = BybitSigning.restSignature(secret: secret, timestamp: stamp, apiKey: key, recvWindow: recvWindow, payload: payload)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports.main)\(path)\(query.isEmpty ? "" : "?" + query)")!)
        request.timeoutInterval = 60
        request.httpMethod = method
        request.setValue(key, forHTTPHeaderField: "X-BAPI-API-KEY")
        request.setValue(String(stamp), forHTTPHeaderField: "X-BAPI-TIMESTAMP")
        request.setValue(String(recvWindow), forHTTPHeaderField: "X-BAPI-RECV-WINDOW")
        request.setValue(signature, forHTTPHeaderField: "X-BAPI-SIGN")
        if method == "POST" {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers[String(describing: name).lowercased()] = String(describing: value) }
        let json = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return (http.statusCode, json, headers)
    }
}

/// The sims of the test process step on its cooperative pool (one thread per core): a dozen suites each
/// stepping one at once leave every sim stepping late and their tests failing bounds for a reason that is not
/// theirs. Three at a time; the rest wait for a slot before they start.
enum InProcessSims {
    static let slots = Slots(3)

    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(_ count: Int) { free = count }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }
}
