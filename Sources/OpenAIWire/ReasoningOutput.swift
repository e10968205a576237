/// What happens to upstream `reasoning_content` (docs/protocols/openai-chat.md "Reasoning").
package enum ReasoningOutput: String, Sendable, CaseIterable {
    /// Kept as `reasoning_content` (default).
    case passthrough
    /// Moved into `content` inside `<think>…</think>` for clients that read only `content`.
    case inline
    /// Removed.
    case drop
}
