/// The shipped model lists, as JSON text compiled into the binary so that a copied
/// release binary needs no resource bundle beside it. The same JSON shapes are what
/// users put in their own files (IFLOW_MODELS, FLOWITH_MODELS); the copies in
/// `Resources/` are checked against these by a test so they cannot drift.
enum ShippedModels {
    static let iflow = #"""
        {
          "default": "glm-4.7",
          "models": [
            "glm-4.7",
            "glm-5",
            "iFlow-ROME-30BA3B",
            "deepseek-v3.2-chat",
            "qwen3-coder-plus",
            "kimi-k2-thinking",
            "kimi-k2.5",
            "kimi-k2-0905",
            "minimax-m2.5",
            "glm-4.6",
            "kimi-k2",
            "qwen3-vl-plus"
          ]
        }
        """#

    static let flowith = #"""
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
}
