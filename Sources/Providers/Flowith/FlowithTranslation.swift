import OpenAIWire

/// docs/protocols/flowith.md: OpenAI messages in the two roles Flowith knows. Nothing is dropped:
/// system/developer text becomes a leading user turn, tool calls and tool results
/// become plain text turns, text parts are joined; images are refused.
package enum FlowithTranslation {
    package static func messages(_ request: ChatRequest) throws(OpenAIError) -> [JSON] {
        var instructions: [String] = []
        var turns: [JSON] = []
        let messages = request.body["messages"]?.arrayValue ?? []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue ?? "user"
            let text = try self.text(of: message, at: index)
            switch role {
            case "system", "developer":
                if !text.isEmpty { instructions.append(text) }
            case "assistant":
                var parts = text.isEmpty ? [] : [text]
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    let name = call["function"]?["name"]?.stringValue ?? "tool"
                    let arguments = call["function"]?["arguments"]?.stringValue ?? ""
                    let id = call["id"]?.stringValue.map { " (\($0))" } ?? ""
                    parts.append("[called tool \(name)\(id) with arguments: \(arguments)]")
                }
                turns.append(["role": "assistant", "content": .string(parts.joined(separator: "\n"))])
            case "tool", "function":
                let id = message["tool_call_id"]?.stringValue ?? message["name"]?.stringValue ?? "tool"
                turns.append(["role": "user", "content": .string("[result of tool call \(id)]: \(text)")])
            default:
                turns.append(["role": "user", "content": .string(text)])
            }
        }
        if !instructions.isEmpty {
            turns.insert(["role": "user", "content": .string(instructions.joined(separator: "\n\n"))], at: 0)
        }
        return turns
    }

    /// The prompt's size in characters, for the usage estimate.
    package static func characters(in messages: [JSON]) -> Int {
        messages.reduce(0) { $0 + ($1["content"]?.stringValue?.count ?? 0) }
    }

    private static func text(of message: JSON, at index: Int) throws(OpenAIError) -> String {
        switch message["content"] {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            var texts: [String] = []
            for (partIndex, part) in parts.enumerated() {
                switch part["type"]?.stringValue {
                case "text":
                    texts.append(part["text"]?.stringValue ?? "")
                default:
                    throw .invalidRequest(
                        "Flowith accepts text only; messages[\(index)].content[\(partIndex)] is "
                            + "'\(part["type"]?.stringValue ?? "unknown")'. Send text, or use a provider with vision.",
                        param: "messages[\(index)].content[\(partIndex)]", code: "unsupported_content")
                }
            }
            return texts.joined(separator: "\n")
        default:
            return ""
        }
    }
}
