import AsyncHTTPClient
import Foundation
import Mocks
import NIOCore
import OpenAIWire
import Testing

/// SPEC 3: when the client disconnects, the upstream request is cancelled at once.
@Suite struct DisconnectTests {
    func waitForCancellation(_ mock: MockIFlow, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if mock.cancelledStreams > 0 { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// `readChunks` 0: leave while the upstream is still working on the request (once it has it).
    func send(_ body: JSON, port: Int, readChunks: Int, mock: MockIFlow? = nil) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(JSONCoding.buffer(body))
        let task = Task {
            let response = try await client.execute(request, timeout: .seconds(30))
            var seen = 0
            for try await _ in response.body {
                seen += 1
                if seen >= readChunks { return }  // leaving the loop closes the connection
            }
        }
        if readChunks == 0 {
            // Under load the request may take a while to arrive; leaving before it did tests nothing.
            let deadline = ContinuousClock.now + .seconds(10)
            while mock?.requests.isEmpty ?? false, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
        }
        _ = try? await task.value
        try await client.shutdown()
    }

    @Test func clientGoneMidStreamCancelsUpstreamWithinASecond() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            try await send(request("scenario:slow", stream: true), port: gateway.port!, readChunks: 2)
            #expect(try await waitForCancellation(harness.mock, within: .seconds(1)))
        }
    }

    /// The upstream sends nothing a client would get for 5 s: the client's leaving is seen on its
    /// connection, not at the next event written.
    @Test func clientGoneWhileTheUpstreamIsSilentCancelsUpstreamAtOnce() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            try await send(request("scenario:stall:5000", stream: true), port: gateway.port!, readChunks: 1)
            #expect(try await waitForCancellation(harness.mock, within: .seconds(2)))
        }
    }

    @Test func clientGoneBeforeTheAnswerCancelsUpstream() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            try await send(request("scenario:sleep:5000"), port: gateway.port!, readChunks: 0, mock: harness.mock)
            #expect(try await waitForCancellation(harness.mock, within: .seconds(1)))
        }
    }

    /// docs/architecture.md, "Account pools": a client that leaves is nobody's fault; three in a row
    /// must not cool the account as three upstream failures would.
    @Test func clientsThatLeaveDoNotCoolTheAccount() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            for stream in [false, true, false, false] {
                let before = harness.mock.requests.count
                let text = stream ? "scenario:silence:5000" : "scenario:sleep:5000"
                let client = HTTPClient(eventLoopGroupProvider: .singleton)
                var post = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port!)/v1/chat/completions")
                post.method = .POST
                post.headers.add(name: "content-type", value: "application/json")
                post.body = .bytes(JSONCoding.buffer(request(text, stream: stream)))
                let task = Task { try await client.execute(post, timeout: .seconds(30)) }
                try await waitUntil { harness.mock.requests.count > before }
                task.cancel()
                _ = try? await task.value
                try await client.shutdown()
            }
            try await Task.sleep(for: .milliseconds(300))
            let health = try await gateway.execute(uri: "/health", method: .get).json
            #expect(health?["providers"]?["iflow"]?["accounts"]?.arrayValue?.first?["state"] == "ok")
            #expect(try await gateway.chat(request("hi")).status == .ok)
        }
    }
}
