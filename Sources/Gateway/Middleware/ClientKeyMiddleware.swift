import HTTPTypes
import Hummingbird
import OpenAIWire

/// docs/security.md: with client keys configured, every route but /health needs one, as
/// `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time. The access
/// record learns the key's name (docs/configuration.md, `api_keys`), never the key.
struct ClientKeyMiddleware<Context: ClientKeyContext>: RouterMiddleware {
    let keys: [[UInt8]]
    /// By the position of the key.
    let names: [String]
    let openPaths: PathSet

    init(keys: [String], names: [String]? = nil, openPaths: PathSet = PathSet(exact: ["/health"])) {
        self.keys = keys.map { Array($0.utf8) }
        self.names = names ?? keys.map(ClientKeyNames.derived(from:))
        self.openPaths = openPaths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if keys.isEmpty || openPaths.contains(ErrorMiddleware<Context>.normalized(request.uri.path)) {
            return try await next(request, context)
        }
        guard let presented = Self.presentedKey(request.headers) else {
            throw GatewayError.unauthorized(
                "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.", code: "missing_api_key")
        }
        // Every key is compared in full, so timing says nothing about which one (or how much) matched.
        var matched: Int?
        for (position, key) in keys.enumerated() where ClientKey.constantTimeEquals(key, presented.utf8) {
            matched = position
        }
        guard let matched else { throw GatewayError.unauthorized("Invalid API key.") }
        AccessRecord.current?.clientKey(names[matched])
        var context = context
        context.clientKeyName = names[matched]
        return try await next(request, context)
    }

    /// The key after `Bearer ` (any case, blanks trimmed), else the `x-api-key` header.
    /// Byte-wise and with a plain scan of the fields: this runs on every request.
    static func presentedKey(_ headers: HTTPFields) -> Substring? {
        var apiKey: Substring?
        for field in headers {
            if field.name == .authorization, let token = bearerToken(field.value) { return token }
            if apiKey == nil, field.name == ClientKey.apiKeyHeader { apiKey = field.value[...] }
        }
        return apiKey
    }

    private static func bearerToken(_ value: String) -> Substring? {
        let utf8 = value.utf8
        guard utf8.count > 7, utf8.prefix(7).elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        var start = utf8.index(utf8.startIndex, offsetBy: 7)
        var end = utf8.endIndex
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while start < end, isBlank(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isBlank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return Substring(utf8[start..<end])
    }
}

enum ClientKey {
    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    /// Time depends only on the lengths, never on where the first difference is.
    static func constantTimeEquals<Bytes: Collection<UInt8>>(_ a: [UInt8], _ b: Bytes) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        var position = 0
        for byte in b {
            difference |= (position < a.count ? a[position] : 0) ^ byte
            position += 1
        }
        // A presented key shorter than `a` still costs a pass over all of `a`.
        while position < a.count {
            difference |= a[position]
            position += 1
        }
        return difference == 0 && a.count == b.count
    }
}

/// A request context that carries the client key's name (what stored responses belong to).
protocol ClientKeyContext: RequestContext {
    var clientKeyName: String? { get set }
}
