import Foundation

/// docs/protocols/flowith.md: the original converter's 17 entries, as JSON text compiled into
/// the binary; the same shape as a user's `FLOWITH_MODELS` file.
/// `Resources/flowith-models.json` is checked against it by a test.
enum FlowithShippedModels {
    static let json = #"""
        {
          "deepseek-chat": "deepseek-chat",
          "deepseek-reasoner": "deepseek-reasoner",
          "claude-4-opus": "claude-4-opus",
          "claude-4-sonnet": "claude-4-sonnet",
          "claude-3.5-haiku": "claude-3.5-haiku",
          "claude-3.5-sonnet": "claude-3.5-sonnet",
          "claude-3.7-sonnet": "claude-3.7-sonnet",
          "gemini-2.5-flash": "gemini-2.5-flash",
          "gemini-2.5-pro-exp": "gemini-2.5-pro-exp",
          "gemini-2.0-flash": "gemini-2.0-flash",
          "gpt-4.1": "gpt-4.1",
          "gpt-4.1-mini": "gpt-4.1-mini",
          "o3": "o3",
          "o4-mini": "o4-mini",
          "grok-3": "grok-3",
          "grok-3-mini": "grok-3-mini",
          "glm-4-plus": "glm-4-plus"
        }
        """#

    static let mapping: [(String, String)] = {
        guard let mapping = try? ModelMapping.parse(Data(json.utf8), origin: "the shipped Flowith mapping") else {
            fatalError("flowgate's shipped Flowith mapping is not valid JSON")  // caught by the tests
        }
        return mapping
    }()
}
