import OpenAIWire

/// Turns an upstream non-streaming answer into a response that meets docs/protocols/openai-chat.md:
/// every field a client reads is present, `model` is the id the client asked for.
package enum ChatCompletionNormalizer {
    /// `promptCharacters` feeds the usage estimate when the upstream reports none.
    package static func normalize(
        _ upstream: JSONObject, model: String, reasoning: ReasoningOutput, now: Int64, promptCharacters: Int = 0
    ) throws(GatewayError) -> JSONObject {
        guard case .array(let choices)? = upstream["choices"], !choices.isEmpty else {
            throw .upstreamFailed("Invalid upstream response: it has no choices.", code: "invalid_upstream_response")
        }
        var result = upstream
        result["id"] = .string(upstream["id"]?.stringValue ?? CompletionID.make())
        result["object"] = "chat.completion"
        result["created"] = .int(upstream["created"]?.intValue ?? now)
        result["model"] = .string(model)
        result["choices"] = .array(
            choices.enumerated().map { position, choice in
                .object(normalize(choice: choice.objectValue ?? [:], position: position, reasoning: reasoning))
            })
        if let usage = upstream["usage"]?.objectValue {
            result["usage"] = .object(Usage.normalize(usage))
        } else {
            let completion = choices.reduce(0) { $0 + Usage.completionCharacters($1["message"]?.objectValue ?? [:]) }
            result["usage"] = .object(
                Usage.estimate(promptCharacters: promptCharacters, completionCharacters: completion))
        }
        return result
    }

    private static func normalize(choice: JSONObject, position: Int, reasoning: ReasoningOutput) -> JSONObject {
        var message = choice["message"]?.objectValue ?? [:]
        if message["role"]?.stringValue == nil { message["role"] = "assistant" }
        if message["content"] == nil { message["content"] = .null }
        let thought = message["reasoning_content"]?.stringValue ?? ""
        switch reasoning {
        case .passthrough:
            break
        case .drop:
            message["reasoning_content"] = nil
        case .inline:
            message["reasoning_content"] = nil
            if !thought.isEmpty {
                message["content"] = .string("<think>\(thought)</think>" + (message["content"]?.stringValue ?? ""))
            }
        }
        var result = choice
        result["index"] = .int(choice["index"]?.intValue ?? Int64(position))
        result["message"] = .object(message)
        let hasToolCalls = !(message["tool_calls"]?.arrayValue?.isEmpty ?? true)
        if choice["finish_reason"]?.stringValue == nil {
            result["finish_reason"] = .string(hasToolCalls ? "tool_calls" : "stop")
        }
        if result["logprobs"] == nil { result["logprobs"] = .null }
        return result
    }
}
