#if Postgres
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// PostgreSQL through postgres-nio's connection pool (built with `--traits Postgres`).
public final class PostgresBackend: SQLBackend {
    public let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger

    /// `url`: postgres://USER:PASSWORD@HOST:PORT/DATABASE (`?sslmode=require` for TLS). The URL is never
    /// put into an error or a log line: it carries the password.
    public init(url: String, logger: Logger) throws {
        let target = try Target(url: url)
        var configuration = PostgresClient.Configuration(host: target.host, port: target.port, username: target.user,
                                                         password: target.password, database: target.database, tls: target.clientTLS)
        configuration.options.maximumConnections = 4
        configuration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// Connects once first, so that a wrong address or password fails at start with the server's reason
    /// (the pool alone would keep retrying), then opens the pool.
    public static func connect(url: String, logger: Logger) async throws -> PostgresBackend {
        let target = try Target(url: url)
        let configuration = PostgresConnection.Configuration(host: target.host, port: target.port, username: target.user,
                                                             password: target.password, database: target.database,
                                                             tls: target.connectionTLS)
        do {
            let probe = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await probe.close()
        } catch {
            throw StorageError.database("cannot connect to PostgreSQL at \(target.host):\(target.port) as \(target.user): \(describe(error))")
        }
        return try PostgresBackend(url: url, logger: logger)
    }

    struct Target {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String?
        var requireTLS: Bool

        init(url: String) throws {
            guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql" else {
                throw StorageError.badPostgresURL("not a postgres:// URL")
            }
            guard let host = parts.host, !host.isEmpty else { throw StorageError.badPostgresURL("no host") }
            guard let user = parts.user, !user.isEmpty else { throw StorageError.badPostgresURL("no user") }
            self.host = host
            self.user = user
            port = parts.port ?? 5432
            password = parts.password?.removingPercentEncoding ?? parts.password
            let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
            database = path.isEmpty ? nil : path
            requireTLS = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value == "require"
        }

        var clientTLS: PostgresClient.Configuration.TLS { requireTLS ? .require(.makeClientConfiguration()) : .disable }
        var connectionTLS: PostgresConnection.Configuration.TLS {
            guard requireTLS, let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return .disable }
            return .require(context)
        }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        let logger = logger
        do {
            try await client.withTransaction(logger: logger) { connection in
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement.sql, binds: Self.binds(statement.values)), logger: logger)
                }
            }
        } catch {
            throw StorageError.database(Self.describe(error))
        }
    }

    public func rows(_ statement: SQLStatement) async throws -> [[String?]] {
        do {
            let rows = try await client.query(PostgresQuery(unsafeSQL: statement.sql, binds: Self.binds(statement.values)), logger: logger)
            var out: [[String?]] = []
            for try await row in rows {
                out.append(try row.map { try $0.decode(String?.self) })
            }
            return out
        } catch {
            throw StorageError.database(Self.describe(error))
        }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    private static func binds(_ values: [SQLValue]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let number): binds.append(number)
            case .real(let number): binds.append(number)
            case .null: binds.appendNull()
            }
        }
        return binds
    }

    /// The server's message (PSQLError's own description hides it), never the binds.
    private static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return "PostgreSQL: \(message)" }
            return "PostgreSQL: \(psql.code)"
        }
        return "\(error)"
    }
}
#endif
