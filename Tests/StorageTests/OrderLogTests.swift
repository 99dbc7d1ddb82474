import Foundation
import Storage
import Testing
import TestSupport

/// The bot's order log: written a line at a time by day, read back, request → ack latencies measured.
struct OrderLogTests {
    @Test func entriesRoundTripByDayAndGiveTheirLatencies() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-orders-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try OrderLogWriter(directory: directory)
        let day: Int64 = 1_723_161_599_000_000_000   // 2024-08-08T23:59:59Z
        var sent = OrderLogEntry(time: day, event: "sent", clientId: "k1-1")
        sent.command = "place"
        sent.side = "buy"
        sent.price = "61659.70"
        var ack = OrderLogEntry(time: day + 40_000_000, event: "ack", clientId: "k1-1")
        ack.command = "place"
        var next = OrderLogEntry(time: day + 2_000_000_000, event: "sent", clientId: "k1-2")
        next.command = "place"
        var refused = OrderLogEntry(time: day + 2_060_000_000, event: "refused", clientId: "k1-2")
        refused.command = "place"
        refused.reason = "post-only order would take liquidity"
        for entry in [sent, ack, next, refused] { writer.write(entry) }
        writer.close()
        // The day rolls with the entries' own times.
        #expect(OrderLog.files(at: directory).map { URL(fileURLWithPath: $0).lastPathComponent } == ["orders_20240808.jsonl", "orders_20240809.jsonl"])
        let read = try OrderLog.read(path: directory)
        #expect(read == [sent, ack, next, refused])
        let latencies = OrderLog.latencies(read)
        #expect(latencies.map(\.latency) == [40_000_000, 60_000_000] && latencies.map(\.time) == [day, day + 2_000_000_000])
    }

    @Test func aBadLineNamesTheFileAndTheLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-orders-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data("{\"time\":1,\"event\":\"sent\",\"client_id\":\"a\"}\nnot json\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect { try OrderLog.read(path: file) } throws: { "\($0)".contains(":2:") }
    }
}
