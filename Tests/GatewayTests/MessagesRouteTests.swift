import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
import Testing

@testable import Gateway
@testable import OpenAIWire

/// The Messages dialect at the HTTP edge: every bad input is an Anthropic-shaped error with
/// the right status (docs/protocols/anthropic-messages.md, "Errors").
@Suite struct MessagesRouteTests {
    func anthropicError(_ response: TestResponse) -> String? {
        guard let json = response.json, json["type"] == "error" else { return nil }
        return json["error"]?["type"]?.stringValue
    }

    func post(_ gateway: any TestClientProtocol, _ body: String, path: String = "/v1/messages", headers: HTTPFields = [:])
        async throws -> TestResponse
    {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return try await gateway.execute(uri: path, method: .post, headers: fields, body: ByteBuffer(string: body))
    }

    @Test func badInputIsAnAnthropicErrorWithItsStatus() async throws {
        try await GatewayHarness(configure: { $0.bodyLimit = 4096 }).run { gateway, _ in
            for body in [
                "", "{not json", "[1,2]", #"{"model":"glm-4.7","messages":[{"role":"user","content":"hi"}]}"#,
                #"{"model":"glm-4.7","max_tokens":"many","messages":[{"role":"user","content":"hi"}]}"#,
                #"{"model":"glm-4.7","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document"}]}]}"#,
                #"{"model":"glm-4.7","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool"},"tools":[{"name":"f","input_schema":{}}]}"#,
            ] {
                let response = try await post(gateway, body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(anthropicError(response) == "invalid_request_error", "\(body)")
            }
            let huge = #"{"model":"glm-4.7","max_tokens":5,"messages":[{"role":"user","content":""#
                + String(repeating: "x", count: 8192) + #""}]}"#
            let tooLarge = try await post(gateway, huge)
            #expect(tooLarge.status == .contentTooLarge && anthropicError(tooLarge) == "request_too_large")
            let unknown = try await post(gateway, #"{"model":"claude-nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(unknown.status == .notFound && anthropicError(unknown) == "not_found_error")
            let wrongMethod = try await gateway.execute(uri: "/v1/messages", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed && anthropicError(wrongMethod) == "invalid_request_error")
            #expect(wrongMethod.headers[.allow] == "POST")
            // The request id Anthropic clients read, on errors too.
            #expect(wrongMethod.headers[HTTPField.Name("request-id")!] != nil)
            // The OpenAI routes keep their own shape.
            let openAI = try await gateway.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{"))
            #expect(openAI.json?["error"]?["code"] == "invalid_json")
        }
    }

    @Test func clientKeysFromEitherHeaderAndAnAnthropic401() async throws {
        try await GatewayHarness(configure: { $0.clientKeys = ["sk-client"] }).run { gateway, _ in
            let body = #"{"model":"glm-4.7","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await post(gateway, body, headers: [HTTPField.Name("x-api-key")!: "sk-client"]).status == .ok)
            #expect(try await post(gateway, body, headers: [.authorization: "Bearer sk-client"]).status == .ok)
            let refused = try await post(gateway, body, headers: [HTTPField.Name("x-api-key")!: "sk-wrong"])
            #expect(refused.status == .unauthorized && anthropicError(refused) == "authentication_error")
            let counted = try await post(gateway, body, path: "/v1/messages/count_tokens")
            #expect(counted.status == .unauthorized && anthropicError(counted) == "authentication_error")
        }
    }

    @Test func countTokensNeverCallsTheUpstream() async throws {
        let mock = MockIFlow()
        try await GatewayHarness(mock: mock).run { gateway, _ in
            let response = try await post(
                gateway, #"{"model":"claude-anything","system":"be brief","messages":[{"role":"user","content":"hello world"}]}"#,
                path: "/messages/count_tokens")
            #expect(response.status == .ok)
            // "be brief" and "hello world": 19 characters, over 4, rounded up.
            #expect(response.json == ["input_tokens": 5])
            #expect(mock.requests.isEmpty)
        }
    }

    @Test func nothingAfterTheUpstreamsEndIsForwardedInEitherDialect() async throws {
        try await GatewayHarness().run { gateway, _ in
            let messages = try await post(
                gateway, #"{"model":"glm-4.7","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"scenario:after-done"}]}"#)
            let chat = try await gateway.chat(
                ["model": "glm-4.7", "stream": true, "messages": [["role": "user", "content": "scenario:after-done"]]])
            for response in [messages, chat] {
                let text = String(buffer: response.body)
                #expect(text.contains("mock") && !text.contains("after the end"))
            }
        }
    }

    @Test func pingsWhileTheUpstreamIsSilent() async throws {
        try await GatewayHarness(configure: { $0.keepAliveInterval = .milliseconds(50) }).run { gateway, _ in
            let response = try await post(
                gateway, #"{"model":"glm-4.7","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"scenario:silence:300"}]}"#)
            let text = String(buffer: response.body)
            #expect(text.contains("event: ping\ndata: {\"type\": \"ping\"}\n\n"))
            #expect(!text.contains(": keep-alive"))
            #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
        }
    }
}
