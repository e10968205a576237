import Foundation
import Stores
import Testing

@testable import Gateway

/// Cooldowns go through the state store (docs/architecture.md, "State store"): one instance's
/// 429 cools the account for every instance on the store within a second, and for the next start.
@Suite struct SharedCooldownTests {
    @Test func aCooldownSetHereIsWrittenToTheStore() async throws {
        let harness = GatewayHarness()
        harness.mock.failures.withLock { $0[harness.mock.apiKey] = "http:429:30" }
        try await harness.run { gateway, _ in
            let answer = try await gateway.chat(request("hi"))
            #expect(answer.json?["error"]?["code"] == "all_accounts_cooling")
            var stored: [StoredCooldown] = []
            for _ in 0..<30 where stored.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                stored = try await harness.store.cooldowns(now: Date())
            }
            let cooldown = try #require(stored.first)
            #expect(cooldown.provider == "iflow" && cooldown.account == "key1" && cooldown.model == "")
            #expect((25...31).contains(cooldown.until.timeIntervalSinceNow), "the upstream's Retry-After")
        }
    }

    @Test func aCooldownFromAnotherInstanceIsHonouredWithinASecond() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            #expect(try await gateway.chat(request("hi")).status == .ok)
            try await harness.store.setCooldown(
                StoredCooldown(provider: "iflow", account: "key1", until: Date().addingTimeInterval(60)))
            // Measured from when the last request that still got through was sent, not from when
            // its answer came back: on a loaded machine one request alone can take hundreds of ms.
            let started = ContinuousClock.now
            var lastServedSentAt = Duration.zero
            var answer = try await gateway.chat(request("hi"))
            while answer.status == .ok && ContinuousClock.now - started < .seconds(3) {
                try await Task.sleep(for: .milliseconds(100))
                let sentAt = ContinuousClock.now - started
                answer = try await gateway.chat(request("hi"))
                if answer.status == .ok { lastServedSentAt = sentAt }
            }
            #expect(lastServedSentAt < .seconds(1), "nothing sent a second after the store changed is served")
            #expect(answer.status == .tooManyRequests)
            #expect(answer.json?["error"]?["code"] == "all_accounts_cooling")
            #expect((55...60).contains(Int(answer.headers[.retryAfter] ?? "") ?? 0))
        }
    }

    /// A console clear goes to the store too: the sync must not bring the cooldown back.
    @Test func aClearedCooldownStaysClearedInTheStore() async throws {
        let harness = GatewayHarness()
        harness.mock.failures.withLock { $0[harness.mock.apiKey] = "http:429:30" }
        try await harness.run { gateway, _ in
            _ = try await gateway.chat(request("hi"))
            for _ in 0..<30 where try await harness.store.cooldowns(now: Date()).isEmpty {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await harness.store.cooldowns(now: Date()).count == 1)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = nil }
            let csrf = try await SignInTests.csrfToken(gateway)
            _ = try await ConsoleAccountTests.post(gateway, "csrf=\(csrf)&provider=iflow&account=key1&action=clear_cooldown")
            try await Task.sleep(for: .milliseconds(1200))  // two sync passes
            #expect(try await harness.store.cooldowns(now: Date()).isEmpty)
            #expect(try await gateway.chat(request("hi")).status == .ok)
        }
    }
}
