import OpenAIWire

/// One decoded piece of an upstream stream (docs/architecture.md, "The canonical chat").
package enum StreamItem: Sendable, Equatable {
    /// A chunk in the OpenAI chat format, from upstreams that speak it: kept whole, so
    /// fields only the OpenAI dialect knows (logprobs, system_fingerprint, more choices) pass through.
    case chunk(JSONObject)
    /// A chunk of the common text-only shape, kept as the upstream's bytes: dialects that can
    /// forward its text as written skip building the JSON tree (docs/architecture.md, "The canonical chat").
    case textDelta(TextDeltaChunk)
    /// Canonical events, from upstreams with a format of their own (Flowith's raw text).
    case events([ChatEvent])
    /// The upstream said it finished properly (`[DONE]`).
    case done
}
