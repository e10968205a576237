import HTTPTypes
import Hummingbird
import OpenAIWire

/// The web origins listed in `server.cors_origins` (exact, lower-cased; `*` for any).
struct CORSOrigins: Sendable {
    let origins: Set<String>

    init(_ origins: [String]) {
        self.origins = Set(origins.map { $0.lowercased().trimmingSuffix("/") })
    }

    func allows(_ origin: String) -> Bool {
        !origins.isEmpty && (origins.contains("*") || origins.contains(origin.lowercased()))
    }
}

/// CORS for browser apps that call the API directly (docs/security.md): preflights from a
/// listed origin are answered, and answers to it carry `Access-Control-Allow-Origin`.
/// Never for the console and sign-in pages, and nothing at all for unlisted origins.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: CORSOrigins
    let browserPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let origin = request.headers[.origin], origins.allows(origin),
            !browserPaths.contains(OpenAIErrorMiddleware<Context>.normalized(request.uri.path))
        else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = allowHeaders(origin)
            headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] =
                request.headers[.accessControlRequestHeaders] ?? "authorization, content-type, x-api-key"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        // Outside the error middleware: errors arrive here as answers already.
        var response = try await next(request, context)
        for field in allowHeaders(origin) { response.headers[field.name] = field.value }
        response.headers[.accessControlExposeHeaders] = "x-request-id, retry-after, x-should-retry"
        return response
    }

    private func allowHeaders(_ origin: String) -> HTTPFields {
        [.accessControlAllowOrigin: origin, .vary: "Origin"]
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
