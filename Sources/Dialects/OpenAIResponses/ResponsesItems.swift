import ChatCore
import OpenAIWire

/// Reads Responses items (docs/protocols/openai-responses.md, "Input items") into chat turns:
/// messages as they are, a `function_call` joined to the assistant turn before it (chat upstreams
/// want the calls on that turn, the outputs after it), a `function_call_output` as a tool turn,
/// and a `reasoning` item kept as the next assistant turn's reasoning.
struct ResponsesItems {
    private var turns: [ChatMessage] = []
    private var reasoning: String?
    /// The last turn is an assistant turn that later calls may still join.
    private var assistantOpen = false

    mutating func read(_ item: JSON, param: String) throws(GatewayError) {
        guard case .object(let object) = item else {
            throw .invalidRequest("\(param): must be an item object.", param: param)
        }
        let type = object["type"]?.stringValue ?? (object["role"] != nil ? "message" : "")
        switch type {
        case "message":
            try message(object, param: param)
        case "function_call":
            guard let id = object["call_id"]?.stringValue, let name = object["name"]?.stringValue else {
                throw .invalidRequest("\(param): a function_call needs 'call_id' and 'name'.", param: param)
            }
            let call = ToolCall(id: id, name: name, arguments: object["arguments"]?.stringValue ?? "{}")
            if assistantOpen {
                turns[turns.count - 1].toolCalls.append(call)
            } else {
                turns.append(ChatMessage(role: .assistant, content: [], toolCalls: [call], reasoning: takeReasoning()))
                assistantOpen = true
            }
        case "function_call_output":
            guard let id = object["call_id"]?.stringValue else {
                throw .invalidRequest("\(param).call_id: Field required.", param: param)
            }
            let output: String
            switch object["output"] {
            case .string(let text)?: output = text
            case .array(let parts)?: output = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            default: throw .invalidRequest("\(param).output: must be a string or content parts.", param: param)
            }
            turns.append(ChatMessage(role: .tool, content: [.text(output)], toolCallID: id))
            assistantOpen = false
        case "reasoning":
            let texts = (object["summary"]?.arrayValue ?? []) + (object["content"]?.arrayValue ?? [])
            let text = texts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            if !text.isEmpty { reasoning = (reasoning.map { $0 + "\n" } ?? "") + text }
        default:
            throw .invalidRequest(
                "\(param).type: items of type '\(type)' are not supported here (message, function_call, function_call_output and reasoning are).",
                param: param)
        }
    }

    /// The turns read; reasoning with no assistant turn after it is dropped (it answers nothing).
    func messages() -> [ChatMessage] { turns }

    private mutating func takeReasoning() -> String? {
        defer { reasoning = nil }
        return reasoning
    }

    private mutating func message(_ object: JSONObject, param: String) throws(GatewayError) {
        let role: ChatMessage.Role
        switch object["role"]?.stringValue {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system": role = .system
        case "developer": role = .developer
        default:
            throw .invalidRequest("\(param).role: must be user, assistant, system or developer.", param: "\(param).role")
        }
        var parts: [ContentPart] = []
        switch object["content"] {
        case .string(let text)?: parts = [.text(text)]
        case .array(let items)?:
            for (position, part) in items.enumerated() {
                let where_ = "\(param).content.\(position)"
                switch part["type"]?.stringValue {
                case "input_text", "output_text", "text":
                    parts.append(.text(part["text"]?.stringValue ?? ""))
                case "refusal":
                    parts.append(.text(part["refusal"]?.stringValue ?? ""))
                case "input_image":
                    guard let url = part["image_url"]?.stringValue else {
                        throw .invalidRequest(
                            "\(where_): input_image needs an 'image_url' (an http(s) or data: URL); file ids are not served.",
                            param: where_)
                    }
                    parts.append(.image(url: url))
                default:
                    throw .invalidRequest(
                        "\(where_).type: content of type '\(part["type"]?.stringValue ?? "?")' is not supported here.",
                        param: where_)
                }
            }
        default:
            throw .invalidRequest("\(param).content: must be a string or an array of parts.", param: "\(param).content")
        }
        if role == .assistant {
            turns.append(ChatMessage(role: .assistant, content: parts, reasoning: takeReasoning()))
            assistantOpen = true
        } else {
            turns.append(ChatMessage(role: role, content: parts))
            assistantOpen = false
        }
    }
}
