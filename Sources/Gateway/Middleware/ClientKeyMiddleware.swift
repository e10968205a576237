import HTTPTypes
import Hummingbird
import OpenAIWire

/// SPEC 5: with client keys configured, every route but /health needs one, as
/// `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time.
struct ClientKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let openPaths: Set<String>

    init(keys: [String], openPaths: Set<String> = ["/health"]) {
        self.keys = keys.map { Array($0.utf8) }
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if keys.isEmpty || openPaths.contains(OpenAIErrorMiddleware<Context>.normalized(request.uri.path)) {
            return try await next(request, context)
        }
        guard let presented = Self.presentedKey(request.headers) else {
            throw OpenAIError.unauthorized(
                "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.", code: "missing_api_key")
        }
        let bytes = Array(presented.utf8)
        // Every key is compared in full, so timing says nothing about which one (or how much) matched.
        var matched = false
        for key in keys { matched = ClientKey.constantTimeEquals(key, bytes) || matched }
        guard matched else { throw OpenAIError.unauthorized("Invalid API key.") }
        return try await next(request, context)
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization], authorization.utf8.count > 7 {
            let scheme = authorization.utf8.prefix(7)
            if scheme.elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 }) {
                var token = authorization.dropFirst(7)
                while token.first == " " || token.first == "\t" { token.removeFirst() }
                while token.last == " " || token.last == "\t" { token.removeLast() }
                return String(token)
            }
        }
        return headers[ClientKey.apiKeyHeader]
    }
}

enum ClientKey {
    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    /// Time depends only on the lengths, never on where the first difference is.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0 && a.count == b.count
    }
}
