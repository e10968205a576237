import Foundation
import Hummingbird
import HummingbirdTesting
import Mocks
import OpenAIWire
import Providers
import Testing

@testable import Gateway

/// docs/architecture.md, "Account pools": two iFlow accounts against a mock that fails one of
/// them in each way an account can fail; the answer comes from the other, and the client never
/// sees the failed attempt.
@Suite struct FailoverTests {
    /// Accounts `key1` (tried first: fill-first) and `key2`, as `IFLOW_API_KEY=k1,k2` gives them.
    /// `headTimeout`: a timeout is a failover too, so it must outlast a loaded machine's slowest
    /// answer (the whole suite starts at once on two cores); only the hang case shortens it.
    static func twoAccounts(
        strategy: AccountPool.Strategy = .fillFirst, headTimeout: Duration = .seconds(10),
        configure: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in }
    ) -> GatewayHarness {
        GatewayHarness(mock: MockIFlow(apiKey: "k1", more: ["k2"])) { config in
            config.iflow.apiKey = "k1,k2"
            config.iflow.strategy = strategy
            config.upstreamHeadTimeout = headTimeout
            configure(&config)
        }
    }

    static func accounts(_ gateway: any TestClientProtocol, provider: String = "iflow") async throws -> [String: JSON] {
        let health = try await gateway.execute(uri: "/health", method: .get).json
        var byName: [String: JSON] = [:]
        for account in health?["providers"]?[provider]?["accounts"]?.arrayValue ?? [] {
            byName[account["name"]?.stringValue ?? "?"] = account
        }
        return byName
    }

    @Test(arguments: [
        ("http:401", "needs_sign_in"), ("http:403", "needs_sign_in"), ("business:434", "needs_sign_in"),
        ("business:439", "needs_sign_in"), ("http:429", "cooling"), ("http:429:30", "cooling"),
        ("business:449", "cooling"), ("business:8211", "cooling"), ("http:500", "ok"), ("http:503", "ok"),
        ("hang:6000", "ok"),
    ])
    func theNextAccountAnswersWhenOneFails(failure: String, state: String) async throws {
        for stream in [false, true] {
            // The hang outlasts this timeout; the other account's answer must come within it.
            let harness = failure.hasPrefix("hang:") ? Self.twoAccounts(headTimeout: .seconds(4)) : Self.twoAccounts()
            harness.mock.failures.withLock { $0["k1"] = failure }
            try await harness.run { gateway, _ in
                let started = ContinuousClock.now
                let response = try await gateway.chat(request("hi", stream: stream))
                #expect(response.status == .ok, "\(failure), stream \(stream)")
                if stream { #expect(response.streamedContent == "Hello from mock") }
                #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 1, "k2": 1])
                let key1 = try await Self.accounts(gateway)["key1"]
                // Without the upstream's Retry-After an account cools for the pool's first backoff
                // (1 s): on a loaded machine that can lapse before /health is read, and "ok" is right then.
                let mayHaveLapsed = state == "cooling" && failure != "http:429:30"
                    && ContinuousClock.now - started >= .seconds(1)
                if !mayHaveLapsed { #expect(key1?["state"]?.stringValue == state, "\(failure)") }
                if failure == "http:429:30", let until = key1?["cooling_until"]?.stringValue {
                    let seconds = try Date(until, strategy: .iso8601).timeIntervalSinceNow
                    #expect(seconds > 25 && seconds <= 31, "the upstream's Retry-After")
                }
            }
        }
    }

    @Test(arguments: ["business:435", "http:400", "http:413", "business:511"])
    func theRequestsOwnFaultsAreAnsweredAtOnce(failure: String) async throws {
        let harness = Self.twoAccounts()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(request("scenario:\(failure)"))
            #expect(response.status.code >= 400 && response.status.code < 500 && response.status != .tooManyRequests)
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 1], "not retried on another account")
            #expect(try await Self.accounts(gateway)["key1"]?["state"] == "ok")
        }
    }

    @Test func nothingIsRetriedAfterTheFirstByte() async throws {
        let harness = Self.twoAccounts()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(request("scenario:midstream-error", stream: true))
            #expect(response.status == .ok)
            #expect(response.events.dropLast().last??["error"] != nil)
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 1])
        }
    }

    @Test func everyAccountCoolingIs429WithTheSoonestRecoveryInBothDialects() async throws {
        let harness = Self.twoAccounts()
        harness.mock.failures.withLock {
            $0["k1"] = "http:429:30"
            $0["k2"] = "http:429:20"
        }
        try await harness.run { gateway, _ in
            let openAI = try await gateway.chat(request("hi"))
            #expect(openAI.status == .tooManyRequests)
            #expect(openAI.json?["error"]?["code"] == "all_accounts_cooling")
            let retry = Int(openAI.headers[.retryAfter] ?? "") ?? 0
            #expect((19...20).contains(retry), "the soonest: key2's 20 s")
            // Now both cool: answered without asking the upstream.
            let anthropic = try await gateway.chat(messagesRequest("hi"), path: "/v1/messages")
            #expect(anthropic.status == .tooManyRequests)
            #expect(anthropic.json?["type"] == "error")
            #expect(anthropic.json?["error"]?["type"] == "rate_limit_error")
            #expect(anthropic.headers[.retryAfter] != nil)
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 1, "k2": 1])
        }
    }

    @Test func noUsableAccountIs503NamingEachInBothDialects() async throws {
        let harness = Self.twoAccounts()
        harness.mock.failures.withLock {
            $0["k1"] = "http:401"
            $0["k2"] = "business:434"
        }
        try await harness.run { gateway, _ in
            let first = try await gateway.chat(request("hi"))
            #expect(first.status == .serviceUnavailable, "never a 401: the client's key is fine")
            #expect(first.json?["error"]?["code"] == "no_usable_account")
            #expect(first.headers[.retryAfter] == nil)
            let again = try await gateway.chat(request("hi"))
            let message = again.json?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("'key1' needs a sign-in") && message.contains("'key2' needs a sign-in"), "\(message)")
            let anthropic = try await gateway.chat(messagesRequest("hi"), path: "/v1/messages")
            #expect(anthropic.status == .serviceUnavailable)
            #expect(anthropic.json?["type"] == "error")
            #expect(anthropic.json?["error"]?["message"]?.stringValue?.contains("key1") == true)
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 1, "k2": 1], "signed-out accounts are not asked")
        }
    }

    @Test func parallelRequestsSpreadAcrossAccountsAtTheirLimit() async throws {
        let harness = Self.twoAccounts(strategy: .roundRobin)
        try await harness.run { gateway, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let stream = i % 2 == 0
                        let scenario = stream ? "scenario:silence:200 \(i)" : "scenario:sleep:200 \(i)"
                        let response = try await gateway.chat(request(scenario, stream: stream))
                        #expect(response.status == .ok)
                    }
                }
                try await group.waitForAll()
            }
            let stats = harness.mock.stats.withLock { $0 }
            #expect(stats.maxInFlightByKey == ["k1": 1, "k2": 1], "one in flight per account")
            #expect(stats.maxInFlight == 2, "both accounts busy at once")
            let counts = ["k1", "k2"].map { stats.requestsByKey[$0] ?? 0 }
            #expect(counts.reduce(0, +) == 8 && counts.allSatisfy { $0 >= 2 }, "both share the work: \(counts)")
        }
    }

    @Test func aSessionStaysOnOneAccount() async throws {
        let harness = Self.twoAccounts(strategy: .roundRobin)
        try await harness.run { gateway, _ in
            for _ in 0..<4 { _ = try await gateway.chat(request("hi"), headers: [.init("x-session-id")!: "conv-1"]) }
            #expect(harness.mock.stats.withLock { $0.requestsByKey }.values.sorted() == [4])
            var before = harness.mock.stats.withLock { $0.requestsByKey }
            for _ in 0..<4 { _ = try await gateway.chat(request("hi", extra: ["prompt_cache_key": "conv-2"])) }
            var after = harness.mock.stats.withLock { $0.requestsByKey }
            let grown = ["k1", "k2"].map { (after[$0] ?? 0) - (before[$0] ?? 0) }.sorted()
            #expect(grown == [0, 4], "prompt_cache_key keeps a conversation on one account")
            before = after
            for _ in 0..<2 { _ = try await gateway.chat(request("hi")) }
            after = harness.mock.stats.withLock { $0.requestsByKey }
            #expect(["k1", "k2"].map { (after[$0] ?? 0) - (before[$0] ?? 0) } == [1, 1], "without one they take turns")
        }
    }

    @Test func attemptsStopAtMaxAttempts() async throws {
        let harness = GatewayHarness(mock: MockIFlow(apiKey: "k1", more: ["k2", "k3"])) { config in
            config.iflow.apiKey = "k1,k2,k3"
            config.maxAttempts = 2
        }
        harness.mock.failures.withLock { for key in ["k1", "k2", "k3"] { $0[key] = "http:500" } }
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(request("hi"))
            #expect(response.status == .badGateway, "the last upstream failure as it was")
            #expect(harness.mock.requests.count == 2)
        }
    }

    @Test func aRefusedConnectionFallsBackToAnotherProvider() async throws {
        let harness = GatewayHarness { config in
            var broken = OpenAICompatibleConfig(name: "broken", baseURL: "http://127.0.0.1:1/v1")
            broken.models = ["gen-small"]
            config.providers.append(broken)
            config.fallbacks = ["broken/gen-small": ["iflow/glm-4.7"]]
            config.upstreamConnectTimeout = .milliseconds(500)
        }
        try await harness.run { gateway, _ in
            for stream in [false, true] {
                let response = try await gateway.chat(request("hi", model: "broken/gen-small", stream: stream))
                #expect(response.status == .ok)
                let model = stream ? response.events.first??["model"] : response.json?["model"]
                #expect(model == "broken/gen-small", "the name the client asked for")
            }
            #expect(harness.mock.requests.count == 2)
            #expect(harness.mock.requests.last?.body["model"] == "glm-4.7")
        }
    }

    @Test func aRejectedAccountServesAgainWhenEnabled() async throws {
        let harness = Self.twoAccounts()
        harness.mock.failures.withLock { $0["k1"] = "http:401" }
        try await harness.run { gateway, _ in
            _ = try await gateway.chat(request("hi"))
            #expect(try await Self.accounts(gateway)["key1"]?["state"] == "needs_sign_in")
            harness.mock.failures.withLock { $0["k1"] = nil }
            let iflow = try #require(harness.built.iflow)
            #expect(iflow.accounts.setDisabled("key1", false))
            _ = try await gateway.chat(request("hi"))
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == ["k1": 2, "k2": 1])
        }
    }
}
