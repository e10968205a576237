import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
import OpenAIWire
import Testing

@testable import Gateway

/// SPEC 4.1: one request in flight per iFlow account, a bounded FIFO line behind it.
@Suite struct AccountConcurrencyTests {
    @Test func limitHoldsUnderFiftyParallelClients() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let stream = i % 2 == 0
                        let response = try await gateway.chat(
                            request(stream ? "scenario:silence:50 \(i)" : "scenario:sleep:50 \(i)", stream: stream))
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 50)
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(harness.mock.stats.withLock { $0.maxInFlight } == 1)
        }
    }

    @Test func fullLineIs429WithRetryAfter() async throws {
        let harness = GatewayHarness { $0.iflow.concurrency.maxWaiting = 1 }
        try await harness.run { gateway, _ in
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for i in 0..<6 {
                    group.addTask { try await gateway.chat(request("scenario:sleep:300 \(i)")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let limited = responses.filter { $0.status == .tooManyRequests }
            let served = responses.filter { $0.status == .ok }
            #expect(served.count == 2, "one in flight, one waiting")
            #expect(limited.count == 4)
            #expect(limited.allSatisfy { $0.headers[.retryAfter] != nil && $0.json?["error"]?["code"] == "queue_full" })
        }
    }

    @Test func unlimitedWhenZero() async throws {
        let harness = GatewayHarness { $0.iflow.concurrency.limit = 0 }
        try await harness.run { gateway, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 { group.addTask { _ = try await gateway.chat(request("scenario:sleep:300 \(i)")) } }
                try await group.waitForAll()
            }
            #expect(harness.mock.stats.withLock { $0.maxInFlight } > 1)
        }
    }

    @Test func clientThatLeavesWhileQueuedLeavesTheLine() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let port = gateway.port!
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            func post(_ text: String) -> HTTPClientRequest {
                var r = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                r.method = .POST
                r.headers.add(name: "content-type", value: "application/json")
                r.body = .bytes(JSONCoding.buffer(request(text)))
                return r
            }
            let holder = Task { try await client.execute(post("scenario:sleep:1500"), timeout: .seconds(10)) }
            // The holder has the account's one slot (on a loaded machine that can take a while).
            try await waitUntil { harness.mock.stats.withLock { $0.inFlight } == 1 }
            let queued = Task { try await client.execute(post("queued"), timeout: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(200))
            queued.cancel()
            _ = try? await queued.value
            _ = try await holder.value
            try await Task.sleep(for: .milliseconds(200))
            #expect(harness.mock.requests.count == 1, "the queued request never reached the upstream")
            try await client.shutdown()
        }
    }
}
