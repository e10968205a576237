import OpenAIWire

/// docs/protocols/iflow.md "Body adjustments the official CLI makes": per-model fields, applied
/// only where the client did not set the same field itself.
package enum IFlowModelAdjustments {
    /// Adjusts `body` for `model` (the upstream's model id, without provider prefix).
    package static func apply(to body: inout JSONObject, model: String) throws(GatewayError) {
        let id = model.lowercased()
        let thinkingOff = isThinkingOff(body)
        // The client's own choice of the thinking switch is translated, not forwarded as-is.
        if body["reasoning_effort"]?.stringValue == "none" { body["reasoning_effort"] = nil }
        var set = Setter(body: body, thinkingOff: thinkingOff)

        if id == "glm-4.6" { set.body["model"] = "glm-4.6-exp" }
        if id == "glm-4.7" {
            set.templateThinking()
            set.sampling(temperature: 1, topP: 0.95)
        } else if id == "glm-5" {
            set.templateThinking()
            set.ifAbsent("enable_thinking", .bool(!thinkingOff))
            set.thinkingType()
            set.sampling(temperature: 1, topP: 0.95)
        } else if id.hasPrefix("glm-") {
            set.templateThinking()
        }
        if id.hasPrefix("deepseek") {
            set.thinkingFlag("thinking_mode")
            set.thinkingFlag("reasoning")
        }
        if id.hasPrefix("kimi-k2.5") {
            set.thinkingType()
            set.ifAbsent("top_p", 0.95)
            set.ifAbsent("n", 1)
            set.ifAbsent("presence_penalty", 0)
            set.ifAbsent("frequency_penalty", 0)
            if let choice = set.body["tool_choice"], set.body["tools"] != nil,
                !(choice.stringValue == "auto" || choice.stringValue == "none")
            {
                throw .invalidRequest(
                    "Model '\(model)' supports tool_choice 'auto' or 'none' only.", param: "tool_choice",
                    code: "unsupported_value")
            }
        }
        if id.containsBytes("thinking") { set.thinkingFlag("thinking_mode") }
        if id.containsBytes("reasoning") { set.thinkingFlag("reasoning") }
        if id.hasPrefix("mimo-") { set.thinkingType() }
        if id == "iflow-rome-30ba3b" {
            set.ifAbsent("temperature", 0.7)
            set.ifAbsent("top_p", 0.8)
            set.ifAbsent("top_k", 20)
        }
        if id.hasPrefix("qwen") && id.hasSuffix("4b") {
            for key in ["thinking_mode", "reasoning", "chat_template_kwargs"] where !set.clientSet(key) {
                set.body[key] = nil
            }
        }
        body = set.body
    }

    /// docs/protocols/iflow.md: `reasoning_effort:"none"` or `thinking:{type:"disabled"}` turn thinking off.
    static func isThinkingOff(_ body: JSONObject) -> Bool {
        body["reasoning_effort"]?.stringValue == "none" || body["thinking"]?["type"]?.stringValue == "disabled"
    }

    /// Writes defaults without overwriting what the client sent.
    private struct Setter {
        var body: JSONObject
        let original: JSONObject
        let thinkingOff: Bool

        init(body: JSONObject, thinkingOff: Bool) {
            self.body = body
            self.original = body
            self.thinkingOff = thinkingOff
        }

        func clientSet(_ key: String) -> Bool { original[key] != nil }

        mutating func ifAbsent(_ key: String, _ value: JSON) {
            if !clientSet(key) { body[key] = value }
        }

        mutating func templateThinking() {
            ifAbsent("chat_template_kwargs", ["enable_thinking": .bool(!thinkingOff)])
        }

        mutating func thinkingType() {
            ifAbsent("thinking", ["type": thinkingOff ? "disabled" : "enabled"])
        }

        /// Boolean switches (`thinking_mode`, `reasoning`) are simply not sent when thinking is off.
        mutating func thinkingFlag(_ key: String) {
            if !thinkingOff { ifAbsent(key, true) }
        }

        mutating func sampling(temperature: Double, topP: Double) {
            ifAbsent("temperature", .double(temperature))
            ifAbsent("top_p", .double(topP))
        }
    }
}
