import Foundation
import Logging
import Storage

/// The databases storage tests run against: a new SQLite file each time, and — in a build with the
/// `Postgres` trait and a server at `KEEL_TEST_POSTGRES_URL` (scripts/postgres.sh starts one) — a new
/// PostgreSQL database each time. `KEEL_REQUIRE_POSTGRES=1` (set by scripts/test.sh) makes a missing
/// server a failure instead of a skipped backend.
public enum TestDatabases {
    public static var postgresRequired: Bool { ProcessInfo.processInfo.environment["KEEL_REQUIRE_POSTGRES"] == "1" }

    /// The backends to run on; `postgres` only when it is built in and a server is configured (or required).
    public static var backends: [StorageConfiguration.Backend] {
        #if Postgres
        if postgresRequired || ProcessInfo.processInfo.environment["KEEL_TEST_POSTGRES_URL"] != nil { return [.sqlite, .postgres] }
        #endif
        return postgresRequired ? [.sqlite, .postgres] : [.sqlite]
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// A configuration naming a new, empty database of that backend.
    public static func configuration(_ backend: StorageConfiguration.Backend) async throws -> StorageConfiguration {
        var configuration = StorageConfiguration()
        configuration.backend = backend
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-store-\(UUID().uuidString)")
            configuration.path = directory.appendingPathComponent("keel.sqlite").path
        case .postgres:
            configuration.postgresURL = try await freshPostgresDatabase()
        case .none:
            break
        }
        return configuration
    }

    public static func open(_ backend: StorageConfiguration.Backend) async throws -> TradingStore {
        guard let store = try await TradingStore.open(try await configuration(backend), logger: Logger(label: "test")) else {
            throw Missing(description: "no store for \(backend)")
        }
        return store
    }

    /// CREATE DATABASE on the test server; returns the new database's URL.
    public static func freshPostgresDatabase() async throws -> String {
        guard let base = ProcessInfo.processInfo.environment["KEEL_TEST_POSTGRES_URL"] else {
            throw Missing(description: "KEEL_TEST_POSTGRES_URL is not set: start a server with scripts/postgres.sh and export its URL")
        }
        #if Postgres
        let name = "keel_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try PostgresBackend(url: base, logger: Logger(label: "test"))
        _ = try await admin.rows(SQLStatement(sql: "CREATE DATABASE \(name)", values: []))
        await admin.close()
        guard let slash = base.lastIndex(of: "/") else { throw Missing(description: "KEEL_TEST_POSTGRES_URL has no database") }
        return base[..<slash] + "/" + name
        #else
        throw Missing(description: "this build has no PostgreSQL backend: test with `swift test --traits Postgres`")
        #endif
    }
}
