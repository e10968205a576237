import Crypto
import Foundation

/// Where the sealing key comes from (docs/security.md, "The state store"): `FLOWGATE_SECRET_KEY`
/// (32 bytes as base64 or hex, or any phrase of 32 characters or more, hashed with SHA-256);
/// without it, SQLite's default generates one into `{data dir}/secret.key` (0600), and a shared
/// PostgreSQL store refuses to start, since every instance must hold the same key.
package enum SecretKey {
    package static let variable = "FLOWGATE_SECRET_KEY"

    package static func parse(_ value: String) throws(StoreSetupError) -> SymmetricKey {
        let text = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if let data = Data(base64Encoded: text), data.count == 32 { return SymmetricKey(data: data) }
        if text.utf8.count == 64, let data = hexBytes(text) { return SymmetricKey(data: data) }
        guard text.utf8.count >= 32 else {
            throw StoreSetupError(
                "\(variable) is too short: give 32 random bytes as base64 (`openssl rand -base64 32`) or a phrase of 32 characters or more.")
        }
        return SymmetricKey(data: SHA256.hash(data: Data(text.utf8)))
    }

    /// The key from the environment, else from (or generated into) `file` when one is allowed.
    package static func resolve(environment: String?, file: String?) throws(StoreSetupError) -> SymmetricKey {
        if let environment, !environment.isEmpty { return try parse(environment) }
        guard let file else {
            throw StoreSetupError(
                "A PostgreSQL store needs \(variable), the same on every instance (for example `openssl rand -base64 32`).")
        }
        if let existing = try? String(contentsOfFile: file, encoding: .utf8) { return try parse(existing) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        do {
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: file, contents: Data((fresh + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw StoreSetupError("cannot create \(file)") }
        } catch let error as StoreSetupError {
            throw error
        } catch {
            throw StoreSetupError("cannot create \(file): \(error)")
        }
        return try parse(fresh)
    }

    private static func hexBytes(_ text: String) -> Data? {
        var data = Data()
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = hexValue(high), let l = hexValue(low) else { return nil }
            data.append(h << 4 | l)
        }
        return data
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}

/// The store cannot be opened: the message says what to do.
package struct StoreSetupError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
