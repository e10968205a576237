import HTTPTypes
import Hummingbird
import OpenAIWire

/// Web pages the user visits are adversaries (docs/security.md). One middleware, one pass
/// over the header fields, for the three rules about them:
/// * `Host` must name this server (`HostNames`), else 421;
/// * CORS only for the origins in `server.cors_origins`, never on the console or sign-in;
/// * a request that changes something (any method but GET, HEAD, OPTIONS) must come from
///   this server's own pages or a listed origin (403), and an API POST must say it sends
///   JSON (415): a browser POSTs `text/plain` or form bodies cross-site without asking
///   first; other methods and JSON bodies need a preflight, which only listed origins pass.
/// It sits outside the error middleware, so inner errors reach it as answers and get CORS
/// headers too; its own refusals it renders itself.
struct WebPageGuard<Context: RequestContext>: RouterMiddleware {
    let hosts: HostNames
    let cors: CORSOrigins
    /// The console and sign-in pages: never open to other origins, and they post forms.
    let browserPaths: PathSet

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // A request without Host comes from no browser (HTTP/1.0 tools): nothing to rebind.
        if hosts.enforced, let authority = request.head.authority, !hosts.accepts(authority) {
            return Self.misdirected(authority).response(Dialect.of(path: request.uri.path))
        }
        var origin: String?
        var fetchSite: String?
        var contentType: String?
        for field in request.headers {
            if field.name == .origin {
                origin = field.value
            } else if field.name == .contentType {
                contentType = field.value
            } else if field.name == FieldNames.secFetchSite {
                fetchSite = field.value
            }
        }
        let isSafe = request.method == .get || request.method == .head || request.method == .options
        // The usual API call: no browser involved, JSON body. Nothing more to look at.
        if origin == nil && fetchSite == nil && (isSafe || Self.isJSON(contentType)) {
            return try await next(request, context)
        }
        let isAPI = !browserPaths.contains(ErrorMiddleware<Context>.normalized(request.uri.path))
        let listed = origin.map { isAPI && cors.allows($0) } ?? false
        if request.method == .options, listed, let origin, request.headers[.accessControlRequestMethod] != nil {
            return cors.preflight(origin: origin, requestedHeaders: request.headers[.accessControlRequestHeaders])
        }
        if !isSafe {
            if let origin {
                guard listed || Self.isSameOrigin(origin, authority: request.head.authority) else {
                    return Self.crossOrigin(origin).response(Dialect.of(path: request.uri.path))
                }
            } else if fetchSite == "cross-site" || fetchSite == "same-site" {
                return Self.crossOrigin(nil).response(Dialect.of(path: request.uri.path))
            }
            if isAPI && request.method == .post && !Self.isJSON(contentType) {
                return Self.notJSON.response(Dialect.of(path: request.uri.path))
            }
        }
        var response = try await next(request, context)
        if listed, let origin { cors.decorate(&response, origin: origin) }
        return response
    }

    static func misdirected(_ authority: String) -> GatewayError {
        GatewayError(
            status: 421,
            message:
                "This server does not answer to the host name '\(HostNames.hostName(authority).prefix(100))'. "
                + "Use localhost or 127.0.0.1, or list the name in server.allowed_hosts.",
            type: "invalid_request_error", code: "misdirected_request")
    }

    static func crossOrigin(_ origin: String?) -> GatewayError {
        let who = origin.map { "the web page at \($0.prefix(100))" } ?? "another site"
        return GatewayError(
            status: 403,
            message:
                "Requests from \(who) are not allowed. "
                + "To let a browser app call this server, list its origin in server.cors_origins.",
            type: "permission_error", code: "cross_origin_forbidden")
    }

    static var notJSON: GatewayError {
        GatewayError(
            status: 415, message: "Send the request body as JSON with 'Content-Type: application/json'.",
            type: "invalid_request_error", code: "unsupported_media_type")
    }

    /// `application/json`, with or without parameters such as `; charset=utf-8`. Byte-wise.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        if contentType == "application/json" { return true }  // what SDKs send: a short-string compare
        let utf8 = contentType.utf8
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
