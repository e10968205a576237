extension IFlowModelList {
    /// The shipped iFlow model list, as JSON text compiled into the binary so that a copied
    /// release binary needs no resource bundle beside it; the same shape as a user's
    /// `IFLOW_MODELS` file. `Resources/iflow-models.json` is checked against it by a test.
    static let shippedJSON = #"""
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
}
