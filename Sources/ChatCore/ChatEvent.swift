import OpenAIWire

/// What a provider's answer is made of, whatever the upstream's wire format and whatever
/// dialect the client speaks (docs/architecture.md, "The canonical chat"). Dialects encode
/// these events; they never see an upstream's format.
package enum ChatEvent: Sendable, Equatable {
    /// A piece of the answer's text.
    case text(String)
    /// A piece of the model's reasoning (shown as thinking where the dialect has it).
    case reasoning(String)
    /// A tool call's first fragment, or a later one that brings its id or name late.
    /// `index` numbers the calls of one answer from 0.
    case toolCall(index: Int, id: String?, name: String?)
    /// More of a tool call's arguments (a piece of JSON text).
    case toolArguments(index: Int, String)
    /// The upstream said why it stopped; `matchedStop` is the stop sequence it hit, where it says.
    case finish(FinishReason, matchedStop: String?)
    /// The upstream's token counts.
    case usage(TokenUsage)
}

/// Why an answer ended, in the canonical terms every dialect maps from.
package enum FinishReason: String, Sendable, Equatable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"

    /// Upstreams' own words for the same reasons; anything unknown is a normal stop.
    package init(upstream: String) {
        switch upstream {
        case "length", "max_tokens": self = .length
        case "tool_calls", "function_call", "tool_use": self = .toolCalls
        case "content_filter", "sensitive": self = .contentFilter
        default: self = .stop
        }
    }
}

package struct TokenUsage: Sendable, Equatable {
    package var input: Int
    package var output: Int
    /// Of `output`, the reasoning (OpenAI's `completion_tokens_details.reasoning_tokens`).
    package var reasoning: Int
    /// Of `input`, read from the upstream's cache (`prompt_tokens_details.cached_tokens`).
    package var cached: Int

    package init(input: Int, output: Int, reasoning: Int = 0, cached: Int = 0) {
        self.input = input
        self.output = output
        self.reasoning = reasoning
        self.cached = cached
    }

    /// The estimate used wherever an upstream counts nothing (docs/configuration.md, "Usage").
    package static func estimate(promptCharacters: Int, completionCharacters: Int) -> TokenUsage {
        TokenUsage(input: (promptCharacters + 3) / 4, output: (completionCharacters + 3) / 4)
    }
}

extension TokenUsage {
    /// In OpenAI's field names, which the access log and the OpenAI dialect use.
    package var openAIFields: JSONObject {
        var fields: JSONObject = [
            "prompt_tokens": .int(Int64(input)), "completion_tokens": .int(Int64(output)),
            "total_tokens": .int(Int64(input + output)),
        ]
        if cached > 0 { fields["prompt_tokens_details"] = ["cached_tokens": .int(Int64(cached))] }
        if reasoning > 0 { fields["completion_tokens_details"] = ["reasoning_tokens": .int(Int64(reasoning))] }
        return fields
    }
}
