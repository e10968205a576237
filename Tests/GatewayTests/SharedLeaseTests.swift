import Foundation
import HummingbirdTesting
import Mocks
import Stores
import Testing

@testable import Gateway

/// An account's in-flight limit holds for all instances on a shared store together
/// (docs/architecture.md, "State store"): two gateways, one mock iFlow, one store.
@Suite struct SharedLeaseTests {
    /// Runs `test` with two gateways on `store`, both in front of `mock` (the same key, limit 1).
    static func twoInstances(
        mock: MockIFlow = MockIFlow(), store: any StateStore,
        configure: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in },
        _ test: @escaping @Sendable (any TestClientProtocol, any TestClientProtocol) async throws -> Void
    ) async throws {
        let first = GatewayHarness(mock: mock, store: store, configure: configure)
        let second = GatewayHarness(mock: mock, store: store, configure: configure)
        try await first.run { one, _ in
            try await second.run { two, _ in try await test(one, two) }
        }
    }

    @Test func theLimitHoldsAcrossTwoInstances() async throws {
        let mock = MockIFlow()
        try await Self.twoInstances(mock: mock, store: MemoryStateStore(shared: true)) { one, two in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let gateway = i % 2 == 0 ? one : two
                        let body = request(i % 4 < 2 ? "scenario:sleep:50 \(i)" : "scenario:silence:50 \(i)", stream: i % 4 >= 2)
                        return Int(try await gateway.chat(body).status.code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 20 && statuses.allSatisfy { $0 == 200 })
            #expect(mock.stats.withLock { $0.maxInFlight } == 1, "one in flight across both instances")
        }
        #expect(mock.requests.count == 20)
    }

    /// Without the shared store each instance keeps its own line: the proof the test above can fail.
    @Test func separateStoresDoNotShareTheLimit() async throws {
        let mock = MockIFlow()
        let first = GatewayHarness(mock: mock, store: MemoryStateStore())
        let second = GatewayHarness(mock: mock, store: MemoryStateStore())
        try await first.run { one, _ in
            try await second.run { two, _ in
                // Each answer waits until both are in flight: with one shared line the second
                // could not start, the first would give up waiting after 5 s, and the count stays 1.
                async let a = one.chat(request("scenario:meet:2 a"))
                async let b = two.chat(request("scenario:meet:2 b"))
                _ = try await (a, b)
            }
        }
        #expect(mock.stats.withLock { $0.maxInFlight } == 2)
    }

    /// A crashed holder's slot lapses; a waiter gives up with 429 after the line's wait.
    @Test func aSlotHeldElsewhereIsWaitedForThenGivenUp() async throws {
        let store = MemoryStateStore(shared: true)
        let harness = GatewayHarness(store: store) { $0.iflow.concurrency.waitTimeout = .seconds(5) }
        try await harness.run { gateway, _ in
            // Another instance holds the only slot until 1.5 s from now (it died without releasing).
            let now = Date()
            let dead = try await store.acquireLease(
                key: "iflow/key1", limit: 1, holder: "dead", now: now, expires: now.addingTimeInterval(1.5))
            #expect(dead == 0)
            let started = ContinuousClock.now
            #expect(try await gateway.chat(request("hi")).status == .ok)
            let waited = ContinuousClock.now - started
            // Not before the slot lapsed; the 200 itself shows it was before the 5 s wait ran out.
            #expect(waited > .seconds(1.2), "served once the dead holder's slot lapsed")
            // Held again by someone alive for longer than the wait.
            let later = Date()
            let alive = try await store.acquireLease(
                key: "iflow/key1", limit: 1, holder: "alive", now: later, expires: later.addingTimeInterval(60))
            #expect(alive != nil)
        }
        let short = GatewayHarness(store: store) { $0.iflow.concurrency.waitTimeout = .milliseconds(400) }
        try await short.run { gateway, _ in
            let answer = try await gateway.chat(request("hi"))
            #expect(answer.status == .tooManyRequests)
            #expect(answer.json?["error"]?["code"] == "queue_timeout")
            #expect(answer.headers[.retryAfter] == "5")
        }
    }

    /// Released slots go back to the store at once, and no lease is left behind.
    @Test func slotsAreReleasedAfterPlainStreamedAndFailedRequests() async throws {
        let store = MemoryStateStore(shared: true)
        let mock = MockIFlow()
        let harness = GatewayHarness(mock: mock, store: store)
        try await harness.run { gateway, _ in
            #expect(try await gateway.chat(request("hi")).status == .ok)
            #expect(try await gateway.chat(request("hi", stream: true)).status == .ok)
            mock.failures.withLock { $0[mock.apiKey] = "http:400" }
            #expect(try await gateway.chat(request("hi")).status == .badRequest)
            try await Task.sleep(for: .milliseconds(100))
            let now = Date()
            let probe = try await store.acquireLease(
                key: "iflow/key1", limit: 1, holder: "probe", now: now, expires: now.addingTimeInterval(5))
            #expect(probe == 0, "every slot was given back")
        }
    }
}
