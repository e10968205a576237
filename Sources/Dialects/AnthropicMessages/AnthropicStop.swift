import ChatCore
import OpenAIWire

/// The rules a streamed and a whole Messages answer share (docs/protocols/anthropic-messages.md).
enum AnthropicStop {
    /// `stop_reason` and `stop_sequence`: `length` → `max_tokens`, `content_filter` → `refusal`,
    /// `tool_use` only when a tool block was sent, a configured stop sequence the upstream
    /// said it hit → `stop_sequence`, else `end_turn`.
    static func reason(
        _ finish: FinishReason?, matchedStop: String?, sentToolUse: Bool, stopSequences: [String]
    ) -> (reason: String, sequence: JSON) {
        switch finish {
        case .length?: return ("max_tokens", nil)
        case .contentFilter?: return ("refusal", nil)
        case _ where sentToolUse: return ("tool_use", nil)
        case .stop? where matchedStop.map(stopSequences.contains) == true: return ("stop_sequence", .string(matchedStop!))
        default: return ("end_turn", nil)
        }
    }
}

/// `msg_…` and `toolu_…` ids: 24 random alphanumerics, as Anthropic's look.
enum MessageID {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String(decoding: (0..<24).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }

    /// A tool call's id as Anthropic clients see it: the upstream's with `toolu_` in front (the same
    /// id comes back in `tool_result` and goes upstream unchanged), or a new one.
    static func toolUse(_ upstream: String?) -> String {
        upstream.map { $0.hasPrefix("toolu_") ? $0 : "toolu_" + $0 } ?? make(prefix: "toolu_")
    }
}
