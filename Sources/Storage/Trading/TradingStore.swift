import Foundation
import Logging
import Market

/// A database the one schema lives in: statements in a transaction, and rows read back as text.
public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// Runs every statement in one transaction: all land, or none.
    func transaction(_ statements: [SQLStatement]) async throws
    /// The rows of a query whose columns are all cast to text.
    func rows(_ statement: SQLStatement) async throws -> [[String?]]
    func close() async
}

/// Where the bot's orders, fills, positions, PnL and risk events are kept.
public struct StorageConfiguration: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case sqlite
        case postgres
        /// Nothing is stored (paper experiments); client ids are still reserved in memory only.
        case none
    }

    public var backend: Backend = .sqlite
    /// The SQLite file; its directory is created.
    public var path = "data/keel.sqlite"
    /// `postgres://user:password@host:port/database` (a secret: it carries the password).
    public var postgresURL: String?
    /// Records waiting for the writer before snapshots (position, PnL) are dropped; orders, fills and risk events never are.
    public var queueSize = 10_000
    /// Records written per transaction at most.
    public var batchSize = 500
    /// Seconds between position and PnL snapshots (also written on every fill).
    public var snapshotInterval = 10.0
    /// Client ids reserved (and made durable) per block before any of them is sent.
    public var clientIdBlock = 200

    public init() {}
}

public enum StorageError: Error, CustomStringConvertible, Equatable {
    case postgresNotBuiltIn
    case badPostgresURL(String)
    case missingPostgresURL
    case database(String)

    public var description: String {
        switch self {
        case .postgresNotBuiltIn:
            "storage.backend: postgres is not built into this keel; build it with `swift build --traits Postgres`, or use sqlite"
        case .badPostgresURL(let problem):
            "storage.postgres_url: \(problem); write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        case .missingPostgresURL:
            "storage.postgres_url: missing for backend postgres; set it (or STORAGE_POSTGRES_URL, STORAGE_POSTGRES_URL_FILE)"
        case .database(let message):
            "storage: \(message)"
        }
    }
}

/// The schema's operations, the same on every backend.
public struct TradingStore: Sendable {
    public let backend: any SQLBackend
    public var dialect: SQLDialect { backend.dialect }

    public init(backend: any SQLBackend) {
        self.backend = backend
    }

    /// Opens the configured database (nil for `none`) and brings its schema up to date.
    public static func open(_ configuration: StorageConfiguration, logger: Logger) async throws -> TradingStore? {
        let backend: any SQLBackend
        switch configuration.backend {
        case .none:
            return nil
        case .sqlite:
            backend = try SQLiteBackend(path: configuration.path)
        case .postgres:
            guard let url = configuration.postgresURL, !url.isEmpty else { throw StorageError.missingPostgresURL }
            #if Postgres
            backend = try await PostgresBackend.connect(url: url, logger: logger)
            #else
            _ = url
            throw StorageError.postgresNotBuiltIn
            #endif
        }
        let store = TradingStore(backend: backend)
        do {
            let applied = try await store.migrate()
            if !applied.isEmpty {
                logger.info("keel_storage_migrated", metadata: ["backend": "\(backend.dialect.rawValue)", "versions": "\(applied)"])
            }
        } catch {
            await backend.close()
            throw error
        }
        return store
    }

    /// Applies the migrations not yet applied, each in its own transaction; returns their versions.
    @discardableResult
    public func migrate(now: Int64 = Int64(Date().timeIntervalSince1970 * 1e9)) async throws -> [Int] {
        try await backend.transaction([SQLStatement(sql: """
            CREATE TABLE IF NOT EXISTS keel_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
            """, values: [])])
        let done = Set(try await backend.rows(SQLStatement(sql: "SELECT CAST(version AS TEXT) FROM keel_migrations", values: []))
            .compactMap { $0.first.flatMap { $0.flatMap { Int($0) } } })
        var applied: [Int] = []
        for migration in Schema.migrations where !done.contains(migration.version) {
            var statements = migration.statements(dialect).map { SQLStatement(sql: $0, values: []) }
            statements.append(SQLStatement(sql: dialect.placeholders("INSERT INTO keel_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
                                           values: [.integer(Int64(migration.version)), .text(migration.name), .integer(now)]))
            try await backend.transaction(statements)
            applied.append(migration.version)
        }
        return applied
    }

    public func schemaVersions() async throws -> [Int] {
        try await backend.rows(SQLStatement(sql: "SELECT CAST(version AS TEXT) FROM keel_migrations ORDER BY version", values: []))
            .compactMap { $0.first.flatMap { $0.flatMap { Int($0) } } }
    }

    /// Writes the records in one transaction, in order.
    public func write(_ records: [TradingRecord]) async throws {
        guard !records.isEmpty else { return }
        try await backend.transaction(records.map { Schema.statement(for: $0, dialect) })
    }

    /// A round trip that touches no table: does the database answer at all?
    public func probe() async throws {
        _ = try await backend.rows(SQLStatement(sql: "SELECT 1", values: []))
    }

    /// Makes a block of client-id sequence numbers durable before any of them is used.
    public func reserveClientIds(run: String, first: Int, last: Int, time: Int64) async throws {
        try await backend.transaction([Schema.reserve(run: run, first: Int64(first), last: Int64(last), time: time, dialect)])
    }

    // MARK: Reading

    public func count(_ table: String) async throws -> Int {
        precondition(Schema.tables.contains(table), "unknown table \(table)")
        let rows = try await backend.rows(SQLStatement(sql: "SELECT CAST(COUNT(*) AS TEXT) FROM \(table)", values: []))
        return rows.first.flatMap { $0.first.flatMap { $0.flatMap { Int($0) } } } ?? 0
    }

    public func counts() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in Schema.tables { out[table] = try await count(table) }
        return out
    }

    public struct Run: Sendable, Equatable {
        public var run: String
        public var venue: String
        public var symbol: String
        public var startedAt: Int64
        public var endedAt: Int64?

        public init(run: String, venue: String, symbol: String, startedAt: Int64, endedAt: Int64?) {
            self.run = run
            self.venue = venue
            self.symbol = symbol
            self.startedAt = startedAt
            self.endedAt = endedAt
        }
    }

    public func runs() async throws -> [Run] {
        try await backend.rows(SQLStatement(sql: """
            SELECT run_id, venue, symbol, CAST(started_at AS TEXT), CAST(ended_at AS TEXT) FROM runs ORDER BY started_at
            """, values: [])).map { r in
            Run(run: r[0] ?? "", venue: r[1] ?? "", symbol: r[2] ?? "", startedAt: Int64(r[3] ?? "") ?? 0, endedAt: r[4].flatMap { Int64($0) })
        }
    }

    /// The reserved client-id blocks of a run, in order.
    public func clientIdBlocks(run: String) async throws -> [ClosedRange<Int>] {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT CAST(first_seq AS TEXT), CAST(last_seq AS TEXT) FROM client_id_blocks WHERE run_id = ? ORDER BY first_seq
            """), values: [.text(run)])).compactMap { r in
            guard let first = r[0].flatMap({ Int($0) }), let last = r[1].flatMap({ Int($0) }) else { return nil }
            return first...last
        }
    }

    public func orders(run: String? = nil) async throws -> [OrderRecord] {
        let filter = run == nil ? "" : " WHERE run_id = ?"
        return try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT client_id, run_id, symbol, side, CAST(price AS TEXT), CAST(qty AS TEXT), CAST(filled_qty AS TEXT),
              CAST(average_price AS TEXT), status, exchange_order_id, reason, CAST(created_at AS TEXT), CAST(updated_at AS TEXT)
            FROM orders\(filter) ORDER BY created_at, client_id
            """), values: run.map { [.text($0)] } ?? [])).map { r in
            OrderRecord(clientId: r[0] ?? "", run: r[1] ?? "", symbol: r[2] ?? "", side: Side(rawValue: r[3] ?? "") ?? .buy,
                        price: Self.decimal(r[4]), qty: Self.decimal(r[5]), filledQty: Self.decimal(r[6]),
                        averagePrice: r[7].flatMap { FixedDecimal($0) }, status: r[8] ?? "", exchangeOrderId: r[9], reason: r[10] ?? "",
                        createdTime: Int64(r[11] ?? "") ?? 0, updatedTime: Int64(r[12] ?? "") ?? 0)
        }
    }

    public func orderEvents(clientId: String) async throws -> [OrderEventRecord] {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT client_id, CAST(time AS TEXT), event, status, CAST(price AS TEXT), CAST(qty AS TEXT), CAST(filled_qty AS TEXT), detail
            FROM order_events WHERE client_id = ? ORDER BY id
            """), values: [.text(clientId)])).map { r in
            OrderEventRecord(clientId: r[0] ?? "", time: Int64(r[1] ?? "") ?? 0, event: r[2] ?? "", status: r[3] ?? "",
                             price: r[4].flatMap { FixedDecimal($0) }, qty: r[5].flatMap { FixedDecimal($0) },
                             filledQty: r[6].flatMap { FixedDecimal($0) }, detail: r[7] ?? "")
        }
    }

    public func fills(run: String? = nil) async throws -> [FillRecord] {
        let filter = run == nil ? "" : " WHERE run_id = ?"
        return try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT execution_id, client_id, order_id, run_id, symbol, side, CAST(price AS TEXT), CAST(qty AS TEXT), CAST(fee AS TEXT),
              CAST(is_maker AS TEXT), CAST(time AS TEXT) FROM fills\(filter) ORDER BY time, execution_id
            """), values: run.map { [.text($0)] } ?? [])).map { r in
            FillRecord(executionId: r[0] ?? "", clientId: r[1] ?? "", orderId: r[2] ?? "", run: r[3] ?? "", symbol: r[4] ?? "",
                       side: Side(rawValue: r[5] ?? "") ?? .buy, price: Self.decimal(r[6]), qty: Self.decimal(r[7]), fee: Self.decimal(r[8]),
                       isMaker: r[9] == "1", time: Int64(r[10] ?? "") ?? 0)
        }
    }

    /// The latest PnL snapshot of a run.
    public func lastPnL(run: String) async throws -> PnLRecord? {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT run_id, symbol, CAST(time AS TEXT), CAST(realised AS TEXT), CAST(unrealised AS TEXT), CAST(fees AS TEXT),
              CAST(net AS TEXT), CAST(mark AS TEXT) FROM pnl_snapshots WHERE run_id = ? ORDER BY time DESC, id DESC LIMIT 1
            """), values: [.text(run)])).first.map { r in
            PnLRecord(run: r[0] ?? "", symbol: r[1] ?? "", time: Int64(r[2] ?? "") ?? 0, realised: Self.decimal(r[3]),
                      unrealised: Self.decimal(r[4]), fees: Self.decimal(r[5]), net: Self.decimal(r[6]), mark: r[7].flatMap { FixedDecimal($0) })
        }
    }

    /// The latest position snapshot of a run.
    public func lastPosition(run: String) async throws -> PositionRecord? {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT run_id, symbol, CAST(time AS TEXT), CAST(size AS TEXT), CAST(average_entry AS TEXT) FROM positions
            WHERE run_id = ? ORDER BY time DESC, id DESC LIMIT 1
            """), values: [.text(run)])).first.map { r in
            PositionRecord(run: r[0] ?? "", symbol: r[1] ?? "", time: Int64(r[2] ?? "") ?? 0, size: Self.decimal(r[3]),
                           averageEntry: r[4].flatMap { FixedDecimal($0) })
        }
    }

    /// A fill's markouts: (horizon in seconds, bp), shortest first.
    public func markouts(executionId: String) async throws -> [(horizon: Int, bps: Double)] {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT CAST(horizon_s AS TEXT), CAST(bps AS TEXT) FROM markouts WHERE execution_id = ? ORDER BY horizon_s
            """), values: [.text(executionId)])).compactMap { r in
            guard let horizon = r[0].flatMap({ Int($0) }), let bps = r[1].flatMap({ Double($0) }) else { return nil }
            return (horizon, bps)
        }
    }

    /// The stored 1-minute candles of `symbol` on `exchange` starting at or after `since` (ns), oldest first.
    public func candles(exchange: String, symbol: String, since: Int64) async throws -> [Candle] {
        try await backend.rows(SQLStatement(sql: dialect.placeholders("""
            SELECT CAST(start_ms AS TEXT), CAST(open AS TEXT), CAST(high AS TEXT), CAST(low AS TEXT), CAST(close AS TEXT), CAST(volume AS TEXT),
              CAST(turnover AS TEXT), CAST(buy_volume AS TEXT), CAST(buy_turnover AS TEXT), CAST(trades AS TEXT)
            FROM candles WHERE exchange = ? AND symbol = ? AND interval = '1m' AND start_ms >= ? ORDER BY start_ms
            """), values: [.text(exchange), .text(symbol), .integer(since / 1_000_000)])).compactMap { r in
            guard let ms = r[0].flatMap({ Int64($0) }) else { return nil }
            var candle = Candle(start: ms * 1_000_000, end: ms * 1_000_000 + 60_000_000_000, open: Self.decimal(r[1]), high: Self.decimal(r[2]),
                                low: Self.decimal(r[3]), close: Self.decimal(r[4]), volume: Self.decimal(r[5]), turnover: Self.decimal(r[6]))
            if let buy = r[7].flatMap({ FixedDecimal($0) }) {
                candle.buyVolume = buy
                candle.buyTurnover = Self.decimal(r[8])
                candle.trades = r[9].flatMap { Int($0) } ?? 0
            } else {
                candle.takerSplit = false
            }
            return candle
        }
    }

    public func close() async { await backend.close() }

    private static func decimal(_ text: String?) -> FixedDecimal { text.flatMap { FixedDecimal($0) } ?? .zero }
}
