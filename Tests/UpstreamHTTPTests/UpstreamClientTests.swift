import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOPosix
import Testing

@testable import UpstreamHTTP

/// flowgate's upstream HTTP client against scripted servers: pooling, framing, every
/// timeout, cancellation, back-pressure's end, TLS and the proxy tunnel.
@Suite struct UpstreamClientTests {
    static func client(readTimeout: TimeAmount = .seconds(5), connectTimeout: TimeAmount = .seconds(5),
                       proxy: UpstreamClient.Proxy? = nil, tls: TLSConfiguration? = nil,
                       idleTimeout: TimeAmount = .seconds(60)) -> UpstreamClient {
        var configuration = UpstreamClient.Configuration()
        configuration.idleTimeout = idleTimeout
        configuration.readTimeout = readTimeout
        configuration.connectTimeout = connectTimeout
        configuration.proxy = proxy
        if let tls { configuration.tls = tls }
        return UpstreamClient(configuration: configuration)
    }

    static func post(_ url: String, _ body: String = "{}", headers: HTTPHeaders = [:], within: TimeAmount = .seconds(5))
        throws -> UpstreamRequest
    {
        UpstreamRequest(
            url: try UpstreamURL(url), headers: headers, body: ByteBuffer(string: body), deadline: .now() + within)
    }

    @Test func oneKeptAliveConnectionCarriesRequestAfterRequest() async throws {
        let server = try await ScriptedServer { request in .ok("answer to \(request.body)") }
        let client = Self.client()
        defer { client.shutdown() }
        for n in 1...3 {
            let answer = try await client.collect(
                Self.post("http://127.0.0.1:\(server.port)/v1/chat?x=1", "{\"n\":\(n)}", headers: ["authorization": "Bearer k"]),
                maxBytes: 1 << 20)
            #expect(answer.status == 200)
            #expect(String(buffer: answer.body) == "answer to {\"n\":\(n)}")
        }
        #expect(server.connections == 1)
        #expect(client.idleConnections == 1)
        let head = try #require(server.requests.first?.head)
        #expect(head.hasPrefix("POST /v1/chat?x=1 HTTP/1.1\r\n"))
        #expect(head.contains("authorization: Bearer k"))
        #expect(head.contains("host: 127.0.0.1:\(server.port)"))
        #expect(head.contains("content-length: 7"))
        await server.stop()
    }

    @Test func aConnectionEitherSideClosesIsNotUsedAgain() async throws {
        let server = try await ScriptedServer { request in
            switch request.body {
            case "close-header": .ok("bye", headers: "connection: close\r\n")
            case "close-after": ScriptedServer.Reply(bytes: ScriptedServer.Reply.ok("done").bytes, close: true)
            default: .ok("fine")
            }
        }
        let client = Self.client()
        defer { client.shutdown() }
        let url = "http://127.0.0.1:\(server.port)/"
        #expect(String(buffer: try await client.collect(Self.post(url, "close-header"), maxBytes: 1024).body) == "bye")
        #expect(String(buffer: try await client.collect(Self.post(url, "close-after"), maxBytes: 1024).body) == "done")
        // The server's close reaches the pool before the next request (it is removed, not reused).
        try await waitUntil { client.idleConnections == 0 }
        #expect(String(buffer: try await client.collect(Self.post(url, "again"), maxBytes: 1024).body) == "fine")
        #expect(server.connections == 3)
        await server.stop()
    }

    /// The upstream may close a kept-alive connection just as it is taken for a request: found
    /// closed with nothing sent, it is replaced once, and the request goes out on a new one.
    @Test func aPooledConnectionClosedBeforeItsRequestIsSentIsReplaced() async throws {
        let server = try await ScriptedServer { request in .ok("answer to \(request.body)") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = UpstreamClient(configuration: .init(), group: group)
        let url = "http://127.0.0.1:\(server.port)/"
        _ = try await client.collect(Self.post(url, "one"), maxBytes: 1024)
        let pooled = try #require(client.pool.take(try UpstreamURL(url).origin, preferring: nil))
        client.pool.put(pooled)
        // The connection's only thread is held until the next request has taken the connection from
        // the pool, then closes it: that request's start, queued on the thread, finds it closed.
        group.next().execute {
            let deadline = NIODeadline.now() + .seconds(5)
            while client.idleConnections > 0, NIODeadline.now() < deadline { usleep(1000) }
            usleep(50_000)
            pooled.closeIfIdle()
        }
        let answer = try await client.collect(Self.post(url, "two"), maxBytes: 1024)
        #expect(String(buffer: answer.body) == "answer to two")
        #expect(server.connections == 2)
        #expect(server.requests.map(\.body) == ["one", "two"], "nothing was sent on the closed connection")
        client.shutdown()
        try await group.shutdownGracefully()
        await server.stop()
    }

    @Test func aConnectionIdleForLongerThanTheIdleTimeoutIsClosed() async throws {
        let server = try await ScriptedServer { _ in .ok("fine") }
        let client = Self.client(idleTimeout: .seconds(1))
        defer { client.shutdown() }
        _ = try await client.collect(Self.post("http://127.0.0.1:\(server.port)/"), maxBytes: 1024)
        #expect(client.idleConnections == 1)
        try await Task.sleep(for: .milliseconds(500))
        #expect(server.closedConnections == 0, "not before the idle timeout")
        try await waitUntil { server.closedConnections == 1 }
        #expect(client.idleConnections == 0)
        await server.stop()
    }

    @Test func aBodyWithoutLengthEndsWithTheConnection() async throws {
        let server = try await ScriptedServer { _ in
            ScriptedServer.Reply(bytes: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of ", close: true, later: [(.milliseconds(20), "it")])
        }
        let client = Self.client()
        defer { client.shutdown() }
        let answer = try await client.collect(Self.post("http://127.0.0.1:\(server.port)/"), maxBytes: 1024)
        #expect(String(buffer: answer.body) == "all of it")
        #expect(client.idleConnections == 0)
        await server.stop()
    }

    @Test func aStreamedBodyArrivesInOrderAndItsConnectionIsReused() async throws {
        let server = try await ScriptedServer { _ in
            ScriptedServer.Reply(
                bytes: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                later: [(.milliseconds(10), "6\r\nevent1\r\n"), (.milliseconds(10), "6\r\nevent2\r\n"), (.milliseconds(10), "0\r\n\r\n")])
        }
        let client = Self.client()
        defer { client.shutdown() }
        for _ in 1...2 {
            let response = try await client.stream(Self.post("http://127.0.0.1:\(server.port)/"))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var text = ""
            for try await part in response.body { text += String(buffer: part) }
            #expect(text == "event1event2")
        }
        try await waitUntil { client.idleConnections == 1 }
        #expect(server.connections == 1)
        await server.stop()
    }

    @Test func noAnswerBeforeTheDeadlineIsATimeoutAndClosesTheConnection() async throws {
        let server = try await ScriptedServer { _ in .silent }
        let client = Self.client()
        defer { client.shutdown() }
        let started = ContinuousClock.now
        await #expect(throws: UpstreamError.deadlineExceeded) {
            _ = try await client.collect(Self.post("http://127.0.0.1:\(server.port)/", within: .milliseconds(200)), maxBytes: 1024)
        }
        await #expect(throws: UpstreamError.deadlineExceeded) {
            _ = try await client.stream(Self.post("http://127.0.0.1:\(server.port)/", within: .milliseconds(200)))
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        try await waitUntil { server.closedConnections == 2 }
        await server.stop()
    }

    @Test func aBodySilentForLongerThanTheReadTimeoutFails() async throws {
        let server = try await ScriptedServer { _ in
            ScriptedServer.Reply(bytes: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        }
        let client = Self.client(readTimeout: .milliseconds(300))
        defer { client.shutdown() }
        let response = try await client.stream(Self.post("http://127.0.0.1:\(server.port)/"))
        var parts: [String] = []
        await #expect(throws: UpstreamError.readTimeout) {
            for try await part in response.body { parts.append(String(buffer: part)) }
        }
        #expect(parts == ["first"])
        try await waitUntil { server.closedConnections == 1 }
        await server.stop()
    }

    @Test func aReaderThatStopsEarlyClosesTheConnection() async throws {
        let server = try await ScriptedServer { _ in
            ScriptedServer.Reply(
                bytes: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n",
                later: [(.milliseconds(50), "6\r\nsecond\r\n")])
        }
        let client = Self.client()
        defer { client.shutdown() }
        do {
            let response = try await client.stream(Self.post("http://127.0.0.1:\(server.port)/"))
            for try await _ in response.body { break }
        }
        try await waitUntil { server.closedConnections == 1 }
        #expect(client.idleConnections == 0)
        await server.stop()
    }

    @Test func cancellingTheCallerClosesTheConnection() async throws {
        let server = try await ScriptedServer { _ in .silent }
        let client = Self.client()
        defer { client.shutdown() }
        let task = Task { try await client.collect(Self.post("http://127.0.0.1:\(server.port)/", within: .seconds(30)), maxBytes: 1024) }
        try await waitUntil { server.requests.count == 1 }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        try await waitUntil { server.closedConnections == 1 }
        await server.stop()
    }

    @Test func anAnswerOverTheLimitIsRefused() async throws {
        let server = try await ScriptedServer { _ in .ok(String(repeating: "x", count: 5000)) }
        let client = Self.client()
        defer { client.shutdown() }
        await #expect(throws: UpstreamError.responseTooLarge(limit: 4096)) {
            _ = try await client.collect(Self.post("http://127.0.0.1:\(server.port)/"), maxBytes: 4096)
        }
        await server.stop()
    }

    @Test func aHeaderWithALineBreakIsNeverSent() async throws {
        let server = try await ScriptedServer { _ in .ok("no") }
        let client = Self.client()
        defer { client.shutdown() }
        await #expect(throws: UpstreamError.invalidRequestHeader) {
            _ = try await client.collect(
                Self.post("http://127.0.0.1:\(server.port)/", headers: ["authorization": "Bearer sk\r\nx-injected: yes"]),
                maxBytes: 1024)
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(server.requests.isEmpty)
        await server.stop()
    }

    @Test func aRefusedConnectionFailsAtOnce() async throws {
        let server = try await ScriptedServer { _ in .silent }
        let port = server.port
        await server.stop()
        let client = Self.client()
        defer { client.shutdown() }
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            _ = try await client.collect(Self.post("http://127.0.0.1:\(port)/"), maxBytes: 1024)
        }
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func tlsWithTheServersNameAndATrustedRoot() async throws {
        let (certificate, key) = try SelfSignedCertificate.make()
        let server = try await ScriptedServer(
            tls: try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        ) { request in .ok("secure \(request.body)") }
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        let client = Self.client(tls: trusting)
        defer { client.shutdown() }
        for _ in 1...2 {
            let answer = try await client.collect(Self.post("https://localhost:\(server.port)/", "hi"), maxBytes: 1024)
            #expect(String(buffer: answer.body) == "secure hi")
        }
        #expect(server.connections == 1)
        #expect(server.requests.first?.head.contains("host: localhost:\(server.port)") == true)

        // The system's roots do not know this certificate: no request is sent.
        let strict = Self.client()
        defer { strict.shutdown() }
        await #expect(throws: (any Error).self) {
            _ = try await strict.collect(Self.post("https://localhost:\(server.port)/", "never"), maxBytes: 1024)
        }
        #expect(server.requests.count == 2)
        await server.stop()
    }

    @Test func httpsThroughAProxysTunnel() async throws {
        let (certificate, key) = try SelfSignedCertificate.make()
        let server = try await ScriptedServer(
            tls: try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        ) { _ in .ok("through") }
        let proxy = try await TunnelProxy(.tunnel)
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        let client = Self.client(proxy: .init(host: "127.0.0.1", port: proxy.port), tls: trusting)
        defer { client.shutdown() }
        let answer = try await client.collect(Self.post("https://localhost:\(server.port)/x"), maxBytes: 1024)
        #expect(String(buffer: answer.body) == "through")
        #expect(proxy.connectLines == ["CONNECT localhost:\(server.port) HTTP/1.1"])
        await proxy.stop()
        await server.stop()
    }

    @Test func aProxyThatRefusesOrNeverAnswers() async throws {
        let refusing = try await TunnelProxy(.refuse(status: 407))
        let client = Self.client(proxy: .init(host: "127.0.0.1", port: refusing.port))
        defer { client.shutdown() }
        await #expect(throws: UpstreamError.proxyRefused(status: 407)) {
            _ = try await client.collect(Self.post("http://upstream.invalid/"), maxBytes: 1024)
        }
        let silent = try await TunnelProxy(.silent)
        let waiting = Self.client(connectTimeout: .milliseconds(300), proxy: .init(host: "127.0.0.1", port: silent.port))
        defer { waiting.shutdown() }
        await #expect(throws: UpstreamError.connectTimeout) {
            _ = try await waiting.collect(Self.post("http://upstream.invalid/"), maxBytes: 1024)
        }
        await refusing.stop()
        await silent.stop()
    }

    @Test func urlsParseOnce() throws {
        let url = try UpstreamURL("https://API.example.com/v1/chat/completions?a=b")
        #expect(url.host == "API.example.com" && url.port == 443 && url.target == "/v1/chat/completions?a=b")
        #expect(url.hostHeader == "API.example.com")
        #expect(try UpstreamURL("http://[::1]:8080").hostHeader == "[::1]:8080")
        #expect(try UpstreamURL("http://[::1]:8080").target == "/")
        #expect(throws: UpstreamError.invalidURL) { try UpstreamURL("ftp://example.com/") }
        #expect(throws: UpstreamError.invalidURL) { try UpstreamURL("not a url") }
    }
}

/// Polls `condition` for up to 5 s (what another thread does, seen from the test).
func waitUntil(_ condition: () -> Bool) async throws {
    let end = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < end else {
            Issue.record("the condition did not come true within 5 s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A certificate for `localhost` made with the machine's `openssl`, for one test.
enum SelfSignedCertificate {
    static func make() throws -> (NIOSSLCertificate, NIOSSLPrivateKey) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flowgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory.appendingPathComponent("key.pem").path, "-out", directory.appendingPathComponent("cert.pem").path,
            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw UpstreamError.invalidResponse }
        return (
            try NIOSSLCertificate.fromPEMFile(directory.appendingPathComponent("cert.pem").path)[0],
            try NIOSSLPrivateKey(file: directory.appendingPathComponent("key.pem").path, format: .pem)
        )
    }
}
