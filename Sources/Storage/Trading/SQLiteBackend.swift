import Foundation
import GRDB

/// SQLite through GRDB: one file in WAL mode, so readers never wait for the writer.
public final class SQLiteBackend: SQLBackend {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "keel-storage"
        // The store is written in batches and read rarely: a small page cache per connection (SQLite's default
        // is 2 MB), so the bot's memory settles within minutes (a soak saw the default one fill for 15).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        configuration.maximumReaderCount = 2
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StorageError.database("cannot open the SQLite file \(path): \(error)")
        }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        try await pool.write { db in
            for statement in statements {
                try db.execute(sql: statement.sql, arguments: StatementArguments(statement.values.map(\.databaseValue)))
            }
        }
    }

    public func rows(_ statement: SQLStatement) async throws -> [[String?]] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.values.map(\.databaseValue))).map { row in
                (0..<row.count).map { Self.text(row[$0] as DatabaseValue) }
            }
        }
    }

    public func close() async {
        try? pool.close()
    }

    /// Every column as text, whatever its storage class (GRDB's `String?` conversion traps on an integer).
    private static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: nil
        case .int64(let integer): String(integer)
        case .double(let double): String(double)
        case .string(let string): string
        case .blob(let data): String(decoding: data, as: UTF8.self)
        }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text.databaseValue
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .null: .null
        }
    }
}
