import Foundation
import Market

/// One line of a bot's order log (`DIR/orders_YYYYMMDD.jsonl`, written with `recording.enabled`): what
/// the bot sent and what the venue answered, each with the local time it happened.
///
///     {"time":…,"event":"sent","command":"place","client_id":"k…-1","symbol":"BTCUSDT","side":"Buy","price":"60010.5","qty":"0.001"}
///     {"time":…,"event":"ack","command":"place","client_id":"k…-1"}
///     {"time":…,"event":"fill","client_id":"k…-1","side":"Buy","price":"60010.5","qty":"0.001","fee":"0.012","maker":true}
///
/// `event` is one of `sent`, `ack`, `refused`, `order` (a venue update, with `status` and `filled`), `fill`,
/// and `conditions` (with `ready` and `connector_up`, at each change).
public struct OrderLogEntry: Sendable, Equatable, Codable {
    public var time: Int64
    public var event: String
    public var command: String?
    public var clientId: String
    public var symbol: String?
    public var side: String?
    public var price: String?
    public var qty: String?
    public var fee: String?
    public var maker: Bool?
    public var status: String?
    public var filled: String?
    public var reason: String?
    /// `conditions` lines: the bot's own state that gates quoting (reconciled with the exchange's instrument
    /// confirmed; market source up), from that time on.
    public var ready: Bool?
    public var connectorUp: Bool?

    enum CodingKeys: String, CodingKey {
        case time, event, command, symbol, side, price, qty, fee, maker, status, filled, reason, ready
        case clientId = "client_id"
        case connectorUp = "connector_up"
    }

    public init(time: Int64, event: String, clientId: String) {
        self.time = time
        self.event = event
        self.clientId = clientId
    }
}

/// Reads order logs: one file, or every `orders_*.jsonl` of a directory in name (= day) order.
public enum OrderLog {
    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String

        public init(path: String, line: Int, reason: String) {
            self.path = path
            self.line = line
            self.reason = reason
        }

        public var description: String { "\(path):\(line): \(reason) (expected one order-log JSON object a line)" }
    }

    public static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasPrefix("orders_") && $0.hasSuffix(".jsonl") }.sorted().map { path + "/" + $0 }
    }

    public static func read(path: String) throws -> [OrderLogEntry] {
        var entries: [OrderLogEntry] = []
        let decoder = JSONDecoder()
        for file in files(at: path) {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                do {
                    entries.append(try decoder.decode(OrderLogEntry.self, from: Data(line.utf8)))
                } catch {
                    throw Invalid(path: file, line: index + 1, reason: "\(error)")
                }
            }
        }
        return entries.sorted { $0.time < $1.time }
    }

    /// Request → ack latencies measured by the bot: (time sent, ns until the venue's ack).
    public static func latencies(_ entries: [OrderLogEntry]) -> [(time: Int64, latency: Int64)] {
        var sent: [String: Int64] = [:]
        var points: [(time: Int64, latency: Int64)] = []
        for entry in entries {
            let key = entry.clientId + "/" + (entry.command ?? "")
            switch entry.event {
            case "sent": sent[key] = entry.time
            case "ack", "refused":
                if let start = sent.removeValue(forKey: key), entry.time >= start { points.append((start, entry.time - start)) }
            default: break
            }
        }
        return points
    }
}
