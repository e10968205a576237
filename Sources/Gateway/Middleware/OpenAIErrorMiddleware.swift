import HTTPTypes
import Hummingbird
import Logging
import OpenAIWire

/// SPEC 3: every failure leaves the server in the OpenAI error shape with a status
/// that means what it says; also unknown routes (404) and wrong methods (405).
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Known paths (without trailing slash) and the methods they answer.
    let routes: [String: [HTTPRequest.Method]]
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            return error.response()
        } catch let error as HTTPError {
            return map(error, request: request).response()
        } catch is CancellationError {
            // The client went away; nobody reads this answer.
            return OpenAIError(status: 499, message: "Client closed the request.", type: "client_closed").response()
        } catch {
            context.logger.error("unhandled error: \(String(reflecting: type(of: error)))")
            return OpenAIError.internalError().response()
        }
    }

    private func map(_ error: HTTPError, request: Request) -> OpenAIError {
        let method = request.method.rawValue
        let path = Self.normalized(request.uri.path)
        switch error.status {
        case .notFound:
            if let allowed = routes[path], !allowed.contains(request.method) {
                return .methodNotAllowed(method: method, path: path, allowed: allowed.map(\.rawValue))
            }
            return .routeNotFound(method: method, path: path)
        case .contentTooLarge:
            return .bodyTooLarge(limit: bodyLimit)
        default:
            let message = error.body ?? error.status.reasonPhrase
            let type = error.status.code < 500 ? "invalid_request_error" : "server_error"
            return OpenAIError(status: error.status.code, message: message, type: type)
        }
    }

    static func normalized(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

extension OpenAIError {
    func response() -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return .json(json, status: .init(code: status), headers: headers)
    }
}
