import Hummingbird

/// The `Host` names this server answers to (docs/security.md, DNS rebinding): a web page
/// on a domain that re-resolves to 127.0.0.1 is same-origin with a loopback listener and
/// could use the accounts, unless the name it used is refused.
struct HostNames: Sendable {
    /// Lower-cased host names (no port) that are accepted.
    let allowed: [[UInt8]]
    /// Off on a non-loopback listener without `allowed_hosts`: client keys guard it there.
    let enforced: Bool

    init(config: GatewayConfig) {
        let names = ["localhost", "127.0.0.1", "[::1]"] + config.allowedHosts.map { Self.hostName($0) }
        allowed = names.map { Array($0.utf8) }
        enforced = config.isLoopback || !config.allowedHosts.isEmpty
    }

    /// Byte-wise and without allocating: this runs on every request.
    func accepts(_ authority: String) -> Bool {
        var authority = authority
        return authority.withUTF8 { accepts(bytes: $0) }
    }

    private func accepts(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var name = bytes[...]
        if name.first == UInt8(ascii: "[") {
            if let close = name.firstIndex(of: UInt8(ascii: "]")) { name = name[...close] }
        } else if let colon = name.lastIndex(of: UInt8(ascii: ":")),
            name[name.index(after: colon)...].allSatisfy({ (0x30...0x39).contains($0) })
        {
            name = name[..<colon]
        }
        return allowed.contains { candidate in
            candidate.count == name.count && zip(candidate, name).allSatisfy { Self.lowercased($1) == $0 }
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// `Name:port`, `[v6]:port` or a bare name → the lower-cased name (brackets kept for IPv6).
    static func hostName(_ authority: String) -> String {
        let text = authority.lowercased()
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return text }
            return String(text[...close])
        }
        if let colon = text.lastIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isNumber) {
            return String(text[..<colon])
        }
        return text
    }
}
