import OpenAIWire

/// A Messages API request, checked and turned into the chat every provider takes
/// (docs/protocols/anthropic-messages.md, "Request"). Anthropic-only fields that no
/// upstream understands (`container`, `mcp_servers`, …) are not forwarded.
package struct AnthropicRequest: Sendable {
    package let model: String
    package let stream: Bool
    package let stopSequences: [String]
    /// The same chat as an OpenAI chat body.
    package let chat: JSONObject

    /// The local estimate of the prompt's tokens (docs/protocols/anthropic-messages.md, "count_tokens"):
    /// characters of system, messages and tools over 4, never zero.
    package var inputTokens: Int { max(1, (Usage.promptCharacters(chat) + 3) / 4) }

    /// `counting`: a count_tokens request, where `max_tokens` is not required.
    package init(json: JSON, counting: Bool = false) throws(OpenAIError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("model: Field required (a non-empty string).", param: "model")
        }
        var chat: JSONObject = ["model": .string(model)]
        let maxTokens = body["max_tokens"]
        if !counting || maxTokens != nil {
            guard let max = maxTokens?.intValue, max >= 1 else {
                throw .invalidRequest("max_tokens: Field required (an integer of at least 1).", param: "max_tokens")
            }
            chat["max_tokens"] = .int(max)
        }
        guard case .array(let messages)? = body["messages"], !messages.isEmpty else {
            throw .invalidRequest("messages: Field required (a non-empty array).", param: "messages")
        }
        var out: [JSON] = []
        if let system = body["system"], !system.isNull {
            let text = try Self.systemText(system)
            if !text.isEmpty { out.append(["role": "system", "content": .string(text)]) }
        }
        for (index, message) in messages.enumerated() {
            try Self.translate(message, at: index, into: &out)
        }
        chat["messages"] = .array(out)

        let stream = try Self.optional(body, "stream") { $0.boolValue } ?? false
        if stream {
            chat["stream"] = true
            chat["stream_options"] = ["include_usage": true]
        }
        let stops = try Self.optional(body, "stop_sequences", Self.strings) ?? []
        if !stops.isEmpty { chat["stop"] = .array(stops.map(JSON.string)) }
        for key in ["temperature", "top_p", "top_k"] {
            if let value = try Self.optional(body, key, { value in value.numberValue.map { _ in value } }) {
                chat[key] = value
            }
        }
        if let user = body["metadata"]?["user_id"]?.stringValue { chat["user"] = .string(user) }
        if let thinking = body["thinking"]?.objectValue {
            chat["reasoning_effort"] = .string(Self.reasoningEffort(thinking))
        }
        let tools = try Self.tools(body["tools"])
        if !tools.isEmpty {
            chat["tools"] = .array(tools)
            if let choice = body["tool_choice"]?.objectValue {
                try Self.toolChoice(choice, into: &chat)
            }
        }
        self.model = model
        self.stream = stream
        self.stopSequences = stops
        self.chat = chat
    }

    private static func strings(_ value: JSON) -> [String]? {
        guard let items = value.arrayValue else { return nil }
        let strings = items.compactMap(\.stringValue)
        return strings.count == items.count ? strings : nil
    }

    /// A present, non-null field must have the expected type.
    private static func optional<T>(_ body: JSONObject, _ key: String, _ read: (JSON) -> T?) throws(OpenAIError) -> T? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let typed = read(value) else {
            throw .invalidRequest("\(key): not a valid value (\(value.typeName)).", param: key)
        }
        return typed
    }

    private static func systemText(_ system: JSON) throws(OpenAIError) -> String {
        switch system {
        case .string(let text): return text
        case .array(let blocks):
            var parts: [String] = []
            for (index, block) in blocks.enumerated() {
                guard block["type"]?.stringValue == "text", let text = block["text"]?.stringValue else {
                    throw .invalidRequest("system.\(index): only text blocks are allowed.", param: "system")
                }
                if !text.isEmpty { parts.append(text) }
            }
            return parts.joined(separator: "\n\n")
        default:
            throw .invalidRequest("system: must be a string or an array of text blocks.", param: "system")
        }
    }

    /// `thinking {type: enabled, budget_tokens}` becomes the providers' thinking switch.
    private static func reasoningEffort(_ thinking: JSONObject) -> String {
        guard thinking["type"]?.stringValue == "enabled" else { return "none" }
        let budget = thinking["budget_tokens"]?.intValue ?? 0
        return budget >= 16_384 ? "high" : budget >= 4_096 ? "medium" : "low"
    }

    private static func translate(_ message: JSON, at index: Int, into out: inout [JSON]) throws(OpenAIError) {
        let param = "messages.\(index)"
        guard let role = message["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .invalidRequest("\(param).role: must be 'user' or 'assistant'.", param: "\(param).role")
        }
        switch message["content"] {
        case .string(let text)?:
            if !text.isEmpty || role == "assistant" { out.append(["role": .string(role), "content": .string(text)]) }
        case .array(let blocks)?:
            if role == "user" {
                try userTurn(blocks, param: param, into: &out)
            } else {
                try assistantTurn(blocks, param: param, into: &out)
            }
        default:
            throw .invalidRequest(
                "\(param).content: must be a string or an array of content blocks.", param: "\(param).content")
        }
    }

    /// Tool results first (right after the assistant turn that called them), then the user's text and images.
    private static func userTurn(_ blocks: [JSON], param: String, into out: inout [JSON]) throws(OpenAIError) {
        var parts: [JSON] = []
        for (position, block) in blocks.enumerated() {
            let where_ = "\(param).content.\(position)"
            switch block["type"]?.stringValue {
            case "text":
                guard let text = block["text"]?.stringValue else {
                    throw .invalidRequest("\(where_).text: Field required.", param: where_)
                }
                if !text.isEmpty { parts.append(["type": "text", "text": .string(text)]) }
            case "image":
                parts.append(try image(block, param: where_))
            case "tool_result":
                guard let id = block["tool_use_id"]?.stringValue else {
                    throw .invalidRequest("\(where_).tool_use_id: Field required.", param: where_)
                }
                var text = ""
                switch block["content"] {
                case .string(let s)?: text = s
                case .array(let items)?:
                    var texts: [String] = []
                    for (n, item) in items.enumerated() {
                        switch item["type"]?.stringValue {
                        case "text": texts.append(item["text"]?.stringValue ?? "")
                        // Tool messages carry text only: an image the tool returned follows as the user's.
                        case "image": parts.append(try image(item, param: "\(where_).content.\(n)"))
                        default: break
                        }
                    }
                    text = texts.joined(separator: "\n")
                default: break
                }
                if block["is_error"]?.boolValue == true { text = "Error: " + text }
                out.append(["role": "tool", "tool_call_id": .string(id), "content": .string(text)])
            default:
                throw unsupportedBlock(block, param: where_)
            }
        }
        guard !parts.isEmpty else { return }
        // One text block stays a plain string: every upstream takes that.
        if parts.count == 1, let text = parts[0]["text"]?.stringValue {
            out.append(["role": "user", "content": .string(text)])
        } else {
            out.append(["role": "user", "content": .array(parts)])
        }
    }

    private static func assistantTurn(_ blocks: [JSON], param: String, into out: inout [JSON]) throws(OpenAIError) {
        var text = ""
        var reasoning = ""
        var calls: [JSON] = []
        for (position, block) in blocks.enumerated() {
            let where_ = "\(param).content.\(position)"
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "thinking": reasoning += block["thinking"]?.stringValue ?? ""
            case "redacted_thinking": continue  // opaque to everyone but Anthropic
            case "tool_use":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw .invalidRequest("\(where_): tool_use needs 'id' and 'name'.", param: where_)
                }
                let input = block["input"] ?? [:]
                calls.append([
                    "id": .string(id), "type": "function",
                    "function": ["name": .string(name), "arguments": .string(JSONCoding.string(input))],
                ])
            default:
                throw unsupportedBlock(block, param: where_)
            }
        }
        var message: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
        if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        out.append(.object(message))
    }

    private static func image(_ block: JSON, param: String) throws(OpenAIError) -> JSON {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "base64":
            guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw .invalidRequest("\(param).source: base64 images need media_type and data.", param: param)
            }
            return ["type": "image_url", "image_url": ["url": .string("data:\(media);base64,\(data)")]]
        case "url":
            guard let url = source?["url"]?.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw .invalidRequest("\(param).source.url: must be an http(s) URL.", param: param)
            }
            return ["type": "image_url", "image_url": ["url": .string(url)]]
        default:
            throw .invalidRequest("\(param).source.type: must be 'base64' or 'url'.", param: param)
        }
    }

    private static func unsupportedBlock(_ block: JSON, param: String) -> OpenAIError {
        .invalidRequest(
            "\(param): content blocks of type '\(block["type"]?.stringValue ?? "?")' are not supported here.",
            param: param)
    }

    private static func tools(_ value: JSON?) throws(OpenAIError) -> [JSON] {
        guard let value, !value.isNull else { return [] }
        guard case .array(let tools) = value else { throw .invalidRequest("tools: must be an array.", param: "tools") }
        var result: [JSON] = []
        for (index, tool) in tools.enumerated() {
            guard let name = tool["name"]?.stringValue else {
                throw .invalidRequest("tools.\(index).name: Field required.", param: "tools.\(index).name")
            }
            guard let schema = tool["input_schema"]?.objectValue else {
                // Server tools (web search, code execution, …) run at Anthropic; no provider here can.
                let type = tool["type"]?.stringValue ?? "custom"
                throw .invalidRequest(
                    "tools.\(index): the tool '\(name)' (type '\(type)') is a server tool that no provider here can run; "
                        + "remove it, or define it with an input_schema.", param: "tools.\(index)")
            }
            var function: JSONObject = ["name": .string(name), "parameters": .object(schema)]
            if let description = tool["description"]?.stringValue { function["description"] = .string(description) }
            result.append(["type": "function", "function": .object(function)])
        }
        return result
    }

    private static func toolChoice(_ choice: JSONObject, into chat: inout JSONObject) throws(OpenAIError) {
        switch choice["type"]?.stringValue {
        case "auto": chat["tool_choice"] = "auto"
        case "any": chat["tool_choice"] = "required"
        case "none": chat["tool_choice"] = "none"
        case "tool":
            guard let name = choice["name"]?.stringValue else {
                throw .invalidRequest("tool_choice.name: Field required for type 'tool'.", param: "tool_choice")
            }
            chat["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
        default:
            throw .invalidRequest("tool_choice.type: must be auto, any, tool or none.", param: "tool_choice")
        }
        if choice["disable_parallel_tool_use"]?.boolValue == true { chat["parallel_tool_calls"] = false }
    }
}
