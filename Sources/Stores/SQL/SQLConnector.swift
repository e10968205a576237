import Foundation
import Logging
import NIOSSL
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit

/// How `SQLStateStore` reaches its database: one SQLite file, or a PostgreSQL server through
/// postgres-nio's connection pool.
protocol SQLConnector: Sendable {
    var kind: String { get }
    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func close() async
}

/// One connection to `{data dir}/flowgate.db` (sqlite-nio runs it on its thread pool, one statement at a time).
final class SQLiteConnector: SQLConnector {
    private let connection: SQLiteConnection

    init(path: String, logger: Logger) async throws {
        connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        // A second process (or `flowgate login`) may write the same file: wait for it rather than fail.
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
        _ = try await connection.query("PRAGMA journal_mode = WAL")
        // With WAL, NORMAL syncs at checkpoints, not at every commit: a commit (a stored response,
        // a sign-in) waits for no fsync. A power cut may lose the last commits, never the database.
        _ = try await connection.query("PRAGMA synchronous = NORMAL")
        // 256 KiB of page cache instead of 2 MB: the usage writer's appends filled the default
        // cache with pages it does not read again; the file stays in the system's cache anyway.
        _ = try await connection.query("PRAGMA cache_size = -256")
    }

    var kind: String { "sqlite" }

    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await body(connection.sql(queryLogLevel: nil))
    }

    func close() async {
        try? await connection.close()
    }
}

/// A PostgreSQL server shared by instances; `postgres://user:pass@host:port/db` (`?sslmode=require` for TLS).
final class PostgresConnector: SQLConnector {
    private let client: PostgresClient
    private let running: Task<Void, Never>

    init(url: String, logger: Logger) throws(StoreSetupError) {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty
        else {
            throw StoreSetupError("the store URL is not a PostgreSQL URL (postgres://user:password@host:port/database)")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        let sslMode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user?.removingPercentEncoding ?? "postgres",
            password: parts.password?.removingPercentEncoding, database: database.isEmpty ? nil : database,
            tls: ["require", "verify-full", "verify-ca"].contains(sslMode) ? .require(.makeClientConfiguration()) : .disable)
        // A store that does not answer must not hold requests: fail fast, serve on local state.
        configuration.options.connectTimeout = .seconds(2)
        configuration.options.maximumConnections = 8
        // The pool retries a lost server on its own; each failed attempt is not worth a log line
        // (the store's `fault` and `/health` say it once).
        var quiet = logger
        quiet.logLevel = .critical
        client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        let client = self.client
        running = Task { await client.run() }
    }

    var kind: String { "postgres" }

    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    func close() async {
        running.cancel()
    }
}
