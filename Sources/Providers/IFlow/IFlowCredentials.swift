import Foundation
import Synchronization

/// Where the iFlow API key comes from: `IFLOW_API_KEY`, else the official CLI's
/// `~/.iflow/settings.json` (`apiKey`, fallback `searchApiKey`), re-read when the
/// file changes so a sign-in elsewhere takes effect without a restart.
public final class IFlowCredentials: Sendable {
    public enum Source: Sendable, Equatable {
        case environment
        case settingsFile(String)
        case none
    }

    private struct FileState {
        var key: String?
        var modified: Date?
        var lastCheck: ContinuousClock.Instant?
    }

    private let environmentKey: String?
    public let settingsPath: String
    private let state = Mutex(FileState())
    /// How often the settings file's modification time is looked at, at most.
    private let checkInterval: Duration

    public init(environmentKey: String?, settingsPath: String, checkInterval: Duration = .seconds(1)) {
        let trimmed = environmentKey?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.environmentKey = (trimmed?.isEmpty ?? true) ? nil : trimmed
        self.settingsPath = settingsPath
        self.checkInterval = checkInterval
    }

    /// The key to use now, or nil when none is configured.
    public func currentKey() -> String? {
        if let environmentKey { return environmentKey }
        return state.withLock { state in
            let now = ContinuousClock.now
            if let last = state.lastCheck, now - last < checkInterval { return state.key }
            state.lastCheck = now
            let modified = Self.modificationDate(settingsPath)
            if modified != state.modified || modified == nil {
                state.modified = modified
                state.key = modified == nil ? nil : Self.readKey(settingsPath)
            }
            return state.key
        }
    }

    /// Reads the file again now (after the upstream said the key expired). Returns the key.
    public func reload() -> String? {
        if let environmentKey { return environmentKey }
        return state.withLock { state in
            state.lastCheck = ContinuousClock.now
            state.modified = Self.modificationDate(settingsPath)
            state.key = Self.readKey(settingsPath)
            return state.key
        }
    }

    public var source: Source {
        if environmentKey != nil { return .environment }
        return currentKey() == nil ? .none : .settingsFile(settingsPath)
    }

    /// docs/protocols/iflow.md: `apiKey`, fallback `searchApiKey`.
    public static func apiKey(fromSettings data: Data) -> String? {
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
