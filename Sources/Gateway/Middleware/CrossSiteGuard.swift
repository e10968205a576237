import HTTPTypes
import Hummingbird
import OpenAIWire

/// Keeps other web pages from spending the accounts (docs/security.md): a request that
/// changes something (any method but GET, HEAD, OPTIONS) must come from this server's own
/// pages or an origin listed in `server.cors_origins`, and an API POST must say it sends
/// JSON — a browser POSTs `text/plain` or form bodies cross-site without asking first
/// (other methods and JSON bodies need a CORS preflight, which only listed origins pass).
struct CrossSiteGuard<Context: RequestContext>: RouterMiddleware {
    let corsOrigins: CORSOrigins
    /// The console and sign-in pages: never open to other origins, and they post forms.
    let browserPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        switch request.method {
        case .get, .head, .options: return try await next(request, context)
        default: break
        }
        let path = OpenAIErrorMiddleware<Context>.normalized(request.uri.path)
        let isAPI = !browserPaths.contains(path)
        if let origin = request.headers[.origin] {
            let sameOrigin = Self.isSameOrigin(origin, authority: request.head.authority)
            guard sameOrigin || (isAPI && corsOrigins.allows(origin)) else {
                throw OpenAIError(
                    status: 403,
                    message:
                        "Requests from the web page at \(origin.prefix(100)) are not allowed. "
                        + "To let a browser app call this server, list its origin in server.cors_origins.",
                    type: "permission_error", code: "cross_origin_forbidden")
            }
        } else if let site = request.headers[Self.secFetchSite], site == "cross-site" || site == "same-site" {
            throw OpenAIError(
                status: 403, message: "Cross-site requests are not allowed.", type: "permission_error",
                code: "cross_origin_forbidden")
        }
        if isAPI && request.method == .post && !Self.isJSON(request.headers[.contentType]) {
            throw OpenAIError(
                status: 415,
                message: "Send the request body as JSON with 'Content-Type: application/json'.",
                type: "invalid_request_error", code: "unsupported_media_type")
        }
        return try await next(request, context)
    }

    static var secFetchSite: HTTPField.Name { FieldNames.secFetchSite }

    /// `application/json`, with or without parameters such as `; charset=utf-8`. Byte-wise:
    /// this runs on every API request.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let utf8 = contentType?.utf8 else { return false }
        let media = utf8.prefix { $0 != UInt8(ascii: ";") }
        var start = media.startIndex
        var end = media.endIndex
        while start < end, media[start] == 0x20 || media[start] == 0x09 { start = media.index(after: start) }
        while end > start, media[media.index(before: end)] == 0x20 || media[media.index(before: end)] == 0x09 {
            end = media.index(before: end)
        }
        return media[start..<end].elementsEqual("application/json".utf8) { $0 | 0x20 == $1 }
    }

    static func isSameOrigin(_ origin: String, authority: String?) -> Bool {
        guard let authority else { return false }
        let origin = origin.lowercased()
        let host = authority.lowercased()
        return origin == "http://" + host || origin == "https://" + host
    }
}

private enum FieldNames {
    static let secFetchSite = HTTPField.Name("sec-fetch-site")!
}
