import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire

@Suite struct ChatCompletionNormalizerTests {
    @Test func fillsEveryFieldClientsRead() throws {
        let result = try ChatCompletionNormalizer.normalize(
            ["choices": [["message": ["content": "hi"]]]], model: "iflow/glm-4.7", reasoning: .passthrough, now: 42)
        #expect(result["object"] == "chat.completion")
        #expect(result["model"] == "iflow/glm-4.7")
        #expect(result["created"] == 42)
        #expect(result["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
        let choice = result["choices"]?.arrayValue?.first
        #expect(choice?["index"] == 0)
        #expect(choice?["finish_reason"] == "stop")
        #expect(choice?["logprobs"] == .null)
        #expect(choice?["message"]?["role"] == "assistant")
        // No usage from the upstream: estimated ("hi": 2 characters, 1 token), never an invented zero.
        #expect(result["usage"] == ["prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1])
    }

    @Test func noChoicesIsAnInvalidUpstreamResponse() {
        #expect(
            throws: GatewayError.upstreamFailed(
                "Invalid upstream response: it has no choices.", code: "invalid_upstream_response")
        ) {
            try ChatCompletionNormalizer.normalize(["id": "x"], model: "m", reasoning: .passthrough, now: 0)
        }
    }

    @Test func reasoningModes() throws {
        let upstream: JSONObject = [
            "choices": [["message": ["content": "A", "reasoning_content": "R"], "finish_reason": "stop"]]
        ]
        func message(_ mode: ReasoningOutput) throws -> JSON? {
            try ChatCompletionNormalizer.normalize(upstream, model: "m", reasoning: mode, now: 0)["choices"]?
                .arrayValue?[0]["message"]
        }
        #expect(try message(.passthrough)?["reasoning_content"] == "R")
        #expect(try message(.inline) == ["role": "assistant", "content": "<think>R</think>A"])
        #expect(try message(.drop) == ["role": "assistant", "content": "A"])
    }

    @Test func toolCallsFinishWithToolCalls() throws {
        let result = try ChatCompletionNormalizer.normalize(
            [
                "choices": [
                    [
                        "message": [
                            "tool_calls": [
                                ["id": "c", "type": "function", "function": ["name": "f", "arguments": "{}"]]
                            ]
                        ]
                    ]
                ]
            ],
            model: "m", reasoning: .passthrough, now: 0)
        #expect(result["choices"]?.arrayValue?[0]["finish_reason"] == "tool_calls")
        #expect(result["choices"]?.arrayValue?[0]["message"]?["content"] == .null)
    }
}
