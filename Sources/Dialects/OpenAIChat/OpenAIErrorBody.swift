import OpenAIWire

extension GatewayError {
    /// The OpenAI error shape (docs/protocols/openai-chat.md): `{"error":{"message","type","param","code"}}`.
    package var openAIJSON: JSON {
        [
            "error": [
                "message": .string(message),
                "type": .string(type),
                "param": param.map(JSON.string) ?? .null,
                "code": code.map(JSON.string) ?? .null,
            ]
        ]
    }
}
