import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Gateway
@testable import OpenAIWire

/// Request ids on every answer, one access line per request, and the JSON log format.
@Suite struct AccessLogTests {
    static let requestID = HTTPField.Name("x-request-id")!

    func harness(_ lines: GatewayLogHandlerTests.Lines) -> GatewayHarness {
        var logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        logger.logLevel = .info
        return GatewayHarness(logger: logger)
    }

    @Test func everyAnswerCarriesARequestIdAndTheClientsOwnIsKept() async throws {
        try await GatewayHarness().run { gateway, _ in
            let fresh = try await gateway.execute(uri: "/health", method: .get)
            let id = try #require(fresh.headers[Self.requestID])
            let hex = id.allSatisfy { $0.isHexDigit }
            #expect(id.count >= 16 && hex)
            let second = try await gateway.execute(uri: "/health", method: .get)
            #expect(second.headers[Self.requestID] != id)
            let own = try await gateway.chat(request("hi"), headers: [Self.requestID: "trace-42.a:b"])
            #expect(own.headers[Self.requestID] == "trace-42.a:b")
            let hostile = try await gateway.execute(
                uri: "/nope", method: .get, headers: [Self.requestID: "has spaces and \u{7f}"])
            let replaced = try #require(hostile.headers[Self.requestID])
            let replacedIsHex = replaced.allSatisfy { $0.isHexDigit }
            #expect(replacedIsHex, "not copied into logs as it was")
        }
    }

    @Test func oneAccessLineARequestWithModelProviderAndTokens() async throws {
        let lines = GatewayLogHandlerTests.Lines()
        try await harness(lines).run { gateway, _ in
            let plain = try await gateway.chat(request("hi"))
            let plainID = try #require(plain.headers[Self.requestID])
            let stream = try await gateway.chat(request("hi", stream: true))
            #expect(stream.status == .ok)
            let streamID = try #require(stream.headers[Self.requestID])
            _ = try await gateway.chat(request("hi", model: "nope"))
            let text = lines.text.withLock { $0 }
            let access = text.split(separator: "\n").filter { $0.contains("POST /v1/chat/completions") }
            #expect(access.count == 3, "\(text)")
            let plainLine = try #require(access.first { $0.contains(plainID) })
            for part in ["status=200", "model=glm-4.7", "provider=iflow", "prompt_tokens=5", "completion_tokens=4"] {
                #expect(plainLine.contains(part), "\(plainLine)")
            }
            let streamLine = try #require(access.first { $0.contains(streamID) })
            #expect(streamLine.contains("status=200") && streamLine.contains("total_tokens=9"), "\(streamLine)")
            #expect(access.contains { $0.contains("status=404") && $0.contains("info") })
            #expect(!text.contains("sk-"), "no key in any line")
        }
    }

    /// The access line names the client key (its name from `api_keys`, else a digest), never the key.
    @Test func theAccessLineNamesTheClientKey() async throws {
        let lines = GatewayLogHandlerTests.Lines()
        var logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        logger.logLevel = .info
        let harness = GatewayHarness(logger: logger) { config in
            config.clientKeys = ["sk-client-alice", "sk-client-plain"]
            config.clientKeyNames = ["sk-client-alice": "alice"]
        }
        try await harness.run { gateway, _ in
            let alice = try await gateway.chat(request("hi"), headers: [.authorization: "Bearer sk-client-alice"])
            let plain = try await gateway.chat(request("hi"), headers: [ClientKey.apiKeyHeader: "sk-client-plain"])
            #expect(alice.status == .ok && plain.status == .ok)
            let text = lines.text.withLock { $0 }
            let access = text.split(separator: "\n").filter { $0.contains("POST /v1/chat/completions") }
            let (aliceID, plainID) = (try #require(alice.headers[Self.requestID]), try #require(plain.headers[Self.requestID]))
            let aliceLine = try #require(access.first { $0.contains(aliceID) })
            #expect(aliceLine.contains("key=alice") && aliceLine.contains("account=key1"), "\(aliceLine)")
            let plainLine = try #require(access.first { $0.contains(plainID) })
            #expect(plainLine.contains("key=\(ClientKeyNames.derived(from: "sk-client-plain"))"), "\(plainLine)")
            #expect(!text.contains("sk-client"), "no key in any line")
        }
    }

    @Test func jsonLinesCarryTheMessageAndTheMetadata() throws {
        let lines = GatewayLogHandlerTests.Lines()
        var logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines, format: .json) }
        logger[metadataKey: "request_id"] = "req_1"
        logger.warning("upstream failed", metadata: ["status": "502"])
        let line = lines.text.withLock { $0 }
        #expect(line.hasSuffix("\n") && line.split(separator: "\n").count == 1)
        let object = try #require(try JSONCoding.decode(Array(line.utf8)).objectValue)
        #expect(object["message"] == "upstream failed" && object["level"] == "warning")
        #expect(object["request_id"] == "req_1" && object["status"] == "502")
    }

    @Test func upstreamFailuresAreWarningsWithTheirReason() async throws {
        let lines = GatewayLogHandlerTests.Lines()
        try await harness(lines).run { gateway, _ in
            _ = try await gateway.chat(request("scenario:http:500"))
            _ = try await gateway.chat(request("scenario:midstream-error", stream: true))
            let text = lines.text.withLock { $0 }
            let warnings = text.split(separator: "\n").filter { $0.contains("warning") }
            #expect(warnings.count == 2, "\(text)")
            #expect(warnings.first?.contains("status=502") == true)
            #expect(warnings.last?.contains("stream ended by") == true)
        }
    }
}
