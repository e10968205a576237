/// The keys and values every chat chunk and request repeats. Returning the literal skips making
/// a string (and, past 15 bytes, a heap allocation) for each of them: a stream event has a dozen.
enum KnownStrings {
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        switch bytes.count {
        case 2:
            if same(bytes, "id") { return "id" }
        case 4:
            if same(bytes, "role") { return "role" }
            if same(bytes, "name") { return "name" }
            if same(bytes, "type") { return "type" }
            if same(bytes, "stop") { return "stop" }
            if same(bytes, "text") { return "text" }
            if same(bytes, "user") { return "user" }
            if same(bytes, "tool") { return "tool" }
        case 5:
            if same(bytes, "model") { return "model" }
            if same(bytes, "index") { return "index" }
            if same(bytes, "delta") { return "delta" }
            if same(bytes, "usage") { return "usage" }
            if same(bytes, "tools") { return "tools" }
        case 6:
            if same(bytes, "object") { return "object" }
            if same(bytes, "stream") { return "stream" }
            if same(bytes, "system") { return "system" }
            if same(bytes, "length") { return "length" }
        case 7:
            if same(bytes, "created") { return "created" }
            if same(bytes, "choices") { return "choices" }
            if same(bytes, "content") { return "content" }
            if same(bytes, "message") { return "message" }
        case 8:
            if same(bytes, "logprobs") { return "logprobs" }
            if same(bytes, "function") { return "function" }
            if same(bytes, "messages") { return "messages" }
        case 9:
            if same(bytes, "arguments") { return "arguments" }
            if same(bytes, "assistant") { return "assistant" }
        case 10:
            if same(bytes, "tool_calls") { return "tool_calls" }
            if same(bytes, "max_tokens") { return "max_tokens" }
        case 11:
            if same(bytes, "temperature") { return "temperature" }
            if same(bytes, "tool_choice") { return "tool_choice" }
        case 12:
            if same(bytes, "total_tokens") { return "total_tokens" }
            if same(bytes, "tool_call_id") { return "tool_call_id" }
        case 13:
            if same(bytes, "finish_reason") { return "finish_reason" }
            if same(bytes, "prompt_tokens") { return "prompt_tokens" }
        case 15:
            if same(bytes, "chat.completion") { return "chat.completion" }
        case 17:
            if same(bytes, "completion_tokens") { return "completion_tokens" }
            if same(bytes, "reasoning_content") { return "reasoning_content" }
        case 18:
            if same(bytes, "system_fingerprint") { return "system_fingerprint" }
        case 21:
            if same(bytes, "chat.completion.chunk") { return "chat.completion.chunk" }
        default: break
        }
        return nil
    }

    /// `bytes` are `known`'s, whose length the caller checked.
    @inline(__always)
    static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ known: StaticString) -> Bool {
        let start = known.utf8Start
        for offset in 0..<bytes.count where bytes[offset] != start[offset] { return false }
        return true
    }
}
