import ChatCore
import OpenAIWire

/// A Responses API request, checked and read into the canonical chat
/// (docs/protocols/openai-responses.md, "Request"). The conversation is kept as items too:
/// what a stored response remembers for `previous_response_id`.
package struct ResponsesRequest: Sendable {
    package let model: String
    package let stream: Bool
    /// Keep the response (default true).
    package let store: Bool
    package let previousResponseID: String?
    package let instructions: String?
    package let metadata: JSON
    /// The request's settings as the response object echoes them.
    package let echo: JSONObject
    /// The whole conversation as items: the previous response's (its input and output), then this input.
    package let conversation: [JSON]
    package let chat: ChatRequest

    /// The estimate of the prompt's tokens, for when the upstream reports none.
    package var inputTokens: Int { (chat.promptCharacters + 3) / 4 }

    /// The `previous_response_id` a body names, read before the body is decoded (the stored
    /// conversation is part of decoding it).
    package static func previousResponseID(in json: JSON) throws(GatewayError) -> String? {
        guard let value = json["previous_response_id"], !value.isNull else { return nil }
        guard let id = value.stringValue, !id.isEmpty else {
            throw .invalidRequest("previous_response_id: must be a response id (a string).", param: "previous_response_id")
        }
        return id
    }

    /// `history`: the stored conversation of the previous response, if any.
    package init(json: JSON, history: [JSON] = []) throws(GatewayError) {
        guard case .object(let body) = json else {
            throw .invalidRequest("The request body must be a JSON object, not \(json.typeName).")
        }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("model: Field required (a non-empty string).", param: "model")
        }
        let input: [JSON]
        switch body["input"] {
        case .string(let text)?:
            input = [["type": "message", "role": "user", "content": [["type": "input_text", "text": .string(text)]]]]
        case .array(let items)?:
            input = items
        default:
            throw .invalidRequest("input: Field required (a string or an array of items).", param: "input")
        }
        let instructions = try Self.optional(body, "instructions") { $0.stringValue }
        var turns: [ChatMessage] = []
        if let instructions, !instructions.isEmpty { turns.append(ChatMessage(role: .system, content: [.text(instructions)])) }
        var reader = ResponsesItems()
        for (index, item) in history.enumerated() { try reader.read(item, param: "previous_response_id.\(index)") }
        for (index, item) in input.enumerated() { try reader.read(item, param: "input.\(index)") }
        turns += reader.messages()
        guard turns.contains(where: { $0.role != .system }) else {
            throw .invalidRequest("input: must hold at least one message or tool output.", param: "input")
        }
        let tools = try Self.tools(body["tools"])
        let toolChoice = try Self.toolChoice(body["tool_choice"])
        let parallel = try Self.optional(body, "parallel_tool_calls") { $0.boolValue }
        let maxTokens = try Self.optional(body, "max_output_tokens") { value -> Int? in
            guard let max = value.intValue, max >= 1, max <= Int64(Int32.max) else { return nil }
            return Int(max)
        }
        let temperature = try Self.optional(body, "temperature") { $0.numberValue }
        let topP = try Self.optional(body, "top_p") { $0.numberValue }
        let stream = try Self.optional(body, "stream") { $0.boolValue } ?? false
        let user = try Self.optional(body, "user") { $0.stringValue }
        let metadata = try Self.optional(body, "metadata") { $0.objectValue.map(JSON.object) } ?? [:]
        let effort = try Self.optional(body, "reasoning") { $0.objectValue }?["effort"]?.stringValue
        let format = try Self.responseFormat(body["text"])

        self.model = model
        self.stream = stream
        self.store = try Self.optional(body, "store") { $0.boolValue } ?? true
        self.previousResponseID = try Self.previousResponseID(in: json)
        self.instructions = instructions
        self.metadata = metadata
        self.conversation = history + input
        self.echo = [
            "instructions": instructions.map(JSON.string) ?? .null,
            "max_output_tokens": maxTokens.map { .int(Int64($0)) } ?? .null,
            "parallel_tool_calls": .bool(parallel ?? true),
            "reasoning": ["effort": effort.map(JSON.string) ?? .null, "summary": .null],
            "temperature": temperature.map(JSON.double) ?? .null, "top_p": topP.map(JSON.double) ?? .null,
            "text": ["format": format.echo], "tool_choice": body["tool_choice"] ?? "auto",
            "tools": body["tools"] ?? [], "truncation": "disabled", "user": user.map(JSON.string) ?? .null,
        ]
        self.chat = ChatRequest(
            model: model, messages: turns, tools: tools, toolChoice: tools.isEmpty ? nil : toolChoice,
            parallelToolCalls: parallel, sampling: Sampling(temperature: temperature, topP: topP, maxTokens: maxTokens),
            reasoning: effort.map(Self.reasoning), stream: stream, includeUsage: stream, user: user,
            responseFormat: format.chat, session: body["prompt_cache_key"]?.stringValue)
    }

    /// A present, non-null field must have the expected type.
    private static func optional<T>(_ body: JSONObject, _ key: String, _ read: (JSON) -> T?) throws(GatewayError) -> T? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let typed = read(value) else {
            throw .invalidRequest("\(key): not a valid value (\(value.typeName)).", param: key)
        }
        return typed
    }

    /// `reasoning.effort`: `none` turns thinking off, `minimal` is the lowest effort providers know.
    private static func reasoning(_ effort: String) -> ReasoningSwitch {
        switch effort {
        case "none": .off
        case "minimal": .on(effort: "low")
        default: .on(effort: effort)
        }
    }

    /// Function tools only: built-in tools run at OpenAI, and no provider here can run them.
    private static func tools(_ value: JSON?) throws(GatewayError) -> [ToolDefinition] {
        guard let value, !value.isNull else { return [] }
        guard case .array(let tools) = value else { throw .invalidRequest("tools: must be an array.", param: "tools") }
        var result: [ToolDefinition] = []
        for (index, tool) in tools.enumerated() {
            let type = tool["type"]?.stringValue ?? "function"
            guard type == "function" else {
                throw .invalidRequest(
                    "tools.\(index): the built-in tool '\(type)' is not available: it runs at OpenAI and no provider here can run it; use function tools.",
                    param: "tools.\(index)")
            }
            guard let name = tool["name"]?.stringValue, !name.isEmpty else {
                throw .invalidRequest("tools.\(index).name: Field required.", param: "tools.\(index).name")
            }
            result.append(
                ToolDefinition(name: name, description: tool["description"]?.stringValue, parameters: tool["parameters"]))
        }
        return result
    }

    private static func toolChoice(_ value: JSON?) throws(GatewayError) -> ToolChoice? {
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object(let choice)?:
            let type = choice["type"]?.stringValue ?? ""
            guard type == "function", let name = choice["name"]?.stringValue else {
                throw .invalidRequest(
                    "tool_choice: only 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": …} can be served (not '\(type)').",
                    param: "tool_choice")
            }
            return .function(name)
        default:
            throw .invalidRequest("tool_choice: must be 'auto', 'none', 'required' or a function.", param: "tool_choice")
        }
    }

    /// `text.format` as the chat API's `response_format`, and as the response echoes it.
    private static func responseFormat(_ text: JSON?) throws(GatewayError) -> (chat: JSON?, echo: JSON) {
        guard let format = text?["format"], !format.isNull else { return (nil, ["type": "text"]) }
        switch format["type"]?.stringValue {
        case "text": return (nil, format)
        case "json_object": return (["type": "json_object"], format)
        case "json_schema":
            guard let name = format["name"]?.stringValue, let schema = format["schema"] else {
                throw .invalidRequest("text.format: json_schema needs 'name' and 'schema'.", param: "text.format")
            }
            var jsonSchema: JSONObject = ["name": .string(name), "schema": schema]
            if let strict = format["strict"], !strict.isNull { jsonSchema["strict"] = strict }
            if let description = format["description"]?.stringValue { jsonSchema["description"] = .string(description) }
            return (["type": "json_schema", "json_schema": .object(jsonSchema)], format)
        default:
            throw .invalidRequest("text.format.type: must be text, json_object or json_schema.", param: "text.format")
        }
    }
}
