import Foundation
import Hummingbird
import HummingbirdTesting
import Mocks
import Testing

@testable import Gateway
@testable import OpenAIWire

@Suite struct ChatCompletionsTests {
    @Test func plainCompletionSignedAndShapedLikeTheCLI() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(request("hi", model: "glm-4.6", extra: ["x_vendor": "kept"]))
            #expect(response.status == .ok)
            let json = try #require(response.json)
            #expect(json["object"] == "chat.completion")
            #expect(json["model"] == "glm-4.6", "the id the client asked for")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from mock iFlow.")
            #expect(json["choices"]?.arrayValue?.first?["logprobs"] == .null)
            #expect(json["usage"]?["total_tokens"] == 9)

            let sent = try #require(harness.mock.requests.last)
            let ours = sent.headerNames.filter {
                [
                    "content-type", "authorization", "user-agent", "session-id", "conversation-id", "x-iflow-signature",
                    "x-iflow-timestamp", "accept",
                ].contains($0)
            }
            #expect(
                ours == [
                    "content-type", "authorization", "user-agent", "session-id", "conversation-id", "x-iflow-signature",
                    "x-iflow-timestamp", "accept",
                ])
            #expect(sent.headers["accept"] == "application/json")
            #expect(sent.headers["session-id"]?.hasPrefix("session-") == true)
            #expect(sent.body["model"] == "glm-4.6-exp")
            #expect(sent.body["stream"] == nil)
            #expect(sent.body["x_vendor"] == "kept")
        }
    }

    @Test func sessionAndConversationIdsStayTheSame() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            _ = try await gateway.chat(request("one"))
            _ = try await gateway.chat(request("two", stream: true))
            let sent = harness.mock.requests
            #expect(sent.count == 2)
            #expect(sent[0].headers["session-id"] == sent[1].headers["session-id"])
            #expect(sent[0].headers["conversation-id"] == sent[1].headers["conversation-id"])
            #expect(sent[0].headers["x-iflow-signature"] != nil)
        }
    }

    @Test func streamingFramingWithUsage() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(
                request("hi", model: "iflow/glm-4.7", stream: true, extra: ["stream_options": ["include_usage": true]]))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(response.headers[.init("X-Accel-Buffering")!] == "no")
            let events = response.events
            #expect(events.last! == nil)
            let chunks = events.compactMap { $0 }
            #expect(response.streamedContent == "Hello from mock")
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            #expect(chunks.allSatisfy { $0["model"] == "iflow/glm-4.7" })
            #expect(chunks.dropLast().allSatisfy { $0["usage"] == .null })
            #expect(chunks.last?["choices"] == [])
            #expect(chunks.last?["usage"]?["total_tokens"] == 9)
            let sent = try #require(harness.mock.requests.last)
            #expect(sent.headers["accept"] == "text/event-stream")
            #expect(sent.body["stream_options"] == ["include_usage": true])
        }
    }

    @Test func usageChunkRemovedWhenNotAsked() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("hi", stream: true))
            let chunks = response.events.compactMap { $0 }
            #expect(!chunks.isEmpty)
            #expect(chunks.allSatisfy { $0["usage"] == nil && $0["choices"] != [] })
        }
    }

    @Test func streamSplitIntoTinyWritesArrivesWhole() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:split", stream: true))
            #expect(response.streamedContent == "Hello from mock")
            #expect(response.events.last! == nil)
        }
    }

    @Test(arguments: ["tool", "tool-noindex"])
    func streamedToolCallsCarryIndex(scenario: String) async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:\(scenario)", stream: true))
            let calls = response.events.compactMap {
                $0?["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first
            }
            #expect(calls.count == 3)
            #expect(calls.allSatisfy { $0["index"] == 0 })
            #expect(calls[0]["id"] == "call_1")
            #expect(calls[0]["function"]?["name"] == "get_weather")
            #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == "{\"city\":\"Paris\"}")
            let finish = response.events.compactMap { $0?["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
            #expect(finish == ["tool_calls"])
        }
    }

    @Test func reasoningPassesThroughAndCanBeInlined() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:reasoning", stream: true))
            let thoughts = response.events.compactMap {
                $0?["choices"]?.arrayValue?.first?["delta"]?["reasoning_content"]?.stringValue
            }
            #expect(thoughts.joined() == "Let me think.")
            #expect(response.streamedContent == "42")
        }
        try await GatewayHarness(configure: { $0.reasoning = .inline }).run { gateway, _ in
            let response = try await gateway.chat(request("scenario:reasoning", stream: true))
            #expect(response.streamedContent == "<think>Let me think.</think>42")
            let plain = try await gateway.chat(request("scenario:reasoning"))
            #expect(
                plain.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "<think>Let me think.</think>42")
        }
    }

    @Test(arguments: [
        ("434", 503), ("439", 503), ("435", 400), ("449", 429), ("429", 429), ("8211", 429), ("511", 413), ("413", 413),
        ("514", 502),
    ])
    func businessErrorsBecomeRealStatuses(code: String, status: Int) async throws {
        try await GatewayHarness().run { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.chat(request("scenario:business:\(code)", stream: stream))
                #expect(response.status.code == status, "stream: \(stream)")
                let error = try #require(response.json?["error"]?.objectValue)
                #expect(Set(error.keys) == ["message", "type", "param", "code"])
                if status == 429 { #expect(response.headers[.retryAfter] != nil) }
                // docs/architecture.md, "Account pools": a rejected account is never the client's 401.
                if status == 503 { #expect(error["code"] == "no_usable_account") }
            }
            let inStream = try await gateway.chat(request("scenario:business-stream:\(code)", stream: true))
            #expect(inStream.status.code == status, "business error as the first SSE event")
        }
    }

    @Test func emptyStreamIsAnError() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:empty", stream: true))
            #expect(response.status == .badGateway)
            #expect(response.json?["error"]?["code"] == "empty_response")
        }
    }

    @Test func upstreamDropMidStreamIsAnErrorEventThenDone() async throws {
        try await GatewayHarness().run { gateway, _ in
            for scenario in ["drop", "midstream-error"] {
                let response = try await gateway.chat(request("scenario:\(scenario)", stream: true))
                #expect(response.status == .ok)
                let events = response.events
                #expect(events.count >= 3)
                #expect(events[events.count - 2]?["error"]?["message"] != nil, "\(scenario)")
                #expect(events.last! == nil)
            }
        }
    }

    @Test func answersWithoutChoicesAndHTTPFailures() async throws {
        try await GatewayHarness().run { gateway, _ in
            let noChoices = try await gateway.chat(request("scenario:nochoices"))
            #expect(noChoices.status == .badGateway)
            let failed = try await gateway.chat(request("scenario:http:500"))
            #expect(failed.status == .badGateway)
            let refused = try await gateway.chat(request("scenario:http:401"))
            #expect(refused.status == .serviceUnavailable, "the account's key, not the client's")
            #expect(refused.json?["error"]?["code"] == "no_usable_account")
        }
    }

    @Test func unreachableUpstreamIs502() async throws {
        try await GatewayHarness(configure: {
            $0.iflow.baseURL = "http://127.0.0.1:1/v1"
            $0.upstreamConnectTimeout = .milliseconds(500)
        }).run { gateway, _ in
            let response = try await gateway.chat(request("hi"))
            #expect(response.status == .badGateway)
            #expect(response.json?["error"]?["type"] == "upstream_error")
            #expect(response.json?["error"]?["message"]?.stringValue?.contains("iFlow") == true)
        }
    }

    @Test func upstreamThatNeverAnswersIs504() async throws {
        try await GatewayHarness(configure: { $0.upstreamHeadTimeout = .milliseconds(300) }).run { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.chat(request("scenario:hang:1500", stream: stream))
                #expect(response.status == .gatewayTimeout)
                #expect(response.json?["error"]?["code"] == "upstream_timeout")
            }
        }
    }

    @Test func keepAliveCommentsDuringUpstreamSilence() async throws {
        try await GatewayHarness(configure: { $0.keepAliveInterval = .milliseconds(300) }).run { gateway, _ in
            let response = try await gateway.chat(request("scenario:silence:1500", stream: true))
            let text = String(buffer: response.body)
            #expect(text.hasPrefix(": keep-alive\n\n"))
            #expect(text.components(separatedBy: ": keep-alive").count - 1 >= 2)
            #expect(response.streamedContent == "Hello from mock")
        }
    }

    @Test func keepAliveZeroMeansOff() async throws {
        try await GatewayHarness(configure: { $0.keepAliveInterval = nil }).run { gateway, _ in
            let response = try await gateway.chat(request("scenario:silence:700", stream: true))
            #expect(!String(buffer: response.body).contains("keep-alive"))
            #expect(response.streamedContent == "Hello from mock")
        }
    }

    @Test func expiredKeyIsReloadedAndRetriedOnce() async throws {
        let settings = NSTemporaryDirectory() + "flowgate-439-\(UUID().uuidString).json"
        try Data(#"{"apiKey":"sk-old"}"#.utf8).write(to: URL(fileURLWithPath: settings))
        let harness = GatewayHarness(mock: MockIFlow(expiredKeys: ["sk-old"])) { config in
            config.iflow.apiKey = nil
            config.iflow.settingsPath = settings
        }
        try await harness.run { gateway, _ in
            let expired = try await gateway.chat(request("hi"))
            #expect(expired.status == .serviceUnavailable)
            #expect(expired.json?["error"]?["code"] == "no_usable_account")
            #expect(expired.json?["error"]?["message"]?.stringValue?.contains("expired") == true)
            // Another tool (the CLI, a sign-in) renews the key in the settings file; the
            // provider notices within its file check and the account serves again.
            try Data(#"{"apiKey":"sk-mock-iflow-key","keep":"me"}"#.utf8).write(to: URL(fileURLWithPath: settings))
            try await waitUntil { try await gateway.execute(uri: "/health", method: .get).json?["status"] == "ok" }
            let before = harness.mock.requests.count
            let renewed = try await gateway.chat(request("hi"))
            #expect(renewed.status == .ok)
            let tried = harness.mock.requests.dropFirst(before).map { $0.headers["authorization"] }
            #expect(tried.last == "Bearer sk-mock-iflow-key")
        }
    }
}
