import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
import Providers
import Testing

@testable import Gateway
@testable import OpenAIWire

/// What real OpenAI clients rely on beyond chat itself.
@Suite struct ContractTests {
    @Test func aModelCanBeRetrievedByIdQualifiedIdOrAlias() async throws {
        try await GatewayHarness(configure: { $0.aliases = ["gpt-4o": "iflow/glm-4.7"] }).run { gateway, _ in
            for (path, id) in [
                ("/v1/models/glm-4.7", "glm-4.7"), ("/models/glm-4.7", "glm-4.7"),
                ("/v1/models/iflow/glm-4.7", "iflow/glm-4.7"), ("/v1/models/gpt-4o", "gpt-4o"),
            ] {
                let response = try await gateway.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(response.json?["id"]?.stringValue == id)
                #expect(response.json?["object"] == "model" && response.json?["owned_by"] == "iflow")
            }
            let missing = try await gateway.execute(uri: "/v1/models/no-such-model", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.json?["error"]?["code"] == "model_not_found")
        }
    }

    @Test func streamOptionsWithoutStreamIsA400NamingIt() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("hi", extra: ["stream_options": ["include_usage": true]]))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"]?["param"] == "stream_options")
        }
    }

    @Test func errorsNoRetryCanFixSayShouldRetryFalseAndNoRetryAfter() async throws {
        try await GatewayHarness(configure: { $0.iflow.apiKey = nil }).run { gateway, _ in
            let unconfigured = try await gateway.chat(request("hi"))
            #expect(unconfigured.status == .serviceUnavailable)
            #expect(unconfigured.headers[.retryAfter] == nil)
            #expect(unconfigured.headers[HTTPField.Name("x-should-retry")!] == "false")
            let unknown = try await gateway.chat(request("hi", model: "nope"))
            #expect(unknown.headers[HTTPField.Name("x-should-retry")!] == "false")
        }
        #expect(GatewayError.rateLimited("busy").shouldRetry)
        #expect(!GatewayError.invalidRequest("bad").shouldRetry)
        #expect(GatewayError.upstreamFailed("down").shouldRetry)
    }

    @Test func anUpstreamsRetryAfterIsPassedOnUnshortened() async throws {
        try await GatewayHarness(openai: MockOpenAI()).run { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.chat(
                    request("scenario:rate-limited", model: "generic/gen-small", stream: stream))
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "7", "stream: \(stream)")
            }
        }
    }

    @Test func usageIsEstimatedWhenTheUpstreamReportsNoneAndKeepsTheChunksFields() async throws {
        try await GatewayHarness().run { gateway, _ in
            // "scenario:no-usage" is 17 characters: 5 tokens; "Hello from mock iFlow." is 22: 6 tokens.
            let plain = try await gateway.chat(request("scenario:no-usage"))
            let usage = plain.json?["usage"]
            #expect(usage?["prompt_tokens"] == 5 && usage?["completion_tokens"] == 6 && usage?["total_tokens"] == 11)

            let stream = try await gateway.chat(
                request("scenario:no-usage", stream: true, extra: ["stream_options": ["include_usage": true]]))
            let last = try #require(stream.events.compactMap { $0 }.last)
            #expect(last["choices"] == [])
            #expect(last["usage"]?["completion_tokens"] == 3, "\"Hello world\" is 11 characters")
            #expect(last["system_fingerprint"] == "fp_mock" && last["service_tier"] == "default")
        }
    }

    @Test func usageEstimateCountsCharactersOverFourRoundedUp() {
        #expect(Usage.estimate(promptCharacters: 0, completionCharacters: 0)["total_tokens"] == 0)
        let usage = Usage.estimate(promptCharacters: 9, completionCharacters: 4)
        #expect(usage["prompt_tokens"] == 3 && usage["completion_tokens"] == 1 && usage["total_tokens"] == 4)
        let body: JSONObject = [
            "messages": [
                ["role": "user", "content": "abcd"],
                ["role": "user", "content": [["type": "text", "text": "efgh"], ["type": "image_url"]]],
            ]
        ]
        #expect(Usage.promptCharacters(body) == 8)
    }

    @Test func aRefusedUpstreamIsA502AtOnceWithACleanMessage() async throws {
        // A port that was just listened on and is closed again: connecting is refused.
        let app = Application(router: Router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let closedPort = try await app.test(.live) { client in client.port! }
        try await GatewayHarness(configure: { config in
            var refused = OpenAICompatibleConfig(name: "down", baseURL: "http://127.0.0.1:\(closedPort)/v1")
            refused.models = ["m"]
            config.providers.append(refused)
        }).run { gateway, _ in
            let started = ContinuousClock.now
            let response = try await gateway.chat(request("hi", model: "down/m"))
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(response.status == .badGateway)
            #expect(response.json?["error"]?["code"] == "upstream_unreachable")
            let message = response.json?["error"]?["message"]?.stringValue ?? ""
            #expect(!message.contains("errno") && !message.contains("NIO") && !message.contains("Error"), "\(message)")
        }
    }

    @Test func rateLimitHeadersOfAnOpenAICompatibleUpstreamPassThrough() async throws {
        try await GatewayHarness(openai: MockOpenAI()).run { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.chat(request("hi", model: "generic/gen-small", stream: stream))
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "99", "stream \(stream)")
                #expect(response.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "100")
            }
        }
    }

    @Test func embeddingsGoToProvidersThatServeThemWithTheModelRenamed() async throws {
        let openai = MockOpenAI(models: ["gen-small", "gen-embed"])
        try await GatewayHarness(openai: openai, configure: { $0.aliases = ["embed": "generic/gen-embed"] }).run {
            gateway, _ in
            let body: JSON = ["model": "embed", "input": ["hello", "world"]]
            let response = try await gateway.chat(body, path: "/v1/embeddings")
            #expect(response.status == .ok)
            #expect(response.json?["data"]?.arrayValue?.first?["embedding"] == [0.25, -0.5, 1])
            #expect(response.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "99")
            let sent = openai.requests.withLock { $0.last }
            #expect(sent?.body["model"] == "gen-embed" && sent?.body["input"] == ["hello", "world"])
            #expect(sent?.headers["authorization"] == "Bearer \(openai.apiKey)")

            let chatOnly = try await gateway.chat(["model": "glm-4.7", "input": "x"], path: "/v1/embeddings")
            #expect(chatOnly.status == .notFound && chatOnly.json?["error"]?["code"] == "model_not_found")
            let noInput = try await gateway.chat(["model": "embed"], path: "/embeddings")
            #expect(noInput.status == .badRequest && noInput.json?["error"]?["param"] == "input")
        }
    }
}
