import Foundation
import Logging
import Market
import Storage
import Synchronization
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { FixedDecimal(text)! }

private func order(_ id: String, status: String, filled: String = "0", at time: Int64) -> OrderRecord {
    OrderRecord(clientId: id, run: "r1", symbol: "BTCUSDT", side: .buy, price: d("50000.10"), qty: d("0.001"), filledQty: d(filled),
                averagePrice: filled == "0" ? nil : d("50000.10"), status: status, exchangeOrderId: status == "pending_new" ? nil : "ex-\(id)",
                reason: "", createdTime: 1_000, updatedTime: time)
}

private func fill(_ exec: String, client: String, qty: String, at time: Int64) -> FillRecord {
    FillRecord(executionId: exec, clientId: client, orderId: "ex-\(client)", run: "r1", symbol: "BTCUSDT", side: .buy, price: d("50000.10"),
               qty: d(qty), fee: d("0.0100002"), isMaker: true, time: time)
}

@Suite("Trading store (SQLite and PostgreSQL)")
struct TradingStoreTests {
    @Test("migrations apply once, in order, and are recorded", arguments: TestDatabases.backends)
    func migrationsApplyOnce(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        #expect(try await store.schemaVersions() == [1, 2, 3, 4])
        let again = try await store.migrate()
        #expect(again.isEmpty)
        let counts = try await store.counts()
        #expect(counts.count == 10)
        #expect(counts.values.allSatisfy { $0 == 0 })
        await store.close()
    }

    @Test("orders, events, fills, snapshots and risk events read back exactly", arguments: TestDatabases.backends)
    func recordsReadBackExactly(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        try await store.write([
            .runStarted(run: "r1", venue: "live", symbol: "BTCUSDT", time: 1_000),
            .order(order("k1", status: "pending_new", at: 1_000)),
            .orderEvent(OrderEventRecord(clientId: "k1", time: 1_000, event: "submitted", status: "pending_new", price: d("50000.10"), qty: d("0.001"))),
            .order(order("k1", status: "new", at: 2_000)),
            .orderEvent(OrderEventRecord(clientId: "k1", time: 2_000, event: "update", status: "new", detail: "ack")),
            .fill(fill("e1", client: "k1", qty: "0.0004", at: 3_000)),
            .fill(fill("e1", client: "k1", qty: "0.0004", at: 3_000)),  // the same execution again
            .fill(fill("e2", client: "k1", qty: "0.0006", at: 4_000)),
            .order(order("k1", status: "filled", filled: "0.001", at: 4_000)),
            .position(PositionRecord(run: "r1", symbol: "BTCUSDT", time: 4_000, size: d("0.001"), averageEntry: d("50000.10"))),
            .pnl(PnLRecord(run: "r1", symbol: "BTCUSDT", time: 4_000, realised: d("0"), unrealised: d("-0.00010"), fees: d("0.0200004"),
                           net: d("-0.0201004"), mark: d("50000.0"))),
            .risk(RiskEventRecord(run: "r1", time: 5_000, from: "ACTIVE", to: "HALTED", reasons: "manual halt")),
            .runEnded(run: "r1", time: 6_000),
        ])
        let orders = try await store.orders()
        #expect(orders == [order("k1", status: "filled", filled: "0.001", at: 4_000)])
        #expect(orders.first.map { "\($0.price)" } == "50000.10", "the decimal's own digits come back")
        let events = try await store.orderEvents(clientId: "k1")
        #expect(events.map(\.event) == ["submitted", "update"])
        #expect(events.first?.qty == d("0.001"))
        let fills = try await store.fills(run: "r1")
        #expect(fills.map(\.executionId) == ["e1", "e2"])
        #expect(fills.map(\.qty).reduce(.zero, +) == d("0.001"))
        #expect(fills.first?.fee == d("0.0100002"))
        let pnl = try await store.lastPnL(run: "r1")
        #expect(pnl?.net == d("-0.0201004"))
        #expect(pnl.map { "\($0.unrealised)" } == "-0.00010")
        let runs = try await store.runs()
        #expect(runs == [TradingStore.Run(run: "r1", venue: "live", symbol: "BTCUSDT", startedAt: 1_000, endedAt: 6_000)])
        let counts = try await store.counts()
        #expect(counts["risk_events"] == 1)
        #expect(counts["positions"] == 1)
        await store.close()
    }

    @Test("client-id blocks are durable and a block cannot be reserved twice", arguments: TestDatabases.backends)
    func clientIdBlocks(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        try await store.reserveClientIds(run: "r1", first: 1, last: 200, time: 1)
        try await store.reserveClientIds(run: "r1", first: 201, last: 400, time: 2)
        await #expect(throws: (any Error).self) { try await store.reserveClientIds(run: "r1", first: 1, last: 200, time: 3) }
        #expect(try await store.clientIdBlocks(run: "r1") == [1...200, 201...400])
        await store.close()
    }

    @Test("the writer keeps every order and fill, drops only snapshots when full, and flushes", arguments: TestDatabases.backends)
    func writerKeepsOrdersAndFills(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        let writer = StorageWriter(store: store, queueSize: 100, batchSize: 50, logger: Logger(label: "test"))
        // Nothing runs the writer yet: the queue fills past its size.
        for i in 0..<300 {
            writer.enqueue(.order(order("k\(i)", status: "new", at: Int64(i))))
            writer.enqueue(.fill(fill("e\(i)", client: "k\(i)", qty: "0.001", at: Int64(i))))
            writer.enqueue(.pnl(PnLRecord(run: "r1", symbol: "BTCUSDT", time: Int64(i), realised: .zero, unrealised: .zero, fees: .zero,
                                          net: .zero, mark: nil)))
        }
        let before = writer.stats
        #expect(before.queued == 600 + 33, "orders and fills are kept beyond the size; snapshots only while there was room")
        #expect(before.dropped == 267)
        let task = Task { await writer.run() }
        #expect(await writer.flush(timeout: .seconds(120)))
        writer.close()
        await task.value
        #expect(try await store.count("orders") == 300)
        #expect(try await store.count("fills") == 300)
        #expect(try await store.count("pnl_snapshots") == 33)
        #expect(writer.stats == StorageWriter.Stats(queued: 0, written: 633, dropped: 267, failures: 0))
        await store.close()
    }

    @Test("a failed write is retried and nothing is lost")
    func failedWritesAreRetried() async throws {
        let store = try await TestDatabases.open(.sqlite)
        let flaky = FaultyBackend(store.backend, failures: 3)
        let writer = StorageWriter(store: TradingStore(backend: flaky), queueSize: 100, batchSize: 10, logger: Logger(label: "test"))
        let task = Task { await writer.run() }
        for i in 0..<25 { writer.enqueue(.order(order("k\(i)", status: "new", at: Int64(i)))) }
        #expect(await writer.flush(timeout: .seconds(120)))
        writer.close()
        await task.value
        #expect(writer.stats.failures == 3)
        #expect(try await store.orders().map(\.clientId).sorted() == (0..<25).map { "k\($0)" }.sorted())
        await store.close()
    }

    @Test("a record the database refuses on its own is set aside and logged whole; the rest are written", arguments: TestDatabases.backends)
    func aPoisonRecordIsSetAside(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        let recorder = LogRecorder()
        let writer = StorageWriter(store: TradingStore(backend: FaultyBackend(store.backend, marker: "poison")), queueSize: 100, batchSize: 10,
                                   isolateAfter: 3, logger: recorder.logger)
        let task = Task { await writer.run() }
        for i in 0..<25 { writer.enqueue(.order(order(i == 12 ? "poison" : "k\(i)", status: "new", at: Int64(i)))) }
        #expect(await writer.flush(timeout: .seconds(120)))
        writer.close()
        await task.value
        let stored = try await store.orders().map(\.clientId).sorted()
        #expect(stored == (0..<25).filter { $0 != 12 }.map { "k\($0)" }.sorted())
        #expect(writer.stats.rejected == 1 && writer.stats.written == 24)
        let rejected = recorder.all("keel_storage_record_rejected")
        #expect(rejected.count == 1)
        #expect(rejected.first?["table"] == "orders")
        #expect(rejected.first?["record"]?.contains("poison") == true, "the record is logged whole: \(rejected)")
        await store.close()
    }

    @Test("a database that does not answer sets nothing aside: every record is written once it is back")
    func aDownDatabaseRejectsNothing() async throws {
        let store = try await TestDatabases.open(.sqlite)
        let down = FaultyBackend(store.backend, down: true)
        let writer = StorageWriter(store: TradingStore(backend: down), queueSize: 100, batchSize: 10, isolateAfter: 2, logger: Logger(label: "test"))
        let task = Task { await writer.run() }
        for i in 0..<25 { writer.enqueue(.order(order("k\(i)", status: "new", at: Int64(i)))) }
        try await Task.sleep(for: .seconds(2))
        let failuresWhileDown = writer.stats.failures
        #expect(failuresWhileDown >= 3)
        down.recover()
        #expect(await writer.flush(timeout: .seconds(120)))
        writer.close()
        await task.value
        #expect(writer.stats.rejected == 0 && writer.stats.written == 25)
        #expect(try await store.count("orders") == 25)
        await store.close()
    }

    #if Postgres
    @Test("PostgreSQL's own refusal (a NUL in a text) sets aside that record only")
    func postgresRefusesANul() async throws {
        guard ProcessInfo.processInfo.environment["KEEL_TEST_POSTGRES_URL"] != nil else {
            #expect(!TestDatabases.postgresRequired, "KEEL_REQUIRE_POSTGRES=1 but KEEL_TEST_POSTGRES_URL is not set")
            return
        }
        let store = try await TestDatabases.open(.postgres)
        let recorder = LogRecorder()
        let writer = StorageWriter(store: store, queueSize: 100, batchSize: 10, isolateAfter: 2, logger: recorder.logger)
        let task = Task { await writer.run() }
        for i in 0..<15 {
            var record = order("k\(i)", status: "rejected", at: Int64(i))
            if i == 4 { record.reason = "venue said \u{0}" }
            writer.enqueue(.order(record))
        }
        #expect(await writer.flush(timeout: .seconds(120)))
        writer.close()
        await task.value
        #expect(try await store.count("orders") == 14)
        #expect(writer.stats.rejected == 1)
        #expect(recorder.all("keel_storage_record_rejected").first?["record"]?.contains("k4") == true)
        await store.close()
    }
    #endif

    #if Postgres
    @Test("a wrong PostgreSQL password fails with a typed error that does not contain it")
    func postgresErrorsHideThePassword() async throws {
        guard let base = ProcessInfo.processInfo.environment["KEEL_TEST_POSTGRES_URL"] else {
            #expect(!TestDatabases.postgresRequired, "KEEL_REQUIRE_POSTGRES=1 but KEEL_TEST_POSTGRES_URL is not set")
            return
        }
        let secret = "wrong-\(UUID().uuidString)"
        var configuration = StorageConfiguration()
        configuration.backend = .postgres
        configuration.postgresURL = base.replacingOccurrences(of: "keel-test-password", with: secret)
        do {
            _ = try await TradingStore.open(configuration, logger: Logger(label: "test"))
            Issue.record("opened with a wrong password")
        } catch {
            let text = "\(error) \(String(reflecting: error))"
            #expect(!text.contains(secret), "\(text)")
            #expect(error is StorageError)
        }
    }
    #endif

    @Test("candles read back exactly, a minute stored again replaced, a kline without taker split kept without one", arguments: TestDatabases.backends)
    func candlesReadBack(backend: StorageConfiguration.Backend) async throws {
        let store = try await TestDatabases.open(backend)
        let minute: Int64 = 60_000_000_000
        var bybit = Candle(start: 1_717_408_800_000_000_000, end: 1_717_408_800_000_000_000 + minute, open: d("67000.10"))
        bybit.high = d("67010.5")
        bybit.low = d("66990.0")
        bybit.close = d("67001.0")
        bybit.volume = d("12.345")
        bybit.turnover = d("827123.4567")
        bybit.takerSplit = false
        var live = Candle(start: bybit.end, end: bybit.end + minute, open: d("67001.0"))
        live.add(price: d("67002.5"), qty: d("0.010"), aggressor: .buy)
        live.add(price: d("67000.5"), qty: d("0.004"), aggressor: .sell)
        var replaced = live
        replaced.close = d("67003.0")
        try await store.write([.candle(exchange: "bybit", symbol: "BTCUSDT", bybit), .candle(exchange: "bybit", symbol: "BTCUSDT", live),
                               .candle(exchange: "bybit", symbol: "BTCUSDT", replaced), .candle(exchange: "binance-usdm", symbol: "BTCUSDT", live)])
        let read = try await store.candles(exchange: "bybit", symbol: "BTCUSDT", since: bybit.start)
        #expect(read == [bybit, replaced])
        #expect(try await store.candles(exchange: "bybit", symbol: "BTCUSDT", since: live.start) == [replaced])
        #expect(try await store.candles(exchange: "binance-usdm", symbol: "BTCUSDT", since: 0) == [live])
        await store.close()
    }
}

/// A real backend with faults: its first `failures` transactions fail (a database restarting), every
/// transaction holding the text `marker` is refused (a record it will never take), and while `down` it
/// answers nothing, transactions and probes alike, until `recover()`.
private final class FaultyBackend: SQLBackend {
    let inner: any SQLBackend
    let marker: String?
    let state: Mutex<(failures: Int, down: Bool)>
    var dialect: SQLDialect { inner.dialect }

    init(_ inner: any SQLBackend, failures: Int = 0, marker: String? = nil, down: Bool = false) {
        self.inner = inner
        self.marker = marker
        state = Mutex((failures, down))
    }

    struct Refused: Error {}

    func recover() { state.withLock { $0.down = false } }

    func transaction(_ statements: [SQLStatement]) async throws {
        let fail = state.withLock { state in
            if state.down { return true }
            if state.failures > 0 { state.failures -= 1; return true }
            return false
        }
        if fail { throw Refused() }
        if let marker, statements.contains(where: { $0.values.contains(.text(marker)) }) { throw Refused() }
        try await inner.transaction(statements)
    }

    func rows(_ statement: SQLStatement) async throws -> [[String?]] {
        if state.withLock({ $0.down }) { throw Refused() }
        return try await inner.rows(statement)
    }

    func close() async { await inner.close() }
}
