/// Token accounting in the OpenAI shape: integers that add up.
public enum Usage {
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
}
