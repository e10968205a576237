/// Token accounting in the OpenAI shape: integers that add up.
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int64
    public var completionTokens: Int64

    public init(promptTokens: Int64, completionTokens: Int64) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public var totalTokens: Int64 { promptTokens + completionTokens }

    public static let zero = Usage(promptTokens: 0, completionTokens: 0)

    /// Keeps the upstream's extra detail fields, makes the three counters present and consistent.
    public static func normalize(_ usage: JSONObject?) -> JSONObject {
        var result = usage ?? [:]
        let prompt = result["prompt_tokens"]?.intValue ?? 0
        let completion = result["completion_tokens"]?.intValue ?? 0
        result["prompt_tokens"] = .int(prompt)
        result["completion_tokens"] = .int(completion)
        result["total_tokens"] = .int(result["total_tokens"]?.intValue ?? (prompt + completion))
        return result
    }

    public var json: JSONObject {
        ["prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens), "total_tokens": .int(totalTokens)]
    }
}
