import Foundation
import HummingbirdTesting
import Mocks
import OpenAIWire
import Providers
import Stores
import Testing

@testable import Gateway

/// iFlow sign-ins through flowgate live in the state store (docs/architecture.md, "State store"):
/// instances sharing it see the same accounts, refresh each token once, and an earlier
/// version's folders move in.
@Suite struct StoredSignInTests {
    static func record(name: String, access: String, refresh: String, expiresIn: TimeInterval) -> StoredAccount {
        let creds: JSON = [
            "access_token": .string(access), "refresh_token": .string(refresh),
            "expiry_date": .int(Int64((Date().timeIntervalSince1970 + expiresIn) * 1000)),
            "apiKey": .string(MockIFlowOAuth.apiKey(forAccess: access)),
        ]
        return StoredAccount(
            provider: "iflow", name: name, credentials: Data(JSONCoding.buffer(creds).readableBytesView), updated: Date())
    }

    /// Both instances find the token within a day of expiry at start; one refreshes it, the other
    /// uses what it wrote (the mock rotates refresh tokens: a second refresh would be refused).
    @Test func twoInstancesRefreshATokenOnce() async throws {
        let store = MemoryStateStore(shared: true)
        let oauth = MockIFlowOAuth()
        oauth.state.withLock { $0.refreshTokens = ["refresh-seed"] }
        try await store.saveAccount(Self.record(name: "team", access: "access-0", refresh: "refresh-seed", expiresIn: 3600))
        let (old, new) = (MockIFlowOAuth.apiKey(forAccess: "access-0"), MockIFlowOAuth.apiKey(forAccess: "access-1"))
        let mock = MockIFlow(apiKey: old, more: [new])
        let first = GatewayHarness(mock: mock, oauth: oauth, store: store)
        let second = GatewayHarness(mock: mock, oauth: oauth, store: store)
        try await first.run { one, _ in
            try await second.run { two, _ in
                try await waitUntil(seconds: 10) {
                    oauth.state.withLock { $0.tokenCalls.contains { $0["grant_type"] == "refresh_token" } }
                }
                // The waiting instance reads the result within its 250 ms poll.
                try await Task.sleep(for: .milliseconds(800))
                for gateway in [one, two] { #expect(try await gateway.chat(request("hi")).status == .ok) }
                #expect(mock.stats.withLock { $0.requestsByKey } == [new: 2], "both use the renewed key")
                let refreshes = oauth.state.withLock { $0.tokenCalls.filter { $0["grant_type"] == "refresh_token" } }
                #expect(refreshes.count == 1, "one refresh for both instances")
                let creds = try await store.accounts(provider: "iflow").first.map { try JSONCoding.decode($0.credentials) }
                #expect(creds?["refresh_token"] == "refresh-1" && creds?["access_token"] == "access-1")
            }
        }
    }

    @Test func anAccountRemovedOnAnotherInstanceLeaves() async throws {
        let store = MemoryStateStore()
        try await store.saveAccount(Self.record(name: "team", access: "access-1", refresh: "r", expiresIn: 86400 * 2))
        let harness = GatewayHarness(
            mock: MockIFlow(apiKey: MockIFlowOAuth.apiKey(forAccess: "access-1")), oauth: MockIFlowOAuth(), store: store)
        try await harness.run { gateway, _ in
            #expect(try await FailoverTests.accounts(gateway)["team"]?["state"] == "ok", "there from the start")
            #expect(try await gateway.chat(request("hi")).status == .ok)
            try await store.removeAccount(provider: "iflow", name: "team")
            try await waitUntil { try await FailoverTests.accounts(gateway)["team"] == nil }
        }
    }

    /// An earlier version kept named sign-ins in folders, in clear: they move into the store.
    @Test func anEarlierVersionsFolderMovesIntoTheStore() async throws {
        let harness = GatewayHarness(
            mock: MockIFlow(apiKey: "sk-from-folder"), oauth: MockIFlowOAuth(), store: MemoryStateStore())
        let folder = IFlowConfig.accountsDirectory(dataDirectory: harness.home + "/.flowgate", provider: "iflow") + "/old"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(#"{"apiKey":"sk-from-folder"}"#.utf8).write(to: URL(fileURLWithPath: folder + "/settings.json"))
        try Data(#"{"refresh_token":"r-old","expiry_date":4102444800000}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/oauth_creds.json"))
        try await harness.run { gateway, _ in
            #expect(try await gateway.chat(request("hi")).status == .ok)
            #expect(!FileManager.default.fileExists(atPath: folder))
            let stored = try await harness.store.accounts(provider: "iflow")
            let creds = try stored.first.map { try JSONCoding.decode($0.credentials) }
            #expect(stored.map(\.name) == ["old"])
            #expect(creds?["apiKey"] == "sk-from-folder" && creds?["refresh_token"] == "r-old")
        }
    }
}
