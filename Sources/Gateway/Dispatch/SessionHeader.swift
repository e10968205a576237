import HTTPTypes

/// The headers that name a conversation (docs/architecture.md, "Account pools"): requests with
/// the same one stay on the same account, so the upstream's prompt cache keeps working. They
/// win over the body's `prompt_cache_key`, `user` or `metadata.user_id`.
enum SessionHeader {
    static let names = [HTTPField.Name("x-session-id")!, HTTPField.Name("x-claude-code-session-id")!]

    static func value(in headers: HTTPFields) -> String? {
        for name in names {
            if let value = headers[name], !value.isEmpty { return String(value.prefix(256)) }
        }
        return nil
    }
}
