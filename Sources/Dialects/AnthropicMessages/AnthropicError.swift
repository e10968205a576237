import NIOCore
import OpenAIWire

/// The Anthropic error shape and status table (docs/protocols/anthropic-messages.md, "Errors"):
/// every failure below the dialects is rendered here, nowhere else.
package enum AnthropicError {
    /// The status and `error.type` an Anthropic client expects for a gateway error.
    package static func statusAndType(_ error: GatewayError) -> (status: Int, type: String) {
        switch error.status {
        case 400, 405, 406, 409, 411, 415, 421, 422: return (error.status, "invalid_request_error")
        case 401: return (401, "authentication_error")
        case 403: return (403, "permission_error")
        case 404: return (404, "not_found_error")
        case 413: return (413, "request_too_large")
        case 429: return (429, "rate_limit_error")
        case 504: return (504, "timeout_error")
        // An overloaded upstream may be retried (it said when); a 503 no retry fixes is not "overloaded".
        case 503 where error.retryAfter != nil: return (529, "overloaded_error")
        case 529: return (529, "overloaded_error")
        case 400..<500: return (error.status, "invalid_request_error")
        default: return (error.status, "api_error")
        }
    }

    package static func json(_ error: GatewayError) -> JSON {
        ["type": "error", "error": ["type": .string(statusAndType(error).type), "message": .string(error.message)]]
    }

    /// After the stream started: one `error` event, then the stream ends.
    package static func writeEvent(_ error: GatewayError, into out: inout ByteBuffer) {
        AnthropicSSE.write("error", json(error), into: &out)
    }
}

/// `event: <type>\ndata: <json>\n\n`, the framing of every Anthropic stream event.
enum AnthropicSSE {
    static func write(_ type: StaticString, _ json: JSON, into out: inout ByteBuffer) {
        out.writeStaticString("event: ")
        out.writeStaticString(type)
        out.writeStaticString("\ndata: ")
        JSONWriter.write(json, into: &out)
        out.writeStaticString("\n\n")
    }

    static let ping = ByteBuffer(string: "event: ping\ndata: {\"type\": \"ping\"}\n\n")
}
