import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import OpenAIWire

/// Every failure leaves the server in the caller's dialect (OpenAI's error shape, or
/// Anthropic's on the Messages routes) with a status that means what it says; also unknown
/// routes (404) and wrong methods (405). docs/protocols/openai-chat.md, anthropic-messages.md.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Known paths (without trailing slash) and the methods they answer.
    let routes: [String: [HTTPRequest.Method]]
    /// Known path prefixes (`/login/` + a provider) and the methods they answer.
    var prefixRoutes: [String: [HTTPRequest.Method]] = [:]
    let bodyLimit: Int
    /// No upstream credential leaves in an error message.
    let scrubber: SecretScrubber

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            return render(error, request: request, context: context)
        }
    }

    /// Out of line on purpose: an async function's frame holds what all its paths need, and a
    /// stream keeps its connection task's frames for as long as it is open (docs/performance.md).
    /// Rendering errors inside `handle` made its frame 5.5 KB for every open stream.
    @inline(never)
    private func render(_ error: any Error, request: Request, context: Context) -> Response {
        // Worked out only when there is an error to render.
        func dialect() -> Dialect { Dialect.of(path: request.uri.path) }
        // The usage record keeps what the client was told.
        func shown(_ error: GatewayError) -> GatewayError {
            AccessRecord.current?.error(code: error.code ?? error.type)
            return error
        }
        switch error {
        case let error as GatewayError:
            let shown = shown(scrubber.scrub(error))
            // The operator hears of upstream failures with their reason; client mistakes are the access line's.
            if error.status >= 500 {
                var metadata: Logger.Metadata = ["status": "\(error.status)"]
                if let upstream = error.upstreamStatus { metadata["upstream_status"] = "\(upstream)" }
                context.logger.warning("\(shown.code ?? "error"): \(shown.message)", metadata: metadata)
            }
            // A client without a valid key gets no more of this connection (a slow body stays unread).
            return shown.response(dialect(), closing: error.status == 401)
        case let error as HTTPError:
            var response = shown(map(error, request: request)).response(dialect())
            if response.status == .methodNotAllowed, let allowed = allowedMethods(Self.normalized(request.uri.path)) {
                response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            }
            return response
        case is HTTPParserError:
            // Broken framing (bad chunk sizes and the like) is the client's fault.
            return shown(GatewayError.invalidRequest("The request is not valid HTTP/1.1.", code: "malformed_request"))
                .response(dialect(), closing: true)
        case is CancellationError:
            // The client went away; nobody reads this answer.
            return shown(GatewayError(status: 499, message: "Client closed the request.", type: "client_closed"))
                .response(dialect())
        default:
            context.logger.error("unhandled error: \(String(reflecting: type(of: error)))")
            return shown(GatewayError.internalError()).response(dialect())
        }
    }

    private func allowedMethods(_ path: String) -> [HTTPRequest.Method]? {
        routes[path] ?? prefixRoutes.first { path.hasPrefix($0.key) && path.count > $0.key.count }?.value
    }

    private func map(_ error: HTTPError, request: Request) -> GatewayError {
        let method = request.method.rawValue
        let path = Self.normalized(request.uri.path)
        switch error.status {
        case .notFound:
            if let allowed = allowedMethods(path), !allowed.contains(request.method) {
                return .methodNotAllowed(method: method, path: path, allowed: allowed.map(\.rawValue))
            }
            return .routeNotFound(method: method, path: path)
        case .contentTooLarge:
            return .bodyTooLarge(limit: bodyLimit)
        default:
            let message = error.body ?? error.status.reasonPhrase
            let type = error.status.code < 500 ? "invalid_request_error" : "server_error"
            return GatewayError(status: error.status.code, message: message, type: type)
        }
    }

    static func normalized(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

