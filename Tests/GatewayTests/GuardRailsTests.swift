import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Gateway
@testable import OpenAIWire

/// SPEC 5: client keys, safe defaults, limits, and input that must never hurt the server.
@Suite struct GuardRailsTests {
    static let keys = ["sk-client-one", "sk-client-two"]

    @Test func clientKeysGuardEverythingButHealth() async throws {
        try await GatewayHarness(configure: { $0.clientKeys = Self.keys }).run { gateway, _ in
            let missing = try await gateway.chat(request("hi"))
            #expect(missing.status == .unauthorized)
            #expect(missing.json?["error"]?["code"] == "missing_api_key")
            let wrong = try await gateway.chat(request("hi"), headers: [.authorization: "Bearer sk-client-three"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.json?["error"]?["type"] == "authentication_error")
            let bearer = try await gateway.chat(request("hi"), headers: [.authorization: "Bearer sk-client-two"])
            #expect(bearer.status == .ok)
            let header = try await gateway.chat(request("hi"), headers: [HTTPField.Name("x-api-key")!: "sk-client-one"])
            #expect(header.status == .ok)
            let models = try await gateway.execute(uri: "/v1/models", method: .get)
            #expect(models.status == .unauthorized)
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            let unknown = try await gateway.execute(uri: "/secret/route", method: .get)
            #expect(unknown.status == .unauthorized, "routes are not revealed without a key")
        }
    }

    @Test func constantTimeComparison() {
        #expect(ClientKey.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!ClientKey.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!ClientKey.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!ClientKey.constantTimeEquals([], Array("a".utf8)))
        #expect(ClientKey.constantTimeEquals([], []))
        #expect(!ClientKey.constantTimeEquals(Array("abc".utf8), "ab".utf8))
        #expect(ClientKey.constantTimeEquals(Array("abc".utf8), "xabc".dropFirst().utf8))
    }

    @Test func presentedKeyForms() {
        typealias Middleware = ClientKeyMiddleware<GatewayRequestContext>
        #expect(Middleware.presentedKey([.authorization: "Bearer sk-1"]) == "sk-1")
        #expect(Middleware.presentedKey([.authorization: "bEaReR \t sk-2 \t"]) == "sk-2")
        #expect(Middleware.presentedKey([.authorization: "Basic abc", ClientKey.apiKeyHeader: "sk-3"]) == "sk-3")
        #expect(Middleware.presentedKey([ClientKey.apiKeyHeader: "sk-4", .authorization: "Bearer sk-5"]) == "sk-5")
        #expect(Middleware.presentedKey([.authorization: "Bearer "]) == nil)
        #expect(Middleware.presentedKey([:]) == nil)
    }

    @Test func apiKeyEnvironmentIsCommaSeparated() throws {
        let config = try GatewayConfig.resolve(flags: .init(), environment: ["API_KEY": " a , b,,c "], home: "/h")
        #expect(config.clientKeys == ["a", "b", "c"])
    }

    @Test func nonLoopbackWithoutKeysRefusesToStart() throws {
        var config = GatewayConfig()
        config.host = "0.0.0.0"
        do {
            try config.checkExposure()
            Issue.record("started without keys on 0.0.0.0")
        } catch {
            #expect(error.message.contains("API_KEY"))
        }
        config.clientKeys = ["k"]
        try config.checkExposure()
        config.clientKeys = []
        config.allowUnauthenticated = true
        try config.checkExposure()
        for host in ["127.0.0.1", "localhost", "::1"] {
            var local = GatewayConfig()
            local.host = host
            try local.checkExposure()
        }
    }

    static let valid = #"{"model":"glm-4.7","messages":[{"role":"user","content":"hi"}]"#
    static let hostileBodies: [String] = [
        "", " ", "{", "}", "[]", "null", "42", "\"text\"", "true", "{}", "{}x", "{}{}", "{\"model\":NaN}",
        #"{"messages":[{"role":"user","content":"hi"}]}"#,
        #"{"model":7,"messages":[{"role":"user","content":"hi"}]}"#,
        #"{"model":"","messages":[{"role":"user","content":"hi"}]}"#,
        #"{"model":["glm-4.7"],"messages":[{"role":"user","content":"hi"}]}"#,
        #"{"model":"glm-4.7"}"#,
        #"{"model":"glm-4.7","messages":"hi"}"#,
        #"{"model":"glm-4.7","messages":[]}"#,
        #"{"model":"glm-4.7","messages":[null]}"#,
        #"{"model":"glm-4.7","messages":[1]}"#,
        #"{"model":"glm-4.7","messages":[{"content":"hi"}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":5,"content":"hi"}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"overlord","content":"hi"}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user"}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":5}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":{"text":"hi"}}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":["hi"]}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"tool","content":"42"}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"assistant","tool_calls":{}}]}"#,
        #"{"model":"glm-4.7","messages":[{"role":"assistant","tool_calls":[{"id":"x"}]}]}"#,
        Self.valid + #","stream":"yes"}"#, Self.valid + #","n":0}"#, Self.valid + #","n":1000}"#,
        Self.valid + #","n":-1}"#, Self.valid + #","n":"2"}"#, Self.valid + #","n":2}"#,
        Self.valid + #","temperature":-1}"#, Self.valid + #","temperature":"warm"}"#, Self.valid + #","top_p":2}"#,
        Self.valid + #","max_tokens":0}"#, Self.valid + #","max_tokens":1.5}"#, Self.valid + #","stop":5}"#,
        Self.valid + #","stop":[1]}"#, Self.valid + #","tools":{}}"#, Self.valid + #","tools":[{"type":"function"}]}"#,
        Self.valid + #","tool_choice":5}"#, Self.valid + #","response_format":"json"}"#,
        Self.valid + #","stream_options":"x"}"#, Self.valid + #","user":5}"#,
        Self.valid + #","x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
        Self.valid + #","x":"# + String(repeating: #"{"a":"#, count: 5_000) + "1" + String(repeating: "}", count: 5_000)
            + "}",
        "{\"model\":\"glm-4.7\",\"messages\":[{\"role\":\"user\",\"content\":\"\u{0}\"}]",
    ]

    @Test func hostileBodiesGetA4xxInTheOpenAIShapeAndTheServerStaysUp() async throws {
        #expect(Self.hostileBodies.count >= 30)
        try await GatewayHarness(configure: { $0.bodyLimit = 1 << 20 }).run { gateway, _ in
            for body in Self.hostileBodies {
                let response = try await gateway.raw(body)
                #expect((400..<500).contains(Int(response.status.code)), "\(body.prefix(80))")
                let error = response.json?["error"]?.objectValue
                #expect(Set(error?.keys ?? []) == ["message", "type", "param", "code"], "\(body.prefix(80))")
            }
            // Bytes that are not UTF-8, and a body over the limit.
            let bytes: [UInt8] =
                Array(#"{"model":"glm-4.7","messages":[{"role":"user","content":""#.utf8) + [0xff, 0xfe, 0xc3]
                + Array(#""}]}"#.utf8)
            let invalidUTF8 = try await gateway.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(bytes: bytes))
            #expect(invalidUTF8.status == .badRequest)
            let huge = try await gateway.raw(Self.valid + #","x":""# + String(repeating: "a", count: 2 << 20) + "\"}")
            #expect(huge.status == .contentTooLarge)

            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            let fine = try await gateway.raw(Self.valid + "}")
            #expect(fine.status == .ok)
        }
    }

    @Test func secretsNeverReachTheLogs() async throws {
        let captured = CapturedLog()
        var logger = Logger(label: "redaction") { _ in captured }
        logger.logLevel = .trace
        let clientKey = "sk-client-secret-0123456789"
        let harness = GatewayHarness(logger: logger) { $0.clientKeys = [clientKey] }
        try await harness.run { gateway, config in
            let auth: HTTPFields = [.authorization: "Bearer \(clientKey)"]
            _ = try await gateway.chat(request("hi"), headers: auth)
            _ = try await gateway.chat(request("hi", stream: true), headers: auth)
            _ = try await gateway.chat(request("scenario:business:434"), headers: auth)
            _ = try await gateway.chat(request("scenario:drop", stream: true), headers: auth)
            _ = try await gateway.chat(request("hi"), headers: [.authorization: "Bearer sk-wrong-guess-987"])
            _ = try await gateway.execute(uri: "/health", method: .get)
            let text = captured.text
            #expect(text.contains("listening"), "the capture sees the server's log")
            for secret in [clientKey, "sk-wrong-guess-987", config.iflow.apiKey!] {
                #expect(!text.contains(secret))
            }
        }
    }
}

/// A log handler that keeps every line, to search the output for secrets.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = "\(event.level) \(event.message) \(event.metadata ?? [:]) \(metadata)"
        lines.withLock { $0.append(line) }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

#if canImport(Glibc)
    import Glibc

    @Suite struct SlowClientTests {
        /// Opens a raw TCP connection, sends `bytes`, and measures how long until the server closes it.
        func secondsUntilClosed(port: Int, sending bytes: String) -> Double? {
            guard let connection = try? RawSocket(port: port) else { return nil }
            return withExtendedLifetime(connection) {
                let fd = connection.descriptor
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                _ = bytes.withCString { send(fd, $0, strlen($0), 0) }
                let start = ContinuousClock.now
                var buffer = [UInt8](repeating: 0, count: 4096)
                while recv(fd, &buffer, buffer.count, 0) > 0 {}
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            }
        }

        @Test func slowOrSilentClientsAreDisconnected() async throws {
            try await GatewayHarness(configure: { $0.connectionIdleTimeout = .milliseconds(300) }).run { gateway, _ in
                let port = gateway.port!
                for partial in ["", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"] {
                    let seconds = try #require(secondsUntilClosed(port: port, sending: partial))
                    #expect(seconds < 2, "closed after \(seconds) s")
                }
            }
        }
    }
#endif
