import OpenAIWire

/// Reads answers in the OpenAI chat format (what iFlow, OpenAI-compatible upstreams and
/// Flowith's translation produce) as canonical events (docs/protocols/openai-chat.md).
/// Only the first choice is read: the other dialects have no `n`.
package struct OpenAIChunkEvents: Sendable {
    /// Tool calls seen so far; fragments without an index continue the last one.
    private var toolCalls = 0

    package init() {}

    /// One `chat.completion.chunk`.
    package mutating func read(_ chunk: JSONObject, into events: inout [ChatEvent]) {
        if let usage = chunk["usage"]?.objectValue { events.append(.usage(Self.usage(usage))) }
        guard let choice = chunk["choices"]?.arrayValue?.first(where: { ($0["index"]?.intValue ?? 0) == 0 }),
            case .object(let fields) = choice
        else { return }
        if let delta = fields["delta"]?.objectValue { read(message: delta, into: &events) }
        if let reason = fields["finish_reason"]?.stringValue {
            events.append(.finish(FinishReason(upstream: reason), matchedStop: Self.matchedStop(fields)))
        }
    }

    /// A whole `chat.completion` (no stream): the same events a stream of it would give.
    package static func events(ofCompletion completion: JSONObject) -> [ChatEvent] {
        var reader = OpenAIChunkEvents()
        var events: [ChatEvent] = []
        if let choice = completion["choices"]?.arrayValue?.first?.objectValue {
            reader.read(message: choice["message"]?.objectValue ?? [:], into: &events)
            if let reason = choice["finish_reason"]?.stringValue {
                events.append(.finish(FinishReason(upstream: reason), matchedStop: matchedStop(choice)))
            }
        }
        if let reported = completion["usage"]?.objectValue { events.append(.usage(usage(reported))) }
        return events
    }

    private mutating func read(message: JSONObject, into events: inout [ChatEvent]) {
        if let thought = message["reasoning_content"]?.stringValue, !thought.isEmpty { events.append(.reasoning(thought)) }
        if let text = message["content"]?.stringValue, !text.isEmpty { events.append(.text(text)) }
        for call in message["tool_calls"]?.arrayValue ?? [] {
            let id = call["id"]?.stringValue
            let index: Int
            if let given = call["index"]?.intValue {
                index = Int(given)
                toolCalls = max(toolCalls, index + 1)
            } else if id != nil {
                index = toolCalls
                toolCalls += 1
            } else {
                index = max(toolCalls - 1, 0)
            }
            let name = call["function"]?["name"]?.stringValue
            if id != nil || name != nil { events.append(.toolCall(index: index, id: id, name: name)) }
            if let arguments = call["function"]?["arguments"]?.stringValue, !arguments.isEmpty {
                events.append(.toolArguments(index: index, arguments))
            }
        }
    }

    /// vLLM says which stop sequence ended the answer in `stop_reason`, SGLang in `matched_stop`.
    private static func matchedStop(_ choice: JSONObject) -> String? {
        choice["stop_reason"]?.stringValue ?? choice["matched_stop"]?.stringValue
    }

    private static func usage(_ usage: JSONObject) -> TokenUsage {
        TokenUsage(
            input: Int(usage["prompt_tokens"]?.intValue ?? 0), output: Int(usage["completion_tokens"]?.intValue ?? 0),
            reasoning: Int(usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0),
            cached: Int(usage["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0))
    }
}
