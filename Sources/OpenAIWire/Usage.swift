/// Token accounting in the OpenAI shape: integers that add up.
package enum Usage {
    /// Keeps the upstream's extra detail fields, makes the three counters present and consistent.
    package static func normalize(_ usage: JSONObject?) -> JSONObject {
        var result = usage ?? [:]
        let prompt = result["prompt_tokens"]?.intValue ?? 0
        let completion = result["completion_tokens"]?.intValue ?? 0
        result["prompt_tokens"] = .int(prompt)
        result["completion_tokens"] = .int(completion)
        result["total_tokens"] = .int(result["total_tokens"]?.intValue ?? (prompt + completion))
        return result
    }

    /// When an upstream reports no usage: characters / 4, rounded up, in whole tokens that
    /// add up (docs/configuration.md, "Usage"). Never an invented zero.
    package static func estimate(promptCharacters: Int, completionCharacters: Int) -> JSONObject {
        let prompt = Int64((promptCharacters + 3) / 4)
        let completion = Int64((completionCharacters + 3) / 4)
        return [
            "prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion),
        ]
    }

    /// The characters (Unicode scalars, which a stream's bytes are counted in too) of an answer's
    /// message or stream delta: text, reasoning, tool arguments.
    package static func completionCharacters(_ message: JSONObject) -> Int {
        var count = (message["content"]?.stringValue?.unicodeScalars.count ?? 0)
            + (message["reasoning_content"]?.stringValue?.unicodeScalars.count ?? 0)
        for call in message["tool_calls"]?.arrayValue ?? [] {
            count += call["function"]?["arguments"]?.stringValue?.unicodeScalars.count ?? 0
        }
        return count
    }

    /// The characters of what a chat sends: message texts (string or text parts), tool-call
    /// arguments, and tool definitions.
    package static func promptCharacters(_ body: JSONObject) -> Int {
        var count = 0
        for message in body["messages"]?.arrayValue ?? [] {
            switch message["content"] {
            case .string(let text)?: count += text.count
            case .array(let parts)?: for part in parts { count += part["text"]?.stringValue?.count ?? 0 }
            default: break
            }
            for call in message["tool_calls"]?.arrayValue ?? [] {
                count += call["function"]?["arguments"]?.stringValue?.count ?? 0
            }
        }
        if let tools = body["tools"], tools != .array([]) { count += JSONCoding.string(tools).count }
        return count
    }
}
