import Foundation
import HTTPTypes
import HummingbirdTesting
import Stores
import Testing

@testable import Gateway

/// The console's usage view and client settings (docs/configuration.md, "Usage").
@Suite struct ConsoleUsageTests {
    @Test func chartsTablesAndTheLastRequestsMatchWhatWasAsked() async throws {
        let harness = GatewayHarness { config in
            config.clientKeys = ["sk-client-alice"]
            config.clientKeyNames = ["sk-client-alice": "alice"]
        }
        let alice: HTTPFields = [.authorization: "Bearer sk-client-alice"]
        try await harness.run { gateway, _ in
            for _ in 0..<3 { #expect(try await gateway.chat(request("hi"), headers: alice).status == .ok) }
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = "http:400" }
            #expect(try await gateway.chat(request("hi"), headers: alice).status == .badRequest)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = nil }

            let page = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(page.contains("<h2>Usage, last 24 hours</h2>"))
            #expect(page.components(separatedBy: "<svg").count - 1 == 3, "requests, tokens and errors")
            let hour = String(UsageRow.hour(Date()).dropFirst(11).prefix(5)) + " UTC"
            #expect(page.contains("<title>\(hour): 4</title>"), "this hour's requests")
            #expect(page.contains("<title>\(hour): 1</title>"), "this hour's errors")
            let modelTable = try #require(page.components(separatedBy: "data-group=\"model\"").last)
            #expect(modelTable.contains("<td>glm-4.7</td><td>4</td><td>1</td>"))
            let keyTable = try #require(page.components(separatedBy: "data-group=\"client key\"").last)
            #expect(keyTable.contains("<td>alice</td><td>4</td>"))
            let recent = try #require(page.components(separatedBy: "id=\"recent\"").last)
            #expect(recent.components(separatedBy: "<td>alice</td>").count - 1 == 4, "the last requests, by key name")
            #expect(recent.contains("<td class=\"bad\">400 ") && recent.contains("iflow/key1"), "status and error code")
            for client in ["OpenAI SDK (Python)", "Anthropic SDK (Python)", "Claude Code", "Open WebUI"] {
                #expect(page.contains("<h3>\(client)</h3>"), "\(client)")
            }
            #expect(page.contains("ANTHROPIC_BASE_URL=http://"))
            #expect(!page.contains("sk-client-alice") && !page.contains(harness.mock.apiKey), "no key on the page")
        }
    }
}
