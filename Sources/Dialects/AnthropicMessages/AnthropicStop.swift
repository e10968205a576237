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
