import OpenAIWire

/// A canonical request in the OpenAI chat format (docs/protocols/openai-chat.md), for
/// requests that came in another dialect: what OpenAI-format upstreams are sent.
enum OpenAIChatBody {
    static func render(
        model: String, messages: [ChatMessage], tools: [ToolDefinition], toolChoice: ToolChoice?,
        parallelToolCalls: Bool?, sampling: Sampling, reasoning: ReasoningSwitch?, stream: Bool, includeUsage: Bool,
        choiceCount: Int, user: String?, responseFormat: JSON? = nil
    ) -> JSONObject {
        var body: JSONObject = ["model": .string(model), "messages": .array(messages.map(message))]
        if let max = sampling.maxTokens { body["max_tokens"] = .int(Int64(max)) }
        if let temperature = sampling.temperature { body["temperature"] = .double(temperature) }
        if let topP = sampling.topP { body["top_p"] = .double(topP) }
        // Not OpenAI's, but what vLLM, SGLang and most OpenAI-compatible servers read.
        if let topK = sampling.topK { body["top_k"] = .int(Int64(topK)) }
        if !sampling.stop.isEmpty { body["stop"] = .array(sampling.stop.map(JSON.string)) }
        switch reasoning {
        case .off?: body["reasoning_effort"] = "none"
        case .on(let effort)?: body["reasoning_effort"] = .string(effort)
        case nil: break
        }
        if !tools.isEmpty {
            body["tools"] = .array(tools.map(\.openAI))
            switch toolChoice {
            case .auto?: body["tool_choice"] = "auto"
            case .none?: body["tool_choice"] = "none"
            case .required?: body["tool_choice"] = "required"
            case .function(let name)?: body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            case nil: break
            }
            if let parallel = parallelToolCalls { body["parallel_tool_calls"] = .bool(parallel) }
        }
        if let user { body["user"] = .string(user) }
        if let responseFormat { body["response_format"] = responseFormat }
        if choiceCount > 1 { body["n"] = .int(Int64(choiceCount)) }
        if stream {
            body["stream"] = true
            if includeUsage { body["stream_options"] = ["include_usage": true] }
        }
        return body
    }

    private static func message(_ message: ChatMessage) -> JSON {
        var object: JSONObject = ["role": .string(message.role.rawValue)]
        let parts: [JSON] = message.content.compactMap { part in
            switch part {
            case .text(let text): return ["type": "text", "text": .string(text)]
            case .image(let url): return ["type": "image_url", "image_url": ["url": .string(url)]]
            case .other: return nil
            }
        }
        // One text part stays a plain string: every upstream takes that.
        if parts.count == 1, case .text(let text)? = message.content.first {
            object["content"] = .string(text)
        } else if parts.isEmpty {
            object["content"] = message.role == .assistant && !message.toolCalls.isEmpty ? .null : ""
        } else {
            object["content"] = .array(parts)
        }
        if let reasoning = message.reasoning { object["reasoning_content"] = .string(reasoning) }
        if !message.toolCalls.isEmpty {
            object["tool_calls"] = .array(
                message.toolCalls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                    ]
                })
        }
        if let id = message.toolCallID { object["tool_call_id"] = .string(id) }
        return .object(object)
    }
}
