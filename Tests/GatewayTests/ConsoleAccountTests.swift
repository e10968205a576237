import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import Mocks
import NIOCore
import OpenAIWire
import Testing

@testable import Gateway

/// docs/architecture.md, "Account pools": the console's account buttons, as posts.
@Suite struct ConsoleAccountTests {
    static func post(_ gateway: any TestClientProtocol, _ form: String) async throws -> HTTPClientResponse {
        try await postForm(gateway, AccountActions.path, form)
    }

    @Test func disableEnableAndClearACooldown() async throws {
        let harness = FailoverTests.twoAccounts()
        harness.mock.failures.withLock { $0["k2"] = "http:429:60" }
        try await harness.run { gateway, _ in
            let csrf = try await SignInTests.csrfToken(gateway)
            let console = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(console.contains("id=\"disable-iflow-key1\"") && console.contains("id=\"disable-iflow-key2\""))

            let missing = try await Self.post(gateway, "provider=iflow&account=key1&action=disable")
            #expect(missing.status == .forbidden, "no CSRF token, nothing changes")
            let wrong = try await Self.post(gateway, "csrf=nope&provider=iflow&account=key1&action=disable")
            #expect(wrong.status == .forbidden)
            #expect(try await FailoverTests.accounts(gateway)["key1"]?["state"] == "ok")

            let disabled = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=key1&action=disable")
            #expect(disabled.status == .seeOther && disabled.headers.first(name: "location") == "/")
            // key1 disabled: key2 is asked, is rate-limited and cools; nothing else can serve.
            let cooling = try await gateway.chat(request("hi"))
            #expect(cooling.status == .tooManyRequests)
            #expect(cooling.json?["error"]?["code"] == "all_accounts_cooling")
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k2": 1])
            let page = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(page.contains("id=\"enable-iflow-key1\"") && page.contains("id=\"clear_cooldown-iflow-key2\""))

            harness.mock.failures.withLock { $0["k2"] = nil }
            _ = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=key2&action=clear_cooldown")
            #expect(try await gateway.chat(request("hi")).status == .ok)
            _ = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=key1&action=enable")
            #expect(try await FailoverTests.accounts(gateway)["key1"]?["state"] == "ok")

            let unknown = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=nobody&action=disable")
            #expect(unknown.status == .notFound)
            let bad = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=key1&action=explode")
            #expect(bad.status == .badRequest)
            let configured = try await Self.post(gateway, "csrf=\(csrf)&provider=iflow&account=key1&action=remove")
            #expect(configured.status == .conflict, "accounts from the configuration are disabled, not removed")
        }
    }
}
