import Foundation
import Hummingbird
import HummingbirdTesting
import Mocks
import Providers
import Testing

@testable import Gateway
@testable import OpenAIWire

/// SPEC 4.3 (generic upstream) and SPEC 2 routing across providers.
@Suite struct OpenAICompatibleTests {
    @Test func modelsAreFetchedAndListedUnderTheProviderName() async throws {
        let harness = GatewayHarness(openai: MockOpenAI())
        try await harness.run { gateway, _ in
            let listing = try #require(
                try await gateway.execute(uri: "/v1/models", method: .get).json?["data"]?.arrayValue)
            let generic = listing.filter { $0["owned_by"] == "generic" }.compactMap { $0["id"]?.stringValue }
            #expect(generic == ["gen-small", "gen-large"])
            #expect(harness.openai!.modelListings.withLock { $0 } >= 1)
        }
    }

    @Test func requestsPassThroughWithOnlyTheModelChanged() async throws {
        let harness = GatewayHarness(openai: MockOpenAI())
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(
                request("hi", model: "generic/gen-large", extra: ["n": 2, "x_vendor": ["a": 1]]))
            #expect(response.status == .ok)
            #expect(response.json?["model"] == "generic/gen-large")
            #expect(response.json?["choices"]?.arrayValue?.count == 2, "n > 1 reaches an upstream that can honour it")
            let sent = try #require(harness.openai!.requests.withLock { $0.last })
            #expect(sent.body["model"] == "gen-large")
            #expect(sent.body["x_vendor"] == ["a": 1])
            #expect(sent.headers["authorization"] == "Bearer sk-generic")
            #expect(sent.headers["x-extra"] == "yes")
        }
    }

    @Test func streamingKeepsUsageOnlyWhenAsked() async throws {
        try await GatewayHarness(openai: MockOpenAI()).run { gateway, _ in
            let plain = try await gateway.chat(request("hi", model: "gen-small", stream: true))
            #expect(plain.streamedContent == "generic")
            #expect(plain.events.compactMap { $0 }.allSatisfy { $0["usage"] == nil })
            let counted = try await gateway.chat(
                request("hi", model: "gen-small", stream: true, extra: ["stream_options": ["include_usage": true]]))
            #expect(counted.events.compactMap { $0 }.last?["usage"]?["total_tokens"] == 5)
        }
    }

    @Test func upstreamClientErrorsKeepTheirStatus() async throws {
        try await GatewayHarness(openai: MockOpenAI()).run { gateway, _ in
            let missing = try await gateway.chat(request("hi", model: "generic/unknown-model"))
            #expect(missing.status == .notFound)
            #expect(missing.json?["error"]?["param"] == "model")
        }
        let wrongKey = GatewayHarness(openai: MockOpenAI()) { config in
            for index in config.providers.indices {
                if var settings = config.providers[index] as? OpenAICompatibleConfig {
                    settings.apiKey = "sk-wrong"
                    config.providers[index] = settings
                }
            }
        }
        try await wrongKey.run { gateway, _ in
            let refused = try await gateway.chat(request("hi", model: "generic/gen-small"))
            #expect(refused.status == .serviceUnavailable, "the account's key, not the client's")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("'default'") == true)
        }
    }

    @Test func bareIdsGoToTheFirstProviderThatListsThem() async throws {
        let harness = GatewayHarness(openai: MockOpenAI(models: ["glm-4.7", "only-here"]))
        try await harness.run { gateway, _ in
            _ = try await gateway.chat(request("hi", model: "glm-4.7"))
            #expect(harness.mock.requests.count == 1, "iFlow comes first")
            #expect(harness.openai!.requests.withLock { $0.count } == 0)
            _ = try await gateway.chat(request("hi", model: "generic/glm-4.7"))
            #expect(harness.openai!.requests.withLock { $0.count } == 1, "qualified goes to the named provider")
            _ = try await gateway.chat(request("hi", model: "only-here"))
            #expect(harness.openai!.requests.withLock { $0.count } == 2)
            let listing = try await gateway.execute(uri: "/v1/models", method: .get).json?["data"]?.arrayValue ?? []
            #expect(
                listing.contains { $0["id"] == "generic/glm-4.7" && $0["owned_by"] == "generic" },
                "a shadowed id is listed qualified")
        }
    }

    @Test func aliasesMapClientNames() async throws {
        let harness = GatewayHarness(openai: MockOpenAI()) { config in
            config.aliases = ["gpt-4o": "generic/gen-large", "smart": "glm-5"]
            for index in config.providers.indices {
                if var settings = config.providers[index] as? OpenAICompatibleConfig {
                    settings.aliases = ["tiny": "gen-small"]
                    config.providers[index] = settings
                }
            }
        }
        try await harness.run { gateway, _ in
            let viaGlobal = try await gateway.chat(request("hi", model: "gpt-4o"))
            #expect(viaGlobal.json?["model"] == "gpt-4o", "the id the client asked for")
            #expect(harness.openai!.requests.withLock { $0.last?.body["model"] } == "gen-large")
            _ = try await gateway.chat(request("hi", model: "tiny"))
            #expect(harness.openai!.requests.withLock { $0.last?.body["model"] } == "gen-small")
            _ = try await gateway.chat(request("hi", model: "smart"))
            #expect(harness.mock.requests.last?.body["model"] == "glm-5")
            let ids = try await gateway.execute(uri: "/v1/models", method: .get).json?["data"]?.arrayValue?.compactMap {
                $0["id"]?.stringValue
            }
            #expect(Set(ids ?? []).isSuperset(of: ["gpt-4o", "tiny", "smart"]))
        }
    }

    @Test func flowithMappingIsListedAndRouted() async throws {
        let harness = GatewayHarness(flowith: MockFlowith(validTokens: [GatewayHarness.flowithToken]))
        try await harness.run { gateway, _ in
            let listing = try await gateway.execute(uri: "/v1/models", method: .get).json?["data"]?.arrayValue ?? []
            let flowith = listing.filter { $0["owned_by"] == "flowith" }
            #expect(flowith.count == 17)
            let unknown = try await gateway.chat(request("hi", model: "no-such-model"))
            #expect(unknown.status == .notFound)
            #expect(unknown.json?["error"]?["code"] == "model_not_found")
        }
    }
}
