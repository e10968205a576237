/// Every failure below the dialects (docs/architecture.md, "The canonical chat"): a status that
/// means what it says, a message for people, OpenAI's `type`/`param`/`code` vocabulary
/// (which the other dialects map from), and what decisions are taken on (`kind`,
/// `shouldRetry`, `retryAfter`). Each dialect renders it in one place.
package struct GatewayError: Error, Sendable, Equatable {
    /// What went wrong, for code that decides on it (never the message or code strings).
    package enum Kind: Sendable, Equatable {
        case invalidRequest, unauthorized, forbidden, notFound, modelNotFound, tooLarge, rateLimited
        /// The upstream is overloaded: retry a little later.
        case overloaded
        /// The upstream failed or answered nonsense.
        case upstream
        case timeout
        /// Nothing usable is configured.
        case unavailable
        /// The upstream said the account's key expired (iFlow's 439): read it again.
        case credentialsExpired
        case clientClosed
        case `internal`
    }

    package var kind: Kind
    package var status: Int
    package var message: String
    package var type: String
    package var param: String?
    package var code: String?
    /// Seconds, sent as `Retry-After` on 429 and 503.
    package var retryAfter: Int?
    /// The upstream's HTTP status, when an upstream answered with a failure (for the operator's log).
    package var upstreamStatus: Int?
    /// The upstream's own `Retry-After` (seconds), when it sent one: an account cools exactly that long.
    package var upstreamRetryAfter: Int?
    /// The upstream said its rate limit is for the model asked, not the whole account.
    package var perModelLimit = false

    /// `kind` nil: the one the status stands for.
    package init(
        status: Int, message: String, type: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil,
        kind: Kind? = nil
    ) {
        self.kind = kind ?? Self.kind(of: status)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    private static func kind(of status: Int) -> Kind {
        switch status {
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 413: return .tooLarge
        case 429: return .rateLimited
        case 499: return .clientClosed
        case 500: return .internal
        case 503: return .unavailable
        case 504: return .timeout
        case 400..<500: return .invalidRequest
        default: return .upstream
        }
    }
}

extension GatewayError {
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
            type: "invalid_request_error", param: "model", code: "model_not_found", kind: .modelNotFound)
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
        .init(
            status: 503, message: message, type: "service_unavailable", code: "upstream_overloaded",
            retryAfter: retryAfter, kind: .overloaded)
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
