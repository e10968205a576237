import Crypto
import HTTPTypes
import Hummingbird
import NIOCore
import OpenAIWire

/// docs/security.md: the console and sign-in routes answer only to loopback clients, unless an
/// admin key is configured and presented: header `x-admin-key`, or the cookie the
/// console's admin-key form sets (HttpOnly, SameSite=Strict; it holds a digest of the
/// key, not the key). Behind a reverse proxy listed in `server.trusted_proxies`, the
/// client is the address its `X-Forwarded-For` names; from anyone else that header is
/// ignored (docs/deployment.md: a proxy on the same host makes every visitor local).
struct LocalOnlyGuard: Sendable {
    let adminKey: String?
    let trustedProxies: Set<String>

    init(adminKey: String?, trustedProxies: [String] = []) {
        self.adminKey = adminKey
        self.trustedProxies = Set(trustedProxies)
    }

    static let adminHeader = HTTPField.Name("x-admin-key")!
    static let cookieName = "flowgate_admin"

    func check(_ request: Request, context: GatewayRequestContext) throws(GatewayError) {
        if isLocal(request, context: context) || presentsAdminKey(request) { return }
        throw GatewayError(
            status: 403, message: "The console answers only on this machine (or with the admin key).",
            type: "permission_error", code: "console_forbidden")
    }

    func isLocal(_ request: Request, context: GatewayRequestContext) -> Bool {
        Self.isLoopback(clientAddress(request, peer: context.channel.remoteAddress?.ipAddress))
    }

    /// The peer, or, when the peer is a trusted proxy, the nearest address in
    /// `X-Forwarded-For` that is not one of the trusted proxies.
    func clientAddress(_ request: Request, peer: String?) -> String? {
        guard let peer, trustedProxies.contains(Self.plain(peer)) else { return peer }
        let forwarded = request.headers[values: HTTPField.Name("x-forwarded-for")!]
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        return forwarded.last { !trustedProxies.contains($0) } ?? peer
    }

    func presentsAdminKey(_ request: Request) -> Bool {
        guard let adminKey else { return false }
        if let header = request.headers[Self.adminHeader] {
            return ClientKey.constantTimeEquals(Array(adminKey.utf8), header.utf8)
        }
        guard let cookie = Self.cookie(request) else { return false }
        return ClientKey.constantTimeEquals(Array(Self.session(for: adminKey).utf8), cookie.utf8)
            || ClientKey.constantTimeEquals(Array(adminKey.utf8), cookie.utf8)
    }

    /// What the cookie holds: a digest of the admin key, so the cookie is not the key.
    static func session(for adminKey: String) -> String {
        SHA256.hash(data: Array("flowgate-console:\(adminKey)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func isLoopback(_ ip: String?) -> Bool {
        guard let ip else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    /// `::ffff:10.0.0.1` → `10.0.0.1`: IPv4 peers on a dual-stack socket.
    static func plain(_ ip: String) -> String {
        ip.hasPrefix("::ffff:") ? String(ip.dropFirst(7)) : ip
    }

    static func cookie(_ request: Request) -> String? {
        for cookie in (request.headers[.cookie] ?? "").split(separator: ";") {
            let parts = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
        }
        return nil
    }
}
