import Gateway
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
import OpenAIWire
import Testing
import UpstreamHTTP

@testable import Providers

/// The collecting POST that plain (non-streaming) requests use, against the mock.
@Suite struct UpstreamEndpointTests {
    func withMock(_ test: @Sendable (UpstreamClient, UpstreamEndpoint, MockOpenAI) async throws -> Void) async throws {
        let mock = MockOpenAI()
        let router = Router()
        mock.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { upstream in
            let client = UpstreamHTTPClient.make(config: GatewayConfig())
            let endpoint = UpstreamEndpoint(url: "http://127.0.0.1:\(upstream.port!)/openai/v1/chat/completions")
            defer { client.shutdown() }
            try await test(client, endpoint, mock)
        }
    }

    static let body: JSONObject = ["model": "gen-small", "messages": [["role": "user", "content": "hi"]]]

    @Test func sendsHeadersAndBodyAndCollectsTheAnswer() async throws {
        try await withMock { client, endpoint, mock in
            // Twice through the same prepared request: each call gets its own headers and body.
            for attempt in 1...2 {
                let answer = try await client.postJSONCollecting(
                    to: endpoint, headers: [("Authorization", "Bearer sk-generic"), ("X-Attempt", "\(attempt)")],
                    body: Self.body, timeout: .seconds(5), maxBytes: 1 << 20
                ) { status, _ in .upstreamFailed("HTTP \(status)") }
                #expect(
                    try JSONCoding.decode(answer)["choices"]?.arrayValue?.first?["message"]?["content"] == "answer 0")
                let sent = try #require(mock.requests.withLock { $0.last })
                #expect(sent.headers["x-attempt"] == "\(attempt)")
                #expect(sent.body == Self.body)
            }
        }
    }

    @Test func failuresAndOversizedAnswers() async throws {
        try await withMock { client, endpoint, _ in
            var expected = GatewayError.upstreamFailed("HTTP 401 bad key")
            expected.upstreamStatus = 401  // kept for the operator's log
            await #expect(throws: expected) {
                _ = try await client.postJSONCollecting(
                    to: endpoint, headers: [("Authorization", "Bearer wrong")], body: Self.body, timeout: .seconds(5),
                    maxBytes: 1 << 20
                ) { status, body in
                    let message = (try? JSONCoding.decode(body))?["error"]?["message"]?.stringValue ?? ""
                    return .upstreamFailed("HTTP \(status) \(message)")
                }
            }
            do {
                _ = try await client.postJSONCollecting(
                    to: endpoint, headers: [("Authorization", "Bearer sk-generic")], body: Self.body,
                    timeout: .seconds(5), maxBytes: 16
                ) { status, _ in .upstreamFailed("HTTP \(status)") }
                Issue.record("an answer over the limit was accepted")
            } catch let error as GatewayError {
                #expect(error.status == 502)
                #expect(error.code == "upstream_response_too_large")
            }
        }
    }
}
