import OpenAIWire

/// docs/protocols/iflow.md: iFlow reports many failures as HTTP 200 with `{"status":"434","msg":…}`
/// (or `error_code`). This maps them, and real HTTP failures, to OpenAI errors.
package enum IFlowErrors {
    /// The `code` of the error that means "refresh the key and retry once" (docs/protocols/iflow.md, 439).
    package static let keyExpiredCode = "api_key_expired"

    /// The mapped error when `body` is an iFlow failure object, nil for a normal answer.
    package static func businessError(in body: JSONObject) -> GatewayError? {
        if body["choices"] != nil { return nil }
        let code = codeString(body["status"]) ?? codeString(body["error_code"])
        if code == nil, let error = body["error"] {
            // An OpenAI-style error object inside a 200.
            let message = error["message"]?.stringValue ?? error.stringValue ?? "unknown error"
            return .upstreamFailed("iFlow returned an error: \(message)")
        }
        guard let code else { return nil }
        let message = body["msg"]?.stringValue ?? body["message"]?.stringValue ?? ""
        return map(code: code, message: message)
    }

    static func map(code: String, message: String) -> GatewayError {
        let detail = message.isEmpty ? "status \(code)" : "status \(code): \(message)"
        let lowered = message.lowercased()
        let signIn = "Sign in again at / or run `flowgate login iflow`."
        switch code {
        case "439":
            var expired = GatewayError.unauthorized("The iFlow API key has expired (\(detail)). \(signIn)", code: keyExpiredCode)
            expired.kind = .credentialsExpired
            return expired
        case _ where code == "434" || lowered.contains("invalid apikey") || lowered.contains("blocked"):
            return .unauthorized(
                "iFlow rejected the account's API key (\(detail)). \(signIn)", code: "account_disabled")
        case "435":
            return .invalidRequest(
                "iFlow does not support this model (\(detail)).", param: "model", code: "model_not_supported")
        case "449":
            return .rateLimited(
                "The iFlow account already has a request in flight (\(detail)).", code: "account_concurrency")
        case "429", "8211":
            return .rateLimited("iFlow rate limit reached (\(detail)).", retryAfter: 5)
        case "511", "413":
            return contextTooLong("The conversation is too long for this model (\(detail)).")
        default:
            return .upstreamFailed("iFlow failed (\(detail)).")
        }
    }

    /// A non-2xx HTTP answer from iFlow.
    package static func httpError(status: Int, body: [UInt8]) -> GatewayError {
        // A business status inside an HTTP failure says more than the HTTP status.
        if let object = try? JSONCoding.decode(.init(body)).objectValue,
            let code = codeString(object["status"]) ?? codeString(object["error_code"])
        {
            return map(code: code, message: object["msg"]?.stringValue ?? object["message"]?.stringValue ?? "")
        }
        let excerpt = UpstreamExcerpt.of(body)
        switch status {
        case 401, 403:
            return .unauthorized(
                "iFlow rejected the API key (HTTP \(status)): \(excerpt)", code: "upstream_unauthorized")
        case 413:
            return contextTooLong("iFlow says the request is too large (HTTP 413): \(excerpt)")
        case 400, 404, 422:
            return .invalidRequest(
                "iFlow refused the request (HTTP \(status)): \(excerpt)", code: "upstream_bad_request")
        default:
            return UpstreamStatus.common(status, provider: "iFlow", detail: excerpt)
        }
    }

    private static func contextTooLong(_ message: String) -> GatewayError {
        GatewayError(
            status: 413, message: message, type: "invalid_request_error", param: "messages",
            code: "context_length_exceeded")
    }

    private static func codeString(_ value: JSON?) -> String? {
        switch value {
        case .string(let s) where !s.isEmpty && s != "0" && s != "200": return s
        case .int(let i) where i != 0 && i != 200: return String(i)
        default: return nil
        }
    }
}
