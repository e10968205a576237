import ChatCore
import OpenAIWire

/// docs/protocols/flowith.md: OpenAI messages in the two roles Flowith knows. Nothing is dropped:
/// system/developer text becomes a leading user turn, tool calls and tool results
/// become plain text turns, text parts are joined; images are refused.
package enum FlowithTranslation {
    package static func messages(_ request: ChatRequest) throws(GatewayError) -> [JSON] {
        var instructions: [String] = []
        var turns: [JSON] = []
        for (index, message) in request.messages.enumerated() {
            let text = try self.text(of: message, at: index)
            switch message.role {
            case .system, .developer:
                if !text.isEmpty { instructions.append(text) }
            case .assistant:
                var parts = text.isEmpty ? [] : [text]
                for call in message.toolCalls {
                    let name = call.name.isEmpty ? "tool" : call.name
                    let id = call.id.isEmpty ? "" : " (\(call.id))"
                    parts.append("[called tool \(name)\(id) with arguments: \(call.arguments)]")
                }
                turns.append(["role": "assistant", "content": .string(parts.joined(separator: "\n"))])
            case .tool:
                let id = message.toolCallID ?? "tool"
                turns.append(["role": "user", "content": .string("[result of tool call \(id)]: \(text)")])
            case .user:
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

    private static func text(of message: ChatMessage, at index: Int) throws(GatewayError) -> String {
        for (partIndex, part) in message.content.enumerated() {
            let kind: String
            switch part {
            case .text: continue
            case .image: kind = "image_url"
            case .other(let type): kind = type
            }
            throw .invalidRequest(
                "Flowith accepts text only; messages[\(index)].content[\(partIndex)] is '\(kind)'. "
                    + "Send text, or use a provider with vision.",
                param: "messages[\(index)].content[\(partIndex)]", code: "unsupported_content")
        }
        return message.text
    }
}
