import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import NIOCore
import Testing

@testable import Gateway

/// The server edge (docs/architecture.md, "The server edge"), spoken to over a raw socket:
/// what clients send that an HTTP library would not (pipelining, a body in pieces).
@Suite struct GatewayHTTPChannelTests {
    static let bodyLimit = 1024

    func withServer(_ test: @escaping @Sendable (_ port: Int) async throws -> Void) async throws {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/echo/:word") { _, context -> String in try context.parameters.require("word") }
        router.post("/length") { request, _ -> Response in
            do {
                let body = try await request.body.collect(upTo: Self.bodyLimit)
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "\(body.readableBytes)")))
            } catch is NIOTooManyBytesError {
                return Response(status: .contentTooLarge)
            }
        }
        router.get("/unfinished") { _, _ -> Response in
            Response(status: .ok, body: ResponseBody { writer in try await writer.write(ByteBuffer(string: "partial")) })
        }
        let responder = router.buildResponder()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { _ in
                GatewayHTTPChannel(responder: responder, watch: ConnectionWatch(), bodyLimit: Self.bodyLimit)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await test(client.port!) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            try socket.send("GET /echo/first HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/second HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await socket.receive { $0.components(separatedBy: "HTTP/1.1 200").count == 3 && $0.hasSuffix("second") }
            let first = try #require(answer.range(of: "first")), second = try #require(answer.range(of: "second"))
            #expect(first.upperBound <= second.lowerBound)
        }
    }

    @Test func aBodyThatArrivesAfterItsHeadReachesTheRouteWhole() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            try socket.send("POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            try await Task.sleep(for: .milliseconds(50))
            try socket.send("defg")
            try await Task.sleep(for: .milliseconds(50))
            try socket.send("hij")
            let answer = await socket.receive { $0.hasSuffix("\r\n\r\n10") }
            #expect(answer.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func aBodyOverTheLimitIsRefusedAndTheConnectionStaysInStep() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            let big = String(repeating: "x", count: Self.bodyLimit * 5)
            try socket.send("POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: \(big.utf8.count)\r\n\r\n\(big)")
            try socket.send("GET /echo/after HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await socket.receive { $0.hasSuffix("after") }
            #expect(answer.hasPrefix("HTTP/1.1 413"))
            #expect(answer.contains("HTTP/1.1 200"), "the dropped rest of the body was not read as a request")
        }
    }

    @Test func answersCarryTheDate() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            try socket.send("GET /echo/hi HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await socket.receive { $0.hasSuffix("hi") }
            #expect(answer.lowercased().contains("date: \(HTTPDate.now().lowercased())\r\n"))
        }
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(1_796_000_000) == "Mon, 30 Nov 2026 00:53:20 GMT")
    }

    @Test func anAnswerWhoseBodyNeverEndsClosesTheConnection() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            try socket.send("GET /unfinished HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await socket.receive { $0.contains("partial") }
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains("partial"))
            #expect(await socket.closedByPeer(), "no second answer can follow an unended one")
        }
    }

    @Test func anHTTP10ClientThatAsksForKeepAliveKeepsItsConnection() async throws {
        try await withServer { port in
            let socket = try RawSocket(port: port)
            try socket.send("GET /echo/one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            _ = await socket.receive { $0.hasSuffix("one") }
            try socket.send("GET /echo/two HTTP/1.0\r\n\r\n")
            let second = await socket.receive { $0.hasSuffix("two") }
            #expect(second.lowercased().contains("connection: close"))
            #expect(await socket.closedByPeer(), "closed after the answer to a request without keep-alive")
        }
    }
}

/// A TCP client for bytes no HTTP library sends. Its waits run on Dispatch's threads, not
/// on the tasks' few threads, which the server under test needs.
private final class RawSocket: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
    }

    /// Whether the server ends the connection (nothing more arrives) within 2 s.
    func closedByPeer() async -> Bool {
        await offThePool { self.blockingClosedByPeer() }
    }

    private func blockingClosedByPeer() -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 2000) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }

    /// What arrives until `done` says so, the connection ends, or 5 s pass.
    func receive(until done: @escaping @Sendable (String) -> Bool) async -> String {
        await offThePool { self.blockingReceive(until: done) }
    }

    private func offThePool<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    private func blockingReceive(until done: (String) -> Bool) -> String {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(5)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[..<n]
            if done(String(decoding: received, as: UTF8.self)) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }
}
