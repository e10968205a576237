import Foundation

/// Reads a credential file with a size cap (docs/security.md): the CLI's files are a
/// few hundred bytes, and a huge one (a mistake, or a hostile local user) must not
/// take gigabytes while being parsed. A file over the cap counts as unreadable.
enum CredentialFileReader {
    static let maxBytes = 1 << 20

    static func read(_ path: String) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxBytes + 1), data.count <= maxBytes else { return nil }
        return data
    }
}
