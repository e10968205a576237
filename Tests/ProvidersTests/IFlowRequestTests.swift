import Foundation
import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire
@testable import Providers

@Suite struct IFlowRequestTests {
    static let session = IFlowRequest.Session(
        sessionID: "session-11111111-2222-4333-8444-555555555555",
        conversationID: "c0ffee00-0000-4000-8000-000000000000")

    func chat(_ extra: JSONObject = [:], model: String = "glm-4.7", stream: Bool = false) throws -> ChatRequest {
        var body: JSONObject = ["model": .string(model), "messages": [["role": "user", "content": "hi"]]]
        if stream { body["stream"] = true }
        for (k, v) in extra { body[k] = v }
        return try ChatRequest(openAI: .object(body))
    }

    func build(_ extra: JSONObject = [:], model: String, stream: Bool = false) throws -> JSONObject {
        try IFlowRequest(
            chat: chat(extra, model: model, stream: stream), upstreamModel: model, baseURL: "http://up/v1", apiKey: "k",
            session: Self.session, timestampMs: 1
        ).body
    }

    @Test func signatureMatchesAKnownVector() {
        // Computed independently: python3 hmac.new(b'sk-test-123', b'iFlow-Cli:<session>:1700000000000', sha256)
        #expect(
            IFlowSignature.sign(
                apiKey: "sk-test-123", sessionID: Self.session.sessionID, timestampMs: 1_700_000_000_000)
                == "f357dc8ae9c61e737fb369364acd40ed5e991c0b145045fa7f966f37d80e3a6a")
    }

    @Test func aKeyedSignatureSignsEveryMessageLikeAFreshOne() {
        let keyed = IFlowSignature(apiKey: "sk-test-123")
        for timestamp: Int64 in [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_000] {
            #expect(
                keyed.sign(sessionID: Self.session.sessionID, timestampMs: timestamp)
                    == IFlowSignature.sign(
                        apiKey: "sk-test-123", sessionID: Self.session.sessionID, timestampMs: timestamp))
        }
        #expect(
            keyed.sign(sessionID: Self.session.sessionID, timestampMs: 1_700_000_000_000)
                == "f357dc8ae9c61e737fb369364acd40ed5e991c0b145045fa7f966f37d80e3a6a")
    }

    @Test func headersInTheCLIsOrder() throws {
        let request = try IFlowRequest(
            chat: chat(stream: true), upstreamModel: "glm-4.7", baseURL: "https://apis.iflow.cn/v1/",
            apiKey: "sk-test-123",
            session: Self.session, timestampMs: 1_700_000_000_000)
        #expect(request.url == "https://apis.iflow.cn/v1/chat/completions")
        #expect(
            request.headers.map(\.0) == [
                "Content-Type", "Authorization", "user-agent", "session-id", "conversation-id", "x-iflow-signature",
                "x-iflow-timestamp", "Accept",
            ])
        let headers = Dictionary(uniqueKeysWithValues: request.headers)
        #expect(headers["Authorization"] == "Bearer sk-test-123")
        #expect(headers["user-agent"] == "iFlow-Cli")
        #expect(headers["x-iflow-timestamp"] == "1700000000000")
        #expect(headers["x-iflow-signature"] == "f357dc8ae9c61e737fb369364acd40ed5e991c0b145045fa7f966f37d80e3a6a")
        #expect(headers["Accept"] == "text/event-stream")
    }

    @Test func noSignatureWithAnEmptyKey() throws {
        let request = try IFlowRequest(
            chat: chat(), upstreamModel: "glm-4.7", baseURL: "http://up", apiKey: "", session: Self.session,
            timestampMs: 1)
        #expect(!request.headers.map(\.0).contains("x-iflow-signature"))
        #expect(request.headers.first { $0.0 == "Accept" }?.1 == "application/json")
    }

    @Test func streamingAlwaysAsksForUsageAndPlainRequestsSendNoStreamKey() throws {
        let streaming = try build(["stream_options": ["include_usage": false]], model: "qwen3-coder-plus", stream: true)
        #expect(streaming["stream"] == true)
        #expect(streaming["stream_options"] == ["include_usage": true])
        let plain = try build(["stream": false], model: "qwen3-coder-plus")
        #expect(plain["stream"] == nil)
        #expect(plain["stream_options"] == nil)
    }

    @Test func emptyToolsRemovedAndNewTokenLimitTranslated() throws {
        let body = try build(["tools": [], "max_completion_tokens": 99, "x_vendor": 1], model: "qwen3-coder-plus")
        #expect(body["tools"] == nil)
        #expect(body["max_tokens"] == 99)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["x_vendor"] == 1)
    }

    @Test func glm46IsSentAsExp() throws {
        let body = try build(model: "glm-4.6")
        #expect(body["model"] == "glm-4.6-exp")
        #expect(body["chat_template_kwargs"] == ["enable_thinking": true])
    }

    @Test func glm47ThinkingAndSampling() throws {
        let body = try build(model: "glm-4.7")
        #expect(body["chat_template_kwargs"] == ["enable_thinking": true])
        #expect(body["temperature"] == 1.0)
        #expect(body["top_p"] == 0.95)
    }

    @Test func clientValuesWin() throws {
        let body = try build(["temperature": 0.2, "chat_template_kwargs": ["foo": 1]], model: "glm-4.7")
        #expect(body["temperature"] == 0.2)
        #expect(body["chat_template_kwargs"] == ["foo": 1])
        #expect(body["top_p"] == 0.95)
    }

    @Test func glm5() throws {
        let body = try build(model: "glm-5")
        #expect(body["chat_template_kwargs"] == ["enable_thinking": true])
        #expect(body["enable_thinking"] == true)
        #expect(body["thinking"] == ["type": "enabled"])
        #expect(body["temperature"] == 1.0)
        #expect(body["top_p"] == 0.95)
    }

    @Test func otherGLM() throws {
        let body = try build(model: "glm-4.5-air")
        #expect(body["chat_template_kwargs"] == ["enable_thinking": true])
        #expect(body["temperature"] == nil)
    }

    @Test func deepseek() throws {
        let body = try build(model: "deepseek-v3.2-chat")
        #expect(body["thinking_mode"] == true)
        #expect(body["reasoning"] == true)
    }

    @Test func kimiK25() throws {
        let body = try build(model: "kimi-k2.5")
        #expect(body["thinking"] == ["type": "enabled"])
        #expect(body["top_p"] == 0.95)
        #expect(body["n"] == 1)
        #expect(body["presence_penalty"] == 0)
        #expect(body["frequency_penalty"] == 0)
        #expect(body["temperature"] == nil)
        let tools: JSON = [["type": "function", "function": ["name": "f"]]]
        #expect(throws: GatewayError.self) {
            try build(["tools": tools, "tool_choice": "required"], model: "kimi-k2.5")
        }
        #expect(try build(["tools": tools, "tool_choice": "auto"], model: "kimi-k2.5")["tool_choice"] == "auto")
    }

    @Test func thinkingAndReasoningNames() throws {
        #expect(try build(model: "kimi-k2-thinking")["thinking_mode"] == true)
        #expect(try build(model: "some-reasoning-model")["reasoning"] == true)
        #expect(try build(model: "mimo-v2")["thinking"] == ["type": "enabled"])
    }

    @Test func rome() throws {
        let body = try build(model: "iFlow-ROME-30BA3B")
        #expect(body["temperature"] == 0.7)
        #expect(body["top_p"] == 0.8)
        #expect(body["top_k"] == 20)
    }

    @Test func qwenSmallModelsGetNoThinkingFields() throws {
        let body = try build(model: "qwen3-thinking-4b")
        #expect(body["thinking_mode"] == nil)
        #expect(body["reasoning"] == nil)
        #expect(body["chat_template_kwargs"] == nil)
    }

    @Test func clientTurnsThinkingOff() throws {
        let viaEffort = try build(["reasoning_effort": "none"], model: "glm-5")
        #expect(viaEffort["chat_template_kwargs"] == ["enable_thinking": false])
        #expect(viaEffort["enable_thinking"] == false)
        #expect(viaEffort["thinking"] == ["type": "disabled"])
        #expect(viaEffort["reasoning_effort"] == nil)
        let viaThinking = try build(["thinking": ["type": "disabled"]], model: "glm-4.7")
        #expect(viaThinking["chat_template_kwargs"] == ["enable_thinking": false])
        let deepseek = try build(["reasoning_effort": "none"], model: "deepseek-v3.2-chat")
        #expect(deepseek["thinking_mode"] == nil)
    }
}
