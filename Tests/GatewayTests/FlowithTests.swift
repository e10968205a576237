import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import Mocks
import Testing
import UpstreamHTTP

@testable import Gateway
@testable import OpenAIWire
@testable import Providers

/// SPEC 4.2 through the gateway, against the mock Flowith web API.
@Suite struct FlowithTests {
    static func harness(
        tokens: Set<String> = [GatewayHarness.flowithToken],
        configure: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in }
    )
        -> GatewayHarness
    {
        GatewayHarness(flowith: MockFlowith(validTokens: tokens), configure: configure)
    }

    /// One account: `token` with the refresh token `refresh`.
    static func harness(account token: String, refresh: String) -> GatewayHarness {
        harness(tokens: []) { config in
            for index in config.providers.indices {
                if var settings = config.providers[index] as? FlowithConfig {
                    settings.accounts = [.init(token: token, refreshToken: refresh)]
                    config.providers[index] = settings
                }
            }
        }
    }

    @Test func plainAnswerWithWebAppHeadersRolesAndEstimatedUsage() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let body: JSON = [
                "model": "claude-3.7-sonnet", "temperature": 0.3,
                "messages": [
                    ["role": "system", "content": "Be brief."], ["role": "developer", "content": "Use English."],
                    [
                        "role": "user",
                        "content": [["type": "text", "text": "Hi"], ["type": "text", "text": "there"]],
                    ],
                    [
                        "role": "assistant", "content": nil,
                        "tool_calls": [
                            ["id": "c1", "type": "function", "function": ["name": "f", "arguments": "{}"]]
                        ],
                    ],
                    ["role": "tool", "tool_call_id": "c1", "content": "42"],
                ],
            ]
            let response = try await gateway.chat(body)
            #expect(response.status == .ok)
            let json = try #require(response.json)
            #expect(json["model"] == "claude-3.7-sonnet")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from Flowith")
            let usage = try #require(json["usage"])
            #expect(usage["completion_tokens"] == 5, "18 characters / 4, rounded up")
            #expect(usage["total_tokens"]?.intValue == (usage["prompt_tokens"]?.intValue ?? -1) + 5)

            let sent = try #require(harness.flowith?.requests.first)
            #expect(harness.flowith?.requests.count == 1, "one upstream call")
            #expect(sent.headers["authorization"] == GatewayHarness.flowithToken, "the raw JWT, no Bearer")
            #expect(sent.headers["responsetype"] == "stream")
            #expect(sent.body["stream"] == true)
            #expect(sent.body["model"] == "claude-3.7-sonnet")
            #expect(UUID(uuidString: sent.body["nodeId"]?.stringValue ?? "") != nil)
            let messages = sent.body["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue } == ["user", "user", "assistant", "user"])
            #expect(
                messages[0]["content"] == "Be brief.\n\nUse English.", "system and developer become a leading user turn"
            )
            #expect(messages[1]["content"] == "Hi\nthere")
            #expect(messages[2]["content"]?.stringValue?.contains("called tool f") == true)
            #expect(messages[3]["content"]?.stringValue?.contains("42") == true)
        }
    }

    @Test func streamsDeltasWithThinkTagsSplitAcrossReads() async throws {
        try await Self.harness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:think", model: "deepseek-reasoner", stream: true))
            #expect(response.status == .ok)
            let events = response.events
            #expect(events.last! == nil)
            let thoughts = events.compactMap {
                $0?["choices"]?.arrayValue?.first?["delta"]?["reasoning_content"]?.stringValue
            }
            #expect(thoughts.joined() == "pondering")
            #expect(response.streamedContent == "The answer")
            let finish = events.compactMap { $0?["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
            #expect(finish == ["stop"])
        }
    }

    @Test func charactersSplitAcrossReadsArriveWhole() async throws {
        try await Self.harness().run { gateway, _ in
            let response = try await gateway.chat(request("scenario:unicode", model: "gpt-4.1", stream: true))
            #expect(response.streamedContent == "h\u{e9}llo \u{4e16}\u{754c}")
        }
    }

    @Test func firstDeltaReachesTheClientBeforeTheUpstreamFinishes() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var r = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port!)/v1/chat/completions")
            r.method = .POST
            r.headers.add(name: "content-type", value: "application/json")
            r.body = .bytes(JSONCoding.buffer(request("scenario:slow", model: "gpt-4.1", stream: true)))
            let started = ContinuousClock.now
            let response = try await client.execute(r, timeout: .seconds(10))
            var firstAt: Duration?
            var text = ""
            for try await buffer in response.body {
                if firstAt == nil && String(buffer: buffer).contains("first") {
                    firstAt = ContinuousClock.now - started
                }
                text += String(buffer: buffer)
            }
            let total = ContinuousClock.now - started
            // The upstream pauses 400 ms twice after its first piece: that piece must not wait for them.
            #expect(total >= .milliseconds(800))
            #expect(
                total - (try #require(firstAt)) >= .milliseconds(600), "first after \(firstAt!), all after \(total)")
            #expect(text.contains("third"))
            #expect(harness.flowith?.requests.count == 1, "exactly one upstream call for a stream")
            try await client.shutdown()
        }
    }

    @Test func imagesAreRefusedWithAClearMessage() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let body: JSON = [
                "model": "gpt-4.1",
                "messages": [
                    ["role": "user", "content": [["type": "image_url", "image_url": ["url": "https://x/y.png"]]]]
                ],
            ]
            let response = try await gateway.chat(body)
            #expect(response.status == .badRequest)
            #expect(response.json?["error"]?["param"] == "messages[0].content[0]")
            #expect(harness.flowith?.requests.isEmpty == true)
        }
    }

    @Test func upstreamFailures() async throws {
        try await Self.harness(tokens: []).run { gateway, _ in
            let rejected = try await gateway.chat(request("hi", model: "gpt-4.1"))
            #expect(rejected.status == .serviceUnavailable, "the account's token, not the client's key")
            #expect(
                rejected.json?["error"]?["message"]?.stringValue?.contains("Flowith token rejected or expired") == true)
        }
        try await Self.harness().run { gateway, _ in
            let failed = try await gateway.chat(request("scenario:http:500", model: "gpt-4.1"))
            #expect(failed.status == .badGateway)
            #expect(failed.json?["error"]?["message"]?.stringValue?.contains("500") == true)
            for stream in [false, true] {
                let empty = try await gateway.chat(request("scenario:empty", model: "gpt-4.1", stream: stream))
                #expect(empty.status == .badGateway)
                #expect(empty.json?["error"]?["code"] == "empty_response")
            }
        }
    }

    @Test func severalTokensAreUsedInTurn() async throws {
        let second = MockFlowith.jwt(expiry: Date().addingTimeInterval(7200), subject: "second")
        let harness = Self.harness(tokens: [GatewayHarness.flowithToken, second]) { config in
            for index in config.providers.indices {
                if var settings = config.providers[index] as? FlowithConfig {
                    settings.accounts.append(.init(token: second))
                    config.providers[index] = settings
                }
            }
        }
        try await harness.run { gateway, _ in
            for _ in 0..<4 { _ = try await gateway.chat(request("hi", model: "gpt-4.1")) }
            let used = harness.flowith?.requests.map { $0.headers["authorization"] ?? "" } ?? []
            #expect(used == [GatewayHarness.flowithToken, second, GatewayHarness.flowithToken, second])
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.json?["providers"]?["flowith"]?["accounts"]?.arrayValue?.map { $0["name"] } == ["token1", "token2"])
            #expect(health.json?["providers"]?["flowith"]?["state"] == "ok")
            #expect(health.json?["providers"]?["flowith"]?["token_expires_at"]?.arrayValue?.count == 2)
        }
    }

    @Test func expiringTokenIsRenewedAndTheNewOneUsedAtOnce() async throws {
        let expiring = MockFlowith.jwt(expiry: Date().addingTimeInterval(30), subject: "old")
        let harness = Self.harness(account: expiring, refresh: "rt-1")
        try await harness.run { gateway, _ in
            let first = try await gateway.chat(request("hi", model: "gpt-4.1"))
            #expect(first.status == .ok)
            #expect(harness.flowith?.state.withLock { $0.refreshCalls } == ["rt-1"])
            let used = harness.flowith?.requests.first?.headers["authorization"] ?? ""
            #expect(used != expiring)
            #expect(FlowithTokenExpiry.of(used).map { $0 > Date().addingTimeInterval(3000) } == true)
            let again = try await gateway.chat(request("hi", model: "gpt-4.1"))
            #expect(again.status == .ok)
            #expect(harness.flowith?.state.withLock { $0.refreshCalls.count } == 1, "renewed once, then used")
        }
    }

    @Test func aRejectedTokenIsRenewedOnceBeforeTheAccountCountsAsSignedOut() async throws {
        // Valid for hours, but the upstream no longer takes it (revoked elsewhere).
        let revoked = MockFlowith.jwt(expiry: Date().addingTimeInterval(7200), subject: "revoked")
        let harness = Self.harness(account: revoked, refresh: "rt-9")
        try await harness.run { gateway, _ in
            let answer = try await gateway.chat(request("hi", model: "gpt-4.1"))
            #expect(answer.status == .ok)
            #expect(harness.flowith?.state.withLock { $0.refreshCalls } == ["rt-9"])
            #expect(try await FailoverTests.accounts(gateway, provider: "flowith")["token1"]?["state"] == "ok")
        }
    }
}

import AsyncHTTPClient

enum FlowithTokenExpiry {
    static func of(_ token: String) -> Date? { FlowithToken.expiry(of: token) }
}

/// The console, /health and `flowgate check` agree on a Flowith token's state.
@Suite struct FlowithTokenStateTests {
    @Test func stateIsOneAnswerForEveryView() {
        let now = Date()
        #expect(FlowithToken.state(expiry: now.addingTimeInterval(3600), canRenew: false, now: now) == .ok)
        #expect(FlowithToken.state(expiry: now.addingTimeInterval(300), canRenew: false, now: now) == .expiring)
        #expect(FlowithToken.state(expiry: now.addingTimeInterval(-5), canRenew: false, now: now) == .expired)
        #expect(FlowithToken.state(expiry: now.addingTimeInterval(-5), canRenew: true, now: now) == .ok)
    }

    /// A gateway whose one Flowith account holds `token`.
    func harness(account token: String) -> GatewayHarness {
        FlowithTests.harness(tokens: [token]) { config in
            for index in config.providers.indices {
                if var settings = config.providers[index] as? FlowithConfig {
                    settings.accounts = [.init(token: token)]
                    config.providers[index] = settings
                }
            }
        }
    }

    @Test func healthAndConsoleShowTheSameState() async throws {
        try await harness(account: MockFlowith.jwt(expiry: Date().addingTimeInterval(300))).run { gateway, _ in
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.json?["providers"]?["flowith"]?["token_state"] == "expiring")
            #expect(health.json?["providers"]?["flowith"]?["state"] == "ok")
            let console = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(console.contains(">expiring<"))
        }
        try await harness(account: MockFlowith.jwt(expiry: Date().addingTimeInterval(-60))).run { gateway, _ in
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.json?["providers"]?["flowith"]?["token_state"] == "expired")
            #expect(health.json?["providers"]?["flowith"]?["detail"]?.stringValue?.contains("FLOWITH_AUTH_TOKEN") == true)
        }
    }

    @Test func aTokenThatIsNotAJWTIsRefusedAtStart() throws {
        var config = GatewayConfig()
        var flowith = FlowithConfig()
        flowith.accounts = [.init(token: "not-a-jwt")]
        config.providers = [flowith]
        let client = UpstreamClient(configuration: .init())
        defer { client.shutdown() }
        #expect {
            _ = try makeProviders(config: config, client: client, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("not a JWT") && "\(error)".contains("FLOWITH_AUTH_TOKEN")
        }
    }
}
