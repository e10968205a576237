import Foundation
import OpenAIWire

/// The official CLI's credential files (docs/protocols/iflow.md): `~/.iflow/settings.json` and
/// `~/.iflow/oauth_creds.json`. Every key flowgate does not own is kept; writes
/// are atomic (temp file + rename) with mode 0600.
package struct IFlowCredentialFiles: Sendable {
    package let settingsPath: String
    package let credsPath: String

    package init(settingsPath: String) {
        self.settingsPath = settingsPath
        self.credsPath = (settingsPath as NSString).deletingLastPathComponent + "/oauth_creds.json"
    }

    /// A stored sign-in: what the refresher needs.
    package struct Stored: Sendable, Equatable {
        package var accessToken: String?
        package var refreshToken: String?
        package var expiry: Date?
        package var user: [String: String]
    }

    /// `oauth_creds.json`, else iflow2api's older keys in settings.json (so users can migrate).
    package func load() -> Stored? {
        if let creds = Self.readObject(credsPath), let stored = Self.stored(inCreds: creds) { return stored }
        if let settings = Self.readObject(settingsPath), let refresh = settings["oauth_refresh_token"]?.stringValue {
            let expiry = settings["oauth_expires_at"]?.stringValue.flatMap { try? Date($0, strategy: .iso8601) }
            return Stored(
                accessToken: settings["oauth_access_token"]?.stringValue, refreshToken: refresh, expiry: expiry,
                user: [:])
        }
        return nil
    }

    /// Writes a sign-in (or refresh) the way the official CLI stores it.
    package func save(_ signIn: IFlowOAuth.SignIn) throws {
        var settings = Self.readObject(settingsPath) ?? [:]
        settings["apiKey"] = .string(signIn.apiKey)
        settings["searchApiKey"] = .string(signIn.apiKey)
        settings["selectedAuthType"] = "oauth-iflow"
        if settings["baseUrl"] == nil { settings["baseUrl"] = "https://apis.iflow.cn/v1" }
        let creds = Self.creds(signIn, over: Self.readObject(credsPath) ?? [:])
        // The creds first: a settings.json pointing at oauth without creds would be worse.
        try Self.writeAtomically(creds, to: credsPath)
        try Self.writeAtomically(settings, to: settingsPath)
    }

    /// A sign-in as `oauth_creds.json` holds it (with its `apiKey`), over what the file held.
    package static func creds(_ signIn: IFlowOAuth.SignIn, over existing: JSONObject) -> JSONObject {
        var creds = existing
        creds["access_token"] = .string(signIn.accessToken)
        if let refresh = signIn.refreshToken { creds["refresh_token"] = .string(refresh) }
        creds["expiry_date"] = .int(Int64(signIn.expiry.timeIntervalSince1970 * 1000))
        if let type = signIn.tokenType { creds["token_type"] = .string(type) }
        if let scope = signIn.scope { creds["scope"] = .string(scope) }
        creds["apiKey"] = .string(signIn.apiKey)
        for (key, value) in signIn.user { creds[key] = .string(value) }
        return creds
    }

    /// What the refresher needs from an `oauth_creds.json` object; nil without a token.
    package static func stored(inCreds creds: JSONObject) -> Stored? {
        guard creds["refresh_token"]?.stringValue != nil || creds["access_token"] != nil else { return nil }
        let expiry = creds["expiry_date"]?.numberValue.map { Date(timeIntervalSince1970: $0 / 1000) }
        var user: [String: String] = [:]
        for key in ["userId", "userName", "email", "phone"] { user[key] = creds[key]?.stringValue }
        return Stored(
            accessToken: creds["access_token"]?.stringValue, refreshToken: creds["refresh_token"]?.stringValue,
            expiry: expiry, user: user)
    }

    static func readObject(_ path: String) -> JSONObject? {
        guard let data = CredentialFileReader.read(path) else { return nil }
        return (try? JSONCoding.decode(data))?.objectValue
    }

    /// Temp file created 0600 in the same directory, fsynced, then renamed over the target,
    /// and the directory fsynced so the rename survives a crash. A symlinked file (dotfiles
    /// kept in a repository) is written through the link: the link stays a link.
    static func writeAtomically(_ object: JSONObject, to link: String) throws {
        let path = resolvingSymlinks(link)
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let temporary = "\(path).tmp-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CredentialFileError(message: "cannot create \(temporary): errno \(errno)") }
        var buffer = JSONCoding.buffer(.object(object))
        buffer.writeString("\n")
        let ok = buffer.withUnsafeReadableBytes { bytes in write(fd, bytes.baseAddress, bytes.count) == bytes.count }
        let synced = fsync(fd) == 0
        close(fd)
        guard ok, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CredentialFileError(message: "cannot write \(path): errno \(errno)")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The file a chain of symlinks ends at (relative links resolved against their own directory).
    static func resolvingSymlinks(_ path: String) -> String {
        var current = path
        for _ in 0..<16 {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { break }
            current =
                target.hasPrefix("/")
                ? target : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
        }
        return current
    }
}

package struct CredentialFileError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package var description: String { message }
}
