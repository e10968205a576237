import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
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
        #expect(OpenAIError.rateLimited("busy").shouldRetry)
        #expect(!OpenAIError.invalidRequest("bad").shouldRetry)
        #expect(OpenAIError.upstreamFailed("down").shouldRetry)
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
}
