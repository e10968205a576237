import OpenAIWire

/// The canonical chat request every dialect decodes into and every provider consumes
/// (docs/architecture.md, "The canonical chat"): typed messages and parts, tools, the tool
/// choice, sampling, the reasoning switch and stop sequences. `openAIBody` is the same chat in
/// the OpenAI chat format, which OpenAI-format upstreams are sent: the client's own body
/// when it spoke that dialect (so every field it sent, vendor ones included, passes through
/// unchanged), else rendered from the typed fields.
package struct ChatRequest: Sendable {
    /// The model id exactly as the client asked for it (echoed back in answers).
    package let model: String
    package let messages: [ChatMessage]
    package let tools: [ToolDefinition]
    package let toolChoice: ToolChoice?
    /// False: at most one tool call per answer.
    package let parallelToolCalls: Bool?
    package let sampling: Sampling
    package let reasoning: ReasoningSwitch?
    package let stream: Bool
    /// The client wants the usage at the end of a stream.
    package let includeUsage: Bool
    /// How many answers the client wants (`n`).
    package let choiceCount: Int
    /// The end user, for the upstream's abuse tracking.
    package let user: String?
    /// OpenAI's `response_format` (`json_object`, `json_schema`), as the chat API takes it.
    package let responseFormat: JSON?
    /// What keeps a conversation on one account (docs/architecture.md, "Account pools"): the
    /// client's session header when it sent one, else `prompt_cache_key` or the user.
    package var session: String?
    package let openAIBody: JSONObject

    /// `openAIBody` nil: rendered from the typed fields (dialects other than OpenAI chat).
    package init(
        model: String, messages: [ChatMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil,
        parallelToolCalls: Bool? = nil, sampling: Sampling = Sampling(), reasoning: ReasoningSwitch? = nil,
        stream: Bool = false, includeUsage: Bool = false, choiceCount: Int = 1, user: String? = nil,
        responseFormat: JSON? = nil, session: String? = nil, openAIBody: JSONObject? = nil
    ) {
        self.responseFormat = responseFormat
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.sampling = sampling
        self.reasoning = reasoning
        self.stream = stream
        self.includeUsage = includeUsage
        self.choiceCount = choiceCount
        self.user = user
        self.session = session ?? user
        self.openAIBody = openAIBody ?? OpenAIChatBody.render(
            model: model, messages: messages, tools: tools, toolChoice: toolChoice, parallelToolCalls: parallelToolCalls,
            sampling: sampling, reasoning: reasoning, stream: stream, includeUsage: includeUsage,
            choiceCount: choiceCount, user: user, responseFormat: responseFormat)
    }

    /// What the usage estimate counts when the upstream reports none (docs/configuration.md,
    /// "Usage"): message texts, tool-call arguments and the tools' definitions, as sent.
    package var promptCharacters: Int { Usage.promptCharacters(openAIBody) }
}

package struct ChatMessage: Sendable, Equatable {
    package enum Role: String, Sendable {
        case system, developer, user, assistant, tool
    }

    package var role: Role
    package var content: [ContentPart]
    /// The tool calls an assistant turn made.
    package var toolCalls: [ToolCall]
    /// The call a tool turn answers.
    package var toolCallID: String?
    /// An assistant turn's reasoning, kept in the history.
    package var reasoning: String?

    package init(
        role: Role, content: [ContentPart], toolCalls: [ToolCall] = [], toolCallID: String? = nil,
        reasoning: String? = nil
    ) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.reasoning = reasoning
    }

    /// The text parts joined (what text-only upstreams take).
    package var text: String {
        content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }
}

package enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An `http(s):` or `data:` URL.
    case image(url: String)
    /// A part only some upstreams take (audio, files), by its OpenAI type; it travels in `openAIBody`.
    case other(type: String)
}

package struct ToolCall: Sendable, Equatable {
    package var id: String
    package var name: String
    /// JSON text, as the model wrote it.
    package var arguments: String

    package init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

package struct ToolDefinition: Sendable, Equatable {
    package var name: String
    package var description: String?
    /// The arguments' JSON Schema.
    package var parameters: JSON?

    package init(name: String, description: String? = nil, parameters: JSON? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// As an OpenAI function tool.
    package var openAI: JSON {
        var function: JSONObject = ["name": .string(name)]
        if let description { function["description"] = .string(description) }
        if let parameters { function["parameters"] = parameters }
        return ["type": "function", "function": .object(function)]
    }
}

package enum ToolChoice: Sendable, Equatable {
    case auto, none, required
    case function(String)
}

package struct Sampling: Sendable, Equatable {
    package var temperature: Double?
    package var topP: Double?
    package var topK: Int?
    package var maxTokens: Int?
    package var stop: [String]

    package init(
        temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, maxTokens: Int? = nil, stop: [String] = []
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.stop = stop
    }
}

/// The thinking switch each provider turns into its own (iFlow's per-model fields).
package enum ReasoningSwitch: Sendable, Equatable {
    case off
    /// On, with an effort: `low`, `medium` or `high`.
    case on(effort: String)
}
