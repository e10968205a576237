import Foundation
import Logging

/// Where the state store lives (docs/configuration.md, `store`): SQLite at `{data dir}/flowgate.db`
/// by default, `postgres://…` for several instances, `sqlite:PATH` for another file, or `memory`.
package enum StoreLocation: Sendable, Equatable {
    case memory
    case sqlite(path: String)
    case postgres(url: String)

    package init(_ value: String?, dataDirectory: String) throws(StoreSetupError) {
        let value = value?.trimmingCharacters(in: .whitespaces) ?? ""
        if value.isEmpty {
            self = .sqlite(path: "\(dataDirectory)/flowgate.db")
        } else if value == "memory" {
            self = .memory
        } else if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            self = .postgres(url: value)
        } else if value.hasPrefix("sqlite:") {
            self = .sqlite(path: String(value.dropFirst("sqlite:".count)))
        } else {
            throw StoreSetupError(
                "store must be postgres://user:password@host:port/database, sqlite:PATH or memory (got '\(value.prefix(20))…')")
        }
    }

    /// Said in the log and on /health: never the password.
    package var description: String {
        switch self {
        case .memory: "memory (nothing survives a restart)"
        case .sqlite(let path): "SQLite \(path)"
        case .postgres(let url):
            if let components = URLComponents(string: url) {
                "PostgreSQL \(components.host ?? "?"):\(components.port ?? 5432)\(components.path)"
            } else {
                "PostgreSQL"
            }
        }
    }

    /// Opens the store and applies missing migrations. `secretKey` is `FLOWGATE_SECRET_KEY`'s value.
    package func open(secretKey: String?, dataDirectory: String, logger: Logger) async throws -> any StateStore {
        let connector: any SQLConnector
        let keyFile: String?
        switch self {
        case .memory: return MemoryStateStore()
        case .sqlite(let path):
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            keyFile = "\(dataDirectory)/secret.key"
            connector = try await SQLiteConnector(path: path, logger: logger)
        case .postgres(let url):
            keyFile = nil
            connector = try PostgresConnector(url: url, logger: logger)
        }
        let sealer: SecretSealer
        do {
            sealer = SecretSealer(key: try SecretKey.resolve(environment: secretKey, file: keyFile))
        } catch {
            await connector.close()
            throw error
        }
        let store = SQLStateStore(connector: connector, sealer: sealer)
        do {
            let applied = try await store.migrate()
            if !applied.isEmpty { logger.info("state store \(description): schema steps \(applied) applied") }
        } catch {
            await connector.close()
            throw StoreSetupError("the state store (\(description)) cannot be opened: \(error)")
        }
        return store
    }
}
