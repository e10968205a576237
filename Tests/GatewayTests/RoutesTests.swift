import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Gateway
@testable import OpenAIWire

@Suite struct RoutesTests {
    @Test func allChatPathsAndTrailingSlashes() async throws {
        try await GatewayHarness().run { gateway, _ in
            for path in [
                "/v1/chat/completions", "/chat/completions", "/api/v1/chat/completions", "/v1/chat/completions/",
            ] {
                let response = try await gateway.chat(request("hi"), path: path)
                #expect(response.status == .ok, "\(path)")
            }
        }
    }

    @Test func modelsListIsMerged() async throws {
        try await GatewayHarness().run { gateway, _ in
            for path in ["/v1/models", "/models", "/v1/models/"] {
                let response = try await gateway.execute(uri: path, method: .get)
                #expect(response.status == .ok)
                let json = try #require(response.json)
                #expect(json["object"] == "list")
                let first = try #require(json["data"]?.arrayValue?.first)
                #expect(first["id"] == "glm-4.7")
                #expect(first["object"] == "model")
                #expect(first["owned_by"] == "iflow")
                #expect(first["created"]?.intValue != nil)
            }
        }
    }

    @Test func healthReportsProviders() async throws {
        try await GatewayHarness().run { gateway, _ in
            let json = try #require(try await gateway.execute(uri: "/health", method: .get).json)
            #expect(json["status"] == "ok")
            #expect(json["version"] == .string(FlowgateVersion.current))
            #expect(json["providers"]?["iflow"]?["state"] == "ok")
            #expect(json["providers"]?["iflow"]?["kind"] == "iflow")
            #expect(json["providers"]?["iflow"]?["accounts"]?.arrayValue?.count == 1)
            #expect(json["providers"]?["iflow"]?["models"] == 12)
            #expect(!JSONCoding.string(json).contains("sk-mock-iflow-key"), "no secret in /health")
        }
    }

    @Test func withNothingConfiguredHealthIsDegradedAndChatSaysWhatToConfigure() async throws {
        try await GatewayHarness(configure: { $0.iflow.apiKey = nil }).run { gateway, _ in
            let health = try #require(try await gateway.execute(uri: "/health", method: .get).json)
            #expect(health["status"] == "degraded")
            #expect(health["providers"]?["iflow"]?["state"] == "unconfigured")
            let chat = try await gateway.chat(request("hi"))
            #expect(chat.status == .serviceUnavailable)
            #expect(chat.json?["error"]?["message"]?.stringValue?.contains("IFLOW_API_KEY") == true)
        }
    }

    @Test func unknownRouteAndWrongMethodInOpenAIShape() async throws {
        try await GatewayHarness().run { gateway, _ in
            let missing = try await gateway.execute(uri: "/v2/nothing", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.json?["error"]?["type"] == "invalid_request_error")
            let wrong = try await gateway.execute(uri: "/v1/chat/completions", method: .get)
            #expect(wrong.status == .methodNotAllowed)
            #expect(wrong.json?["error"]?["param"] == .null)
            let deleted = try await gateway.execute(uri: "/v1/models", method: .delete)
            #expect(deleted.status == .methodNotAllowed)
        }
    }

    @Test func malformedBodiesAre400() async throws {
        try await GatewayHarness().run { gateway, _ in
            for body in [
                "", "{", "[]", "null", "{\"model\":\"glm-4.7\"}", "{\"model\":1,\"messages\":[]}", "\u{FF}\u{FE}",
            ] {
                let response = try await gateway.raw(body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.json?["error"]?["type"] == "invalid_request_error")
            }
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func unknownModelListsValidIds() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("hi", model: "gpt-9"))
            #expect(response.status == .notFound)
            #expect(response.json?["error"]?["code"] == "model_not_found")
            #expect(response.json?["error"]?["param"] == "model")
            #expect(response.json?["error"]?["message"]?.stringValue?.contains("glm-4.7") == true)
        }
    }

    @Test func qualifiedIdGoesToTheNamedProviderEvenIfUnlisted() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(request("hi", model: "iflow/brand-new-model"))
            #expect(response.status == .ok)
            #expect(response.json?["model"] == "iflow/brand-new-model")
            #expect(harness.mock.requests.last?.body["model"] == "brand-new-model")
        }
    }

    @Test func moreChoicesThanTheUpstreamGivesIs400() async throws {
        try await GatewayHarness().run { gateway, _ in
            let response = try await gateway.chat(request("hi", extra: ["n": 2]))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"]?["param"] == "n")
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await GatewayHarness(configure: { $0.bodyLimit = 1024 }).run { gateway, _ in
            let response = try await gateway.chat(request(String(repeating: "x", count: 4096)))
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["error"]?["code"] == "request_too_large")
        }
    }

}
