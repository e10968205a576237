import Foundation
import HTTPTypes
import HummingbirdTesting
import OpenAIWire
import Stores
import Testing

@testable import Gateway

/// `GET /admin/usage` (docs/configuration.md, "Usage"): the requests made, grouped every way,
/// by client key name, and bad parameters answered in the OpenAI error shape.
@Suite struct UsageRouteTests {
    static func usage(_ gateway: any TestClientProtocol, _ query: String) async throws -> TestResponse {
        try await gateway.execute(uri: "/admin/usage?\(query)", method: .get)
    }

    static func rows(_ gateway: any TestClientProtocol, _ query: String) async throws -> [String: JSON] {
        let answer = try await usage(gateway, query)
        #expect(answer.status == .ok, "\(answer.body)")
        var rows: [String: JSON] = [:]
        for row in answer.json?["rows"]?.arrayValue ?? [] { rows[row["key"]?.stringValue ?? "?"] = row }
        return rows
    }

    @Test func theRequestsMadeGroupedEveryWay() async throws {
        let harness = GatewayHarness { config in
            config.clientKeys = ["sk-client-alice", "sk-client-plain"]
            config.clientKeyNames = ["sk-client-alice": "alice"]
        }
        let alice: HTTPFields = [.authorization: "Bearer sk-client-alice"]
        let plain: HTTPFields = [.authorization: "Bearer sk-client-plain"]
        try await harness.run { gateway, _ in
            #expect(try await gateway.chat(request("hi"), headers: alice).status == .ok)
            #expect(try await gateway.chat(request("hi", stream: true), headers: alice).status == .ok)
            #expect(try await gateway.chat(request("hi"), headers: plain).status == .ok)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = "http:400" }
            #expect(try await gateway.chat(request("hi"), headers: alice).status == .badRequest)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = nil }

            let keys = try await Self.rows(gateway, "group_by=key")
            #expect(keys.count == 2)
            #expect(keys["alice"]?["requests"] == 3 && keys["alice"]?["errors"] == 1)
            let plainName = ClientKeyNames.derived(from: "sk-client-plain")
            #expect(keys[plainName]?["requests"] == 1 && keys[plainName]?["errors"] == 0)
            let alicePrompt = keys["alice"]?["prompt_tokens"]?.intValue ?? 0
            let aliceCompletion = keys["alice"]?["completion_tokens"]?.intValue ?? 0
            #expect(alicePrompt > 0 && aliceCompletion > 0)
            #expect(keys["alice"]?["total_tokens"]?.intValue == alicePrompt + aliceCompletion)

            let today = UsageRow.day(Date())
            let days = try await Self.rows(gateway, "")
            #expect(days.keys.sorted() == [today] && days[today]?["requests"] == 4, "by day, the last 24 h, by default")
            #expect(try await Self.rows(gateway, "group_by=model").keys.sorted() == ["glm-4.7"])
            #expect(try await Self.rows(gateway, "group_by=provider")["iflow"]?["requests"] == 4)
            #expect(try await Self.rows(gateway, "group_by=account")["key1"]?["errors"] == 1)
            let later = Date().addingTimeInterval(3600).formatted(.iso8601)
            let future = try await Self.rows(gateway, "from=\(later)&to=\(Date().addingTimeInterval(7200).formatted(.iso8601))")
            #expect(future.isEmpty)
            let answer = try await Self.usage(gateway, "group_by=model&from=2026-01-01&to=2099-01-01")
            #expect(answer.json?["from"] == "2026-01-01T00:00:00Z" && answer.json?["group_by"] == "model")
            #expect(!String(buffer: answer.body).contains("sk-client"), "names, never keys")
        }
    }

    @Test(arguments: [
        ("group_by=week", "group_by"), ("from=yesterday", "from"), ("to=2026-13-45", "to"),
        ("from=2026-11-22&to=2026-11-21", "from"),
    ])
    func badParametersAre400NamingThem(query: String, param: String) async throws {
        try await GatewayHarness().run { gateway, _ in
            let answer = try await Self.usage(gateway, query)
            #expect(answer.status == .badRequest)
            #expect(answer.json?["error"]?["param"] == .string(param), "\(answer.body)")
            #expect(answer.json?["error"]?["type"] == "invalid_request_error")
        }
    }
}
