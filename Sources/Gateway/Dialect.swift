import Dialects
import HTTPTypes
import Hummingbird
import OpenAIWire

/// Which wire format a route speaks, so that errors raised anywhere on it (middleware
/// included) are rendered in that format, in one place.
enum Dialect {
    case openAIChat
    case anthropicMessages
    /// Errors in OpenAI's shape, like chat; its own label.
    case openAIResponses

    /// The metrics' `dialect` label.
    var label: String {
        switch self {
        case .openAIChat: "openai"
        case .anthropicMessages: "anthropic"
        case .openAIResponses: "responses"
        }
    }

    /// The chat routes' paths, each with its dialect (other paths are no chat: not counted as one).
    static let ofChatPath: [String: Dialect] = {
        var dialects: [String: Dialect] = [:]
        for path in ChatCompletionsRoute.paths { dialects[path] = .openAIChat }
        for path in MessagesRoute.paths { dialects[path] = .anthropicMessages }
        for path in ResponsesRoute.paths { dialects[path] = .openAIResponses }
        return dialects
    }()

    static func of(path: String) -> Dialect {
        // This runs for every answer (the request-id header): a chat path is told apart by
        // one byte ("/c…", "/v1/c…") before any prefix is compared.
        var bytes = path.utf8.makeIterator()
        _ = bytes.next()
        switch bytes.next() {
        case UInt8(ascii: "m"):
            return path.hasPrefix("/messages") ? .anthropicMessages : .openAIChat
        case UInt8(ascii: "v"):
            _ = bytes.next()
            _ = bytes.next()
            return bytes.next() == UInt8(ascii: "m") && path.hasPrefix("/v1/messages") ? .anthropicMessages : .openAIChat
        default:
            return .openAIChat
        }
    }
}

extension GatewayError {
    /// `closing` asks for the connection to be closed after this answer (HTTPConnectionHandler).
    func response(_ dialect: Dialect = .openAIChat, closing: Bool = false) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if !shouldRetry { headers[ErrorHeaders.shouldRetry] = "false" }
        if closing { headers[.connection] = "close" }
        switch dialect {
        case .openAIChat, .openAIResponses:
            return .json(openAIJSON, status: .init(code: status), headers: headers)
        case .anthropicMessages:
            return .json(
                AnthropicError.json(self), status: .init(code: AnthropicError.statusAndType(self).status),
                headers: headers)
        }
    }
}

enum ErrorHeaders {
    static let shouldRetry = HTTPField.Name("x-should-retry")!
    /// Anthropic clients read the request id from `request-id`.
    static let anthropicRequestID = HTTPField.Name("request-id")!
}
