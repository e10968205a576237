import HTTPTypes
import Hummingbird
import NIOCore
import OpenAIWire

/// SPEC 5: the console and sign-in routes answer only to loopback clients, unless an
/// admin key is configured and presented (header `x-admin-key`, or cookie `flowgate_admin`).
struct LocalOnlyGuard: Sendable {
    let adminKey: String?

    static let adminHeader = HTTPField.Name("x-admin-key")!

    func check(_ request: Request, context: GatewayRequestContext) throws(OpenAIError) {
        if Self.isLoopback(context.channel.remoteAddress) { return }
        if let adminKey, let presented = Self.presentedAdminKey(request),
            ClientKey.constantTimeEquals(Array(adminKey.utf8), presented.utf8)
        {
            return
        }
        throw OpenAIError(
            status: 403, message: "The console answers only on this machine (or with the admin key).",
            type: "permission_error", code: "console_forbidden")
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static func presentedAdminKey(_ request: Request) -> String? {
        if let header = request.headers[adminHeader] { return header }
        for cookie in (request.headers[.cookie] ?? "").split(separator: ";") {
            let parts = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "flowgate_admin" { return String(parts[1]) }
        }
        return nil
    }
}
