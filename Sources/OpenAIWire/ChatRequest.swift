/// A validated Chat Completions request. `body` keeps every field the client
/// sent (vendor fields included) so providers forward what they do not change.
package struct ChatRequest: Sendable {
    package var body: JSONObject
    /// The model id exactly as the client asked for it (echoed back in responses).
    package let model: String
    package let stream: Bool
    package let includeUsage: Bool
    /// `n`: how many choices the client wants.
    package let choiceCount: Int
    /// What the usage estimate counts when the upstream reports none.
    package var promptCharacters: Int { Usage.promptCharacters(body) }

    /// Checks the fields whose type or presence OpenAI defines; unknown fields pass.
    package init(json: JSON) throws(OpenAIError) {
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
        for (index, message) in messages.enumerated() {
            try Self.validate(message: message, at: index)
        }
        let check = FieldCheck(body: body)
        self.stream = try check.bool("stream") ?? false
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
        }
        self.includeUsage = stream && (body["stream_options"]?["include_usage"]?.boolValue ?? false)
        let n = try check.integer("n", in: 1...128) ?? 1
        self.choiceCount = Int(n)
        _ = try check.number("temperature", in: 0...2)
        _ = try check.number("top_p", in: 0...1)
        _ = try check.number("presence_penalty", in: -2...2)
        _ = try check.number("frequency_penalty", in: -2...2)
        _ = try check.integer("max_tokens", in: 1...Int64(Int32.max))
        _ = try check.integer("max_completion_tokens", in: 1...Int64(Int32.max))
        _ = try check.bool("parallel_tool_calls")
        _ = try check.object("response_format")
        _ = try check.string("user")
        try check.stop()
        try check.tools()
        try check.toolChoice()
        self.body = body
        self.model = model
    }

    private static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    private static func validate(message: JSON, at index: Int) throws(OpenAIError) {
        let param = "messages[\(index)]"
        guard case .object(let m) = message else {
            throw .invalidRequest(
                "\(param) must be an object, not \(message.typeName).", param: param, code: "invalid_type")
        }
        guard let role = m["role"]?.stringValue else {
            throw .invalidRequest("\(param).role must be a string.", param: "\(param).role", code: "invalid_type")
        }
        guard roles.contains(role) else {
            throw .invalidRequest(
                "\(param).role '\(role)' is not one of system, developer, user, assistant, tool.",
                param: "\(param).role", code: "invalid_value")
        }
        let content = m["content"] ?? .null
        switch content {
        case .string:
            break
        case .null:
            // Only an assistant turn that calls tools (or an empty assistant turn) may omit content.
            if role != "assistant" {
                throw .invalidRequest(
                    "\(param).content is required for role '\(role)'.", param: "\(param).content",
                    code: "missing_required_parameter")
            }
        case .array(let parts):
            for (partIndex, part) in parts.enumerated() {
                try validate(part: part, param: "\(param).content[\(partIndex)]")
            }
        default:
            throw .invalidRequest(
                "\(param).content must be a string or an array of content parts, not \(content.typeName).",
                param: "\(param).content", code: "invalid_type")
        }
        if role == "tool" {
            guard m["tool_call_id"]?.stringValue != nil else {
                throw .invalidRequest(
                    "\(param).tool_call_id is required for role 'tool' and must be a string.",
                    param: "\(param).tool_call_id", code: "missing_required_parameter")
            }
        }
        if let calls = m["tool_calls"], !calls.isNull {
            guard case .array(let list) = calls else {
                throw .invalidRequest(
                    "\(param).tool_calls must be an array.", param: "\(param).tool_calls", code: "invalid_type")
            }
            for (callIndex, call) in list.enumerated() where call["function"]?["name"]?.stringValue == nil {
                throw .invalidRequest(
                    "\(param).tool_calls[\(callIndex)].function.name must be a string.",
                    param: "\(param).tool_calls[\(callIndex)].function.name", code: "invalid_type")
            }
        }
    }

    private static func validate(part: JSON, param: String) throws(OpenAIError) {
        guard case .object(let p) = part, let type = p["type"]?.stringValue else {
            throw .invalidRequest(
                "\(param) must be an object with a string 'type'.", param: param, code: "invalid_type")
        }
        switch type {
        case "text":
            guard p["text"]?.stringValue != nil else {
                throw .invalidRequest("\(param).text must be a string.", param: "\(param).text", code: "invalid_type")
            }
        case "image_url":
            let url = p["image_url"]?["url"]?.stringValue ?? p["image_url"]?.stringValue
            guard let url, url.hasPrefix("data:") || url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw .invalidRequest(
                    "\(param).image_url.url must be a data: or http(s): URL.", param: "\(param).image_url",
                    code: "invalid_value")
            }
        default:
            break  // other part kinds (input_audio, file, …) are the provider's call
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

    private func typeError(_ key: String, _ expected: String) -> OpenAIError {
        .invalidRequest(
            "'\(key)' must be \(expected), not \(body[key]?.typeName ?? "missing").", param: key, code: "invalid_type")
    }

    func bool(_ key: String) throws(OpenAIError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let b = value.boolValue else { throw typeError(key, "a boolean") }
        return b
    }

    func string(_ key: String) throws(OpenAIError) -> String? {
        guard let value = present(key) else { return nil }
        guard let s = value.stringValue else { throw typeError(key, "a string") }
        return s
    }

    func object(_ key: String) throws(OpenAIError) -> JSONObject? {
        guard let value = present(key) else { return nil }
        guard let o = value.objectValue else { throw typeError(key, "an object") }
        return o
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws(OpenAIError) -> Int64? {
        guard let value = present(key) else { return nil }
        guard let i = value.intValue else { throw typeError(key, "an integer") }
        guard range.contains(i) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(i).", param: key,
                code: "invalid_value")
        }
        return i
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(OpenAIError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.numberValue else { throw typeError(key, "a number") }
        guard range.contains(d) else {
            throw .invalidRequest(
                "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d).", param: key,
                code: "invalid_value")
        }
        return d
    }

    func stop() throws(OpenAIError) {
        guard let value = present("stop") else { return }
        switch value {
        case .string: return
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): return
        default: throw typeError("stop", "a string or an array of strings")
        }
    }

    func tools() throws(OpenAIError) {
        guard let value = present("tools") else { return }
        guard case .array(let tools) = value else { throw typeError("tools", "an array") }
        for (index, tool) in tools.enumerated() {
            guard
                tool["function"]?["name"]?.stringValue != nil
                    || (tool["type"]?.stringValue.map { $0 != "function" } ?? false)
            else {
                throw .invalidRequest(
                    "tools[\(index)].function.name must be a string.", param: "tools[\(index)].function.name",
                    code: "invalid_type")
            }
        }
    }

    func toolChoice() throws(OpenAIError) {
        guard let value = present("tool_choice") else { return }
        switch value {
        case .string(let s) where ["auto", "none", "required"].contains(s): return
        case .object: return
        default: throw typeError("tool_choice", "'auto', 'none', 'required' or an object")
        }
    }
}
