/// Every failure the gateway reports, in the one shape OpenAI clients parse:
/// `{"error":{"message","type","param","code"}}` with a status that means what it says.
package struct OpenAIError: Error, Sendable, Equatable {
    package var status: Int
    package var message: String
    package var type: String
    package var param: String?
    package var code: String?
    /// Seconds, sent as `Retry-After` on 429 and 503.
    package var retryAfter: Int?

    package init(
        status: Int, message: String, type: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    package var json: JSON {
        [
            "error": [
                "message": .string(message),
                "type": .string(type),
                "param": param.map(JSON.string) ?? .null,
                "code": code.map(JSON.string) ?? .null,
            ]
        ]
    }
}

extension OpenAIError {
    package static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> Self {
        .init(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    package static func invalidJSON(_ detail: String) -> Self {
        .invalidRequest("We could not parse the JSON body of your request: \(detail)", code: "invalid_json")
    }

    package static func unauthorized(_ message: String, code: String = "invalid_api_key") -> Self {
        .init(status: 401, message: message, type: "authentication_error", code: code)
    }

    package static func routeNotFound(method: String, path: String) -> Self {
        .init(
            status: 404, message: "Unknown route: \(method) \(path). See /v1/models and /v1/chat/completions.",
            type: "invalid_request_error", code: "unknown_route")
    }

    package static func methodNotAllowed(method: String, path: String, allowed: [String]) -> Self {
        .init(
            status: 405,
            message: "Method \(method) is not allowed on \(path); use \(allowed.joined(separator: " or ")).",
            type: "invalid_request_error", code: "method_not_allowed")
    }

    package static func modelNotFound(_ model: String, known: [String]) -> Self {
        let examples = known.prefix(5).joined(separator: ", ")
        let hint = known.isEmpty ? "No models are available." : "Available models include: \(examples)."
        // docs/configuration.md, `aliases`: the way to serve it is an alias, possibly a wildcard.
        let family = model.firstIndex(of: "-").map { String(model[...$0]) + "*" } ?? model
        return .init(
            status: 404,
            message: "The model '\(model)' does not exist or is not served here. \(hint) To serve it, add an alias "
                + "under `aliases` in the configuration, e.g. `\(family): <provider>/<model>`.",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    package static func bodyTooLarge(limit: Int) -> Self {
        .init(
            status: 413, message: "Request body is larger than the limit of \(limit) bytes.",
            type: "invalid_request_error", code: "request_too_large")
    }

    package static func rateLimited(_ message: String, code: String = "rate_limit_exceeded", retryAfter: Int = 1) -> Self
    {
        .init(status: 429, message: message, type: "rate_limit_error", code: code, retryAfter: retryAfter)
    }

    package static func upstreamFailed(_ message: String, code: String = "upstream_error") -> Self {
        .init(status: 502, message: message, type: "upstream_error", code: code)
    }

    /// The upstream is overloaded (HTTP 503 or 529 from it): worth a retry a little later.
    package static func upstreamOverloaded(_ message: String, retryAfter: Int = 5) -> Self {
        .init(status: 503, message: message, type: "service_unavailable", code: "upstream_overloaded", retryAfter: retryAfter)
    }

    /// Nothing configured or no usable account: no retry fixes it, so no `Retry-After`.
    package static func unavailable(_ message: String, code: String = "no_usable_account") -> Self {
        .init(status: 503, message: message, type: "service_unavailable", code: code)
    }

    /// Whether a client's retry could succeed: not for a 4xx (but 408, 409, 429) nor for a
    /// 503 without `Retry-After`. SDKs read `x-should-retry: false` and stop retrying.
    package var shouldRetry: Bool {
        switch status {
        case 408, 409, 429: return true
        case 400..<500: return false
        case 503: return retryAfter != nil
        default: return true
        }
    }

    package static func upstreamTimeout(_ message: String) -> Self {
        .init(status: 504, message: message, type: "timeout_error", code: "upstream_timeout")
    }

    package static func internalError(_ message: String = "Internal error in flowgate.") -> Self {
        .init(status: 500, message: message, type: "server_error", code: "internal_error")
    }
}
