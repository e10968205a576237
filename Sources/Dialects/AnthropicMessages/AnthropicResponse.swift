import ChatCore
import OpenAIWire

/// A whole Messages answer (no stream) from canonical events: blocks in the order
/// thinking, text, tool_use (docs/protocols/anthropic-messages.md, "Response").
package enum AnthropicResponse {
    package static func message(_ events: [ChatEvent], request: AnthropicRequest) -> JSON {
        var thinking = ""
        var text = ""
        var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
        var reason: FinishReason?
        var matchedStop: String?
        var usage: TokenUsage?
        for event in events {
            switch event {
            case .text(let piece): text += piece
            case .reasoning(let piece): thinking += piece
            case .toolCall(let index, let id, let name):
                var call = calls[index] ?? (nil, nil, "")
                call.id = call.id ?? id
                call.name = call.name ?? name
                calls[index] = call
            case .toolArguments(let index, let piece): calls[index, default: (nil, nil, "")].arguments += piece
            case .finish(let finish, let stop):
                reason = finish
                matchedStop = stop
            case .usage(let reported): usage = reported
            }
        }
        var content: [JSON] = []
        if !thinking.isEmpty {
            content.append(
                ["type": "thinking", "thinking": .string(thinking), "signature": .string(ThinkingSignature.of(thinking))])
        }
        if !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for index in calls.keys.sorted() {
            let call = calls[index]!
            let id = MessageID.toolUse(call.id)
            content.append([
                "type": "tool_use", "id": .string(id), "name": .string(call.name ?? ""), "input": input(call.arguments),
            ])
        }
        let (stopReason, stopSequence) = AnthropicStop.reason(
            reason, matchedStop: matchedStop, sentToolUse: !calls.isEmpty, stopSequences: request.stopSequences)
        let counted =
            usage
            ?? TokenUsage(
                input: request.inputTokens,
                output: (thinking.count + text.count + calls.values.reduce(0) { $0 + $1.arguments.count } + 3) / 4)
        return [
            "id": .string(MessageID.make(prefix: "msg_")), "type": "message", "role": "assistant",
            "model": .string(request.model), "content": .array(content), "stop_reason": .string(stopReason),
            "stop_sequence": stopSequence,
            "usage": ["input_tokens": .int(Int64(counted.input)), "output_tokens": .int(Int64(counted.output))],
        ]
    }

    /// Tool input is an object; arguments that are not one are kept under `arguments`, never dropped.
    private static func input(_ arguments: String) -> JSON {
        if arguments.isEmpty { return [:] }
        if case .object(let object)? = try? JSONCoding.decode(Array(arguments.utf8)) { return .object(object) }
        return ["arguments": .string(arguments)]
    }
}
