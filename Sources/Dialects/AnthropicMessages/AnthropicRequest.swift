import ChatCore
import OpenAIWire

/// A Messages API request, checked and read into the canonical chat every provider takes
/// (docs/protocols/anthropic-messages.md, "Request"). Anthropic-only fields that no
/// upstream understands (`container`, `mcp_servers`, …) are not forwarded.
package struct AnthropicRequest: Sendable {
    package let model: String
    package let stream: Bool
    package let stopSequences: [String]
    package let chat: ChatRequest

    /// The local estimate of the prompt's tokens (docs/protocols/anthropic-messages.md, "count_tokens"):
    /// characters of system, messages and tools over 4, never zero.
    package var inputTokens: Int { max(1, (chat.promptCharacters + 3) / 4) }

    /// `counting`: a count_tokens request, where `max_tokens` is not required.
    package init(json: JSON, counting: Bool = false) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("model: Field required (a non-empty string).", param: "model")
        }
        var maxTokens: Int?
        if !counting || body["max_tokens"] != nil {
            guard let max = body["max_tokens"]?.intValue, max >= 1, max <= Int64(Int32.max) else {
                throw .invalidRequest("max_tokens: Field required (an integer of at least 1).", param: "max_tokens")
            }
            maxTokens = Int(max)
        }
        guard case .array(let messages)? = body["messages"], !messages.isEmpty else {
            throw .invalidRequest("messages: Field required (a non-empty array).", param: "messages")
        }
        var turns: [ChatMessage] = []
        if let system = body["system"], !system.isNull {
            let text = try Self.systemText(system)
            if !text.isEmpty { turns.append(ChatMessage(role: .system, content: [.text(text)])) }
        }
        for (index, message) in messages.enumerated() {
            try Self.translate(message, at: index, into: &turns)
        }
        let stream = try Self.optional(body, "stream") { $0.boolValue } ?? false
        let stops = try Self.optional(body, "stop_sequences", Self.strings) ?? []
        let temperature = try Self.optional(body, "temperature") { $0.numberValue }
        let topP = try Self.optional(body, "top_p") { $0.numberValue }
        let topK = try Self.optional(body, "top_k") { $0.intValue }
        let tools = try Self.tools(body["tools"])
        var toolChoice: ToolChoice?
        var parallel: Bool?
        if !tools.isEmpty, let choice = body["tool_choice"]?.objectValue {
            (toolChoice, parallel) = try Self.toolChoice(choice)
        }
        self.model = model
        self.stream = stream
        self.stopSequences = stops
        self.chat = ChatRequest(
            model: model, messages: turns, tools: tools, toolChoice: toolChoice, parallelToolCalls: parallel,
            sampling: Sampling(
                temperature: temperature, topP: topP, topK: topK.map(Int.init), maxTokens: maxTokens, stop: stops),
            reasoning: body["thinking"]?.objectValue.map(Self.reasoning), stream: stream,
            // The Messages stream ends with the upstream's own figures when it has them.
            includeUsage: stream, user: body["metadata"]?["user_id"]?.stringValue)
    }

    private static func strings(_ value: JSON) -> [String]? {
        guard let items = value.arrayValue else { return nil }
        let strings = items.compactMap(\.stringValue)
        return strings.count == items.count ? strings : nil
    }

    /// A present, non-null field must have the expected type.
    private static func optional<T>(_ body: JSONObject, _ key: String, _ read: (JSON) -> T?) throws(GatewayError) -> T? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let typed = read(value) else {
            throw .invalidRequest("\(key): not a valid value (\(value.typeName)).", param: key)
        }
        return typed
    }

    private static func systemText(_ system: JSON) throws(GatewayError) -> String {
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
    private static func reasoning(_ thinking: JSONObject) -> ReasoningSwitch {
        guard thinking["type"]?.stringValue == "enabled" else { return .off }
        let budget = thinking["budget_tokens"]?.intValue ?? 0
        return .on(effort: budget >= 16_384 ? "high" : budget >= 4_096 ? "medium" : "low")
    }

    private static func translate(_ message: JSON, at index: Int, into out: inout [ChatMessage]) throws(GatewayError) {
        let param = "messages.\(index)"
        guard let role = message["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .invalidRequest("\(param).role: must be 'user' or 'assistant'.", param: "\(param).role")
        }
        switch message["content"] {
        case .string(let text)?:
            if !text.isEmpty || role == "assistant" {
                out.append(ChatMessage(role: role == "user" ? .user : .assistant, content: [.text(text)]))
            }
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
    private static func userTurn(_ blocks: [JSON], param: String, into out: inout [ChatMessage]) throws(GatewayError) {
        var parts: [ContentPart] = []
        for (position, block) in blocks.enumerated() {
            let where_ = "\(param).content.\(position)"
            switch block["type"]?.stringValue {
            case "text":
                guard let text = block["text"]?.stringValue else {
                    throw .invalidRequest("\(where_).text: Field required.", param: where_)
                }
                if !text.isEmpty { parts.append(.text(text)) }
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
                out.append(ChatMessage(role: .tool, content: [.text(text)], toolCallID: id))
            default:
                throw unsupportedBlock(block, param: where_)
            }
        }
        if !parts.isEmpty { out.append(ChatMessage(role: .user, content: parts)) }
    }

    private static func assistantTurn(_ blocks: [JSON], param: String, into out: inout [ChatMessage]) throws(GatewayError) {
        var text = ""
        var reasoning = ""
        var calls: [ToolCall] = []
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
                calls.append(ToolCall(id: id, name: name, arguments: JSONCoding.string(block["input"] ?? [:])))
            default:
                throw unsupportedBlock(block, param: where_)
            }
        }
        out.append(
            ChatMessage(
                role: .assistant, content: text.isEmpty && !calls.isEmpty ? [] : [.text(text)], toolCalls: calls,
                reasoning: reasoning.isEmpty ? nil : reasoning))
    }

    private static func image(_ block: JSON, param: String) throws(GatewayError) -> ContentPart {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "base64":
            guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw .invalidRequest("\(param).source: base64 images need media_type and data.", param: param)
            }
            return .image(url: "data:\(media);base64,\(data)")
        case "url":
            guard let url = source?["url"]?.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw .invalidRequest("\(param).source.url: must be an http(s) URL.", param: param)
            }
            return .image(url: url)
        default:
            throw .invalidRequest("\(param).source.type: must be 'base64' or 'url'.", param: param)
        }
    }

    private static func unsupportedBlock(_ block: JSON, param: String) -> GatewayError {
        .invalidRequest(
            "\(param): content blocks of type '\(block["type"]?.stringValue ?? "?")' are not supported here.",
            param: param)
    }

    private static func tools(_ value: JSON?) throws(GatewayError) -> [ToolDefinition] {
        guard let value, !value.isNull else { return [] }
        guard case .array(let tools) = value else { throw .invalidRequest("tools: must be an array.", param: "tools") }
        var result: [ToolDefinition] = []
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
            result.append(
                ToolDefinition(name: name, description: tool["description"]?.stringValue, parameters: .object(schema)))
        }
        return result
    }

    private static func toolChoice(_ choice: JSONObject) throws(GatewayError) -> (ToolChoice, parallel: Bool?) {
        let parallel: Bool? = choice["disable_parallel_tool_use"]?.boolValue == true ? false : nil
        switch choice["type"]?.stringValue {
        case "auto": return (.auto, parallel)
        case "any": return (.required, parallel)
        case "none": return (ToolChoice.none, parallel)
        case "tool":
            guard let name = choice["name"]?.stringValue else {
                throw .invalidRequest("tool_choice.name: Field required for type 'tool'.", param: "tool_choice")
            }
            return (.function(name), parallel)
        default:
            throw .invalidRequest("tool_choice.type: must be auto, any, tool or none.", param: "tool_choice")
        }
    }
}
