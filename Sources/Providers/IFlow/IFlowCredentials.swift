import Foundation
import Synchronization

/// Where the iFlow API key comes from: `IFLOW_API_KEY`, else the official CLI's
/// `~/.iflow/settings.json` (`apiKey`, fallback `searchApiKey`), re-read when the
/// file changes so a sign-in elsewhere takes effect without a restart.
package final class IFlowCredentials: Sendable {
    package enum Source: Sendable, Equatable {
        case environment
        case settingsFile(String)
        case none
    }

    private struct FileState {
        var key: String?
        var modified: Date?
    }

    private let environmentKey: String?
    package let settingsPath: String
    private let state = Mutex(FileState())
    /// A sign-in kept in the state store: its key, as held in memory.
    private let storedSignIn: IFlowStoredSignIn?

    /// Reads the settings file once; after that only `checkForChanges` and `reload` read it,
    /// so a request or /health never touches the disk (docs/architecture.md, "Providers").
    package init(environmentKey: String?, settingsPath: String) {
        let trimmed = environmentKey?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.environmentKey = (trimmed?.isEmpty ?? true) ? nil : trimmed
        self.settingsPath = settingsPath
        self.storedSignIn = nil
        if self.environmentKey == nil { _ = reload() }
    }

    init(stored: IFlowStoredSignIn) {
        self.environmentKey = nil
        self.settingsPath = ""
        self.storedSignIn = stored
    }

    /// The key to use now, or nil when none is configured.
    package func currentKey() -> String? {
        if let storedSignIn { return storedSignIn.key }
        return environmentKey ?? state.withLock { $0.key }
    }

    /// Reads the file again now (after the upstream said the key expired, or a sign-in was saved). Returns the key.
    @discardableResult
    package func reload() -> String? {
        if let storedSignIn { return storedSignIn.key }
        if let environmentKey { return environmentKey }
        let modified = Self.modificationDate(settingsPath)
        let key = modified == nil ? nil : Self.readKey(settingsPath)
        state.withLock { $0 = FileState(key: key, modified: modified) }
        return key
    }

    /// Reads the file again when its modification time changed (a sign-in elsewhere, an
    /// edit): the provider's background work calls this every few seconds.
    package func checkForChanges() {
        guard environmentKey == nil, storedSignIn == nil else { return }
        let modified = Self.modificationDate(settingsPath)
        if modified != state.withLock({ $0.modified }) { reload() }
    }

    package var source: Source {
        if environmentKey != nil { return .environment }
        return currentKey() == nil ? .none : .settingsFile(settingsPath)
    }

    /// docs/protocols/iflow.md: `apiKey`, fallback `searchApiKey`.
    package static func apiKey(fromSettings data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        for field in ["apiKey", "searchApiKey"] {
            if let key = (object[field] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
                return key
            }
        }
        return nil
    }

    private static func readKey(_ path: String) -> String? {
        guard let data = CredentialFileReader.read(path) else { return nil }
        return apiKey(fromSettings: data)
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
