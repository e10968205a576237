import ChatCore
import OpenAIWire

/// The OpenAI chat dialect's request (docs/protocols/openai-chat.md): checked, then read into the
/// canonical `ChatRequest`. The client's body is kept whole as `openAIBody`, so every field it
/// sent (vendor fields included) reaches OpenAI-format upstreams unchanged.
extension ChatRequest {
    /// Checks the fields whose type or presence OpenAI defines; unknown fields pass.
    package init(openAI json: JSON) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        guard let modelValue = body["model"] else {
            throw .invalidRequest(
                "Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model", code: "invalid_type")
        }
        guard let messagesValue = body["messages"] else {
            throw .invalidRequest(
                "Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let messages) = messagesValue, !messages.isEmpty else {
            throw .invalidRequest("'messages' must be a non-empty array.", param: "messages", code: "invalid_type")
        }
        var typed: [ChatMessage] = []
        typed.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            typed.append(try Self.message(message, at: index))
        }
        let check = FieldCheck(body: body)
        let stream = try check.bool("stream") ?? false
        var includeUsage = false
        if let options = try check.object("stream_options") {
            // As OpenAI answers: stream options without a stream are a mistake worth saying.
            guard stream else {
                throw .invalidRequest(
                    "'stream_options' is only allowed when 'stream' is true.", param: "stream_options",
                    code: "invalid_value")
            }
            if let include = options["include_usage"], include.boolValue == nil, !include.isNull {
                throw .invalidRequest(
                    "'stream_options.include_usage' must be a boolean.", param: "stream_options.include_usage",
                    code: "invalid_type")
            }
            includeUsage = options["include_usage"]?.boolValue ?? false
        }
        let n = try check.integer("n", in: 1...128) ?? 1
        let temperature = try check.number("temperature", in: 0...2)
        let topP = try check.number("top_p", in: 0...1)
        _ = try check.number("presence_penalty", in: -2...2)
        _ = try check.number("frequency_penalty", in: -2...2)
        let maxTokens = try check.integer("max_tokens", in: 1...Int64(Int32.max))
        let maxCompletionTokens = try check.integer("max_completion_tokens", in: 1...Int64(Int32.max))
        let parallel = try check.bool("parallel_tool_calls")
        _ = try check.object("response_format")
        let user = try check.string("user")
        let stop = try check.stop()
        let tools = try check.tools()
        let toolChoice = try check.toolChoice()
        self.init(
            model: model, messages: typed, tools: tools, toolChoice: toolChoice, parallelToolCalls: parallel,
            sampling: Sampling(
                temperature: temperature, topP: topP, topK: body["top_k"]?.intValue.map(Int.init),
                maxTokens: (maxCompletionTokens ?? maxTokens).map(Int.init), stop: stop),
            reasoning: Self.reasoning(body), stream: stream,
            includeUsage: includeUsage,
            choiceCount: Int(n), user: user, session: try check.string("prompt_cache_key"), openAIBody: body)
    }

    /// `reasoning_effort` (`none` is off), or a vendor's `thinking: {type: disabled}`.
    private static func reasoning(_ body: JSONObject) -> ReasoningSwitch? {
        if body["thinking"]?["type"]?.stringValue == "disabled" { return .off }
        guard let effort = body["reasoning_effort"]?.stringValue else { return nil }
        return effort == "none" ? .off : .on(effort: effort)
    }

    /// A message, checked and typed in one pass: each field is read once, and the error's
    /// `param` is only spelled out when there is an error.
    private static func message(_ message: JSON, at index: Int) throws(GatewayError) -> ChatMessage {
        func param(_ suffix: String = "") -> String { "messages[\(index)]" + suffix }
        guard case .object(let m) = message else {
            throw .invalidRequest("\(param()) must be an object, not \(message.typeName).", param: param(), code: "invalid_type")
        }
        guard let roleName = m["role"]?.stringValue else {
            throw .invalidRequest("\(param(".role")) must be a string.", param: param(".role"), code: "invalid_type")
        }
        let role: ChatMessage.Role
        switch roleName {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system": role = .system
        case "developer": role = .developer
        case "tool", "function": role = .tool  // "function": the old name of the tool role
        default:
            throw .invalidRequest(
                "\(param(".role")) '\(roleName)' is not one of system, developer, user, assistant, tool.",
                param: param(".role"), code: "invalid_value")
        }
        var content: [ContentPart] = []
        switch m["content"] ?? .null {
        case .string(let text):
            content = [.text(text)]
        case .null:
            // Only an assistant turn that calls tools (or an empty assistant turn) may omit content.
            if role != .assistant {
                throw .invalidRequest(
                    "\(param(".content")) is required for role '\(roleName)'.", param: param(".content"),
                    code: "missing_required_parameter")
            }
        case .array(let parts):
            content.reserveCapacity(parts.count)
            for (partIndex, part) in parts.enumerated() {
                content.append(try Self.part(part, param: { param(".content[\(partIndex)]") }))
            }
        case let other:
            throw .invalidRequest(
                "\(param(".content")) must be a string or an array of content parts, not \(other.typeName).",
                param: param(".content"), code: "invalid_type")
        }
        var toolCallID: String?
        if role == .tool {
            toolCallID = m["tool_call_id"]?.stringValue
            if toolCallID == nil && roleName == "tool" {
                throw .invalidRequest(
                    "\(param(".tool_call_id")) is required for role 'tool' and must be a string.",
                    param: param(".tool_call_id"), code: "missing_required_parameter")
            }
            toolCallID = toolCallID ?? m["name"]?.stringValue
        }
        var calls: [ToolCall] = []
        if let value = m["tool_calls"], !value.isNull {
            guard case .array(let list) = value else {
                throw .invalidRequest(
                    "\(param(".tool_calls")) must be an array.", param: param(".tool_calls"), code: "invalid_type")
            }
            for (callIndex, call) in list.enumerated() {
                let function = call["function"]
                guard let name = function?["name"]?.stringValue else {
                    let where_ = param(".tool_calls[\(callIndex)].function.name")
                    throw .invalidRequest("\(where_) must be a string.", param: where_, code: "invalid_type")
                }
                calls.append(
                    ToolCall(
                        id: call["id"]?.stringValue ?? "", name: name,
                        arguments: function?["arguments"]?.stringValue ?? ""))
            }
        }
        return ChatMessage(
            role: role, content: content, toolCalls: calls, toolCallID: toolCallID,
            reasoning: role == .assistant ? m["reasoning_content"]?.stringValue : nil)
    }

    private static func part(_ part: JSON, param: () -> String) throws(GatewayError) -> ContentPart {
        guard case .object(let p) = part, let type = p["type"]?.stringValue else {
            throw .invalidRequest("\(param()) must be an object with a string 'type'.", param: param(), code: "invalid_type")
        }
        switch type {
        case "text":
            guard let text = p["text"]?.stringValue else {
                throw .invalidRequest("\(param()).text must be a string.", param: "\(param()).text", code: "invalid_type")
            }
            return .text(text)
        case "image_url":
            let url = p["image_url"]?["url"]?.stringValue ?? p["image_url"]?.stringValue
            guard let url, url.hasPrefix("data:") || url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw .invalidRequest(
                    "\(param()).image_url.url must be a data: or http(s): URL.", param: "\(param()).image_url",
                    code: "invalid_value")
            }
            return .image(url: url)
        default:
            return .other(type: type)  // other part kinds (input_audio, file, …) are the provider's call
        }
    }
}

/// Type checks for optional top-level fields; each error names the field in `param`.
private struct FieldCheck {
    let body: JSONObject

    private func present(_ key: String) -> JSON? {
        guard let value = body[key], !value.isNull else { return nil }
        return value
    }

    private func typeError(_ key: String, _ expected: String) -> GatewayError {
        .invalidRequest(
            "'\(key)' must be \(expected), not \(body[key]?.typeName ?? "missing").", param: key, code: "invalid_type")
    }

    func bool(_ key: String) throws(GatewayError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let b = value.boolValue else { throw typeError(key, "a boolean") }
        return b
    }

    func string(_ key: String) throws(GatewayError) -> String? {
        guard let value = present(key) else { return nil }
        guard let s = value.stringValue else { throw typeError(key, "a string") }
        return s
    }

    func object(_ key: String) throws(GatewayError) -> JSONObject? {
        guard let value = present(key) else { return nil }
        guard let o = value.objectValue else { throw typeError(key, "an object") }
        return o
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws(GatewayError) -> Int64? {
        guard let value = present(key) else { return nil }
        guard let i = value.intValue else { throw typeError(key, "an integer") }
        guard range.contains(i) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(i).", param: key,
                code: "invalid_value")
        }
        return i
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(GatewayError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.numberValue else { throw typeError(key, "a number") }
        guard range.contains(d) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d).", param: key,
                code: "invalid_value")
        }
        return d
    }

    func stop() throws(GatewayError) -> [String] {
        guard let value = present("stop") else { return [] }
        switch value {
        case .string(let stop): return [stop]
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): return items.compactMap(\.stringValue)
        default: throw typeError("stop", "a string or an array of strings")
        }
    }

    /// Function tools, typed; other kinds (a vendor's built-in tools) travel only in the body.
    func tools() throws(GatewayError) -> [ToolDefinition] {
        guard let value = present("tools") else { return [] }
        guard case .array(let tools) = value else { throw typeError("tools", "an array") }
        var result: [ToolDefinition] = []
        for (index, tool) in tools.enumerated() {
            guard
                tool["function"]?["name"]?.stringValue != nil
                    || (tool["type"]?.stringValue.map { $0 != "function" } ?? false)
            else {
                throw .invalidRequest(
                    "tools[\(index)].function.name must be a string.", param: "tools[\(index)].function.name",
                    code: "invalid_type")
            }
            if let function = tool["function"], let name = function["name"]?.stringValue {
                result.append(
                    ToolDefinition(
                        name: name, description: function["description"]?.stringValue, parameters: function["parameters"]))
            }
        }
        return result
    }

    func toolChoice() throws(GatewayError) -> ToolChoice? {
        guard let value = present("tool_choice") else { return nil }
        switch value {
        case .string("auto"): return .auto
        case .string("none"): return ToolChoice.none
        case .string("required"): return .required
        case .object(let choice):
            return choice["function"]?["name"]?.stringValue.map(ToolChoice.function) ?? .auto
        default: throw typeError("tool_choice", "'auto', 'none', 'required' or an object")
        }
    }
}
