import HTTPTypes
import Hummingbird

/// The web origins listed in `server.cors_origins` (exact, lower-cased; `*` for any), and
/// the CORS answers for them (docs/security.md): preflights from a listed origin are
/// answered, and answers to it carry `Access-Control-Allow-Origin`.
struct CORSOrigins: Sendable {
    let origins: Set<String>

    init(_ origins: [String]) {
        self.origins = Set(
            origins.map { origin in
                var origin = origin.lowercased()
                while origin.hasSuffix("/") { origin.removeLast() }
                return origin
            })
    }

    func allows(_ origin: String) -> Bool {
        !origins.isEmpty && (origins.contains("*") || origins.contains(origin.lowercased()))
    }

    func preflight(origin: String, requestedHeaders: String?) -> Response {
        var headers = allowHeaders(origin)
        headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
        headers[.accessControlAllowHeaders] = requestedHeaders ?? "authorization, content-type, x-api-key"
        headers[.accessControlMaxAge] = "600"
        return Response(status: .noContent, headers: headers)
    }

    func decorate(_ response: inout Response, origin: String) {
        for field in allowHeaders(origin) { response.headers[field.name] = field.value }
        response.headers[.accessControlExposeHeaders] = "x-request-id, request-id, retry-after, x-should-retry"
    }

    private func allowHeaders(_ origin: String) -> HTTPFields {
        [.accessControlAllowOrigin: origin, .vary: "Origin"]
    }
}
