import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import UpstreamHTTP

/// The connection's handler on an embedded channel: what it writes, and which exchange a
/// cancellation reaches.
@Suite struct ExchangeHandlerTests {
    static func connectedChannel() async throws -> (EmbeddedChannel, ExchangeHandler) {
        let channel = EmbeddedChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).get()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        let handler = ExchangeHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        return (channel, handler)
    }

    static func request() throws -> UpstreamRequest {
        UpstreamRequest(
            url: try UpstreamURL("http://upstream.test/v1/x"), headers: ["authorization": "Bearer k"],
            body: ByteBuffer(string: "{}"), deadline: .now() + .seconds(60))
    }

    @Test func headAndBodyLeaveInOneFlush() async throws {
        let (channel, handler) = try await Self.connectedChannel()
        let answer = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.start(try Self.request(), mode: .collect(answer, maxBytes: 100))
        var sent = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let bytes) = part { sent += String(buffer: bytes) }
        }
        #expect(sent.hasPrefix("POST /v1/x HTTP/1.1\r\n"))
        #expect(sent.contains("host: upstream.test\r\n") && sent.contains("content-length: 2\r\n"))
        #expect(sent.hasSuffix("\r\n\r\n{}"))
        answer.fail(CancellationError())
        _ = try? channel.finish()
    }

    @Test func aLateCancellationLeavesTheNextExchangeAlone() async throws {
        let (channel, handler) = try await Self.connectedChannel()
        let first = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.start(try Self.request(), mode: .collect(first, maxBytes: 100))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none"))
        #expect(String(buffer: try await first.futureResult.get().body) == "one")

        let second = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.start(try Self.request(), mode: .collect(second, maxBytes: 100))
        // The first caller's cancellation arrives now: the second exchange goes on.
        handler.cancel(answer: ObjectIdentifier(first.futureResult))
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo"))
        #expect(String(buffer: try await second.futureResult.get().body) == "two")

        // Its own cancellation ends it and the connection.
        let third = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.start(try Self.request(), mode: .collect(third, maxBytes: 100))
        handler.cancel(answer: ObjectIdentifier(third.futureResult))
        await #expect(throws: CancellationError.self) { _ = try await third.futureResult.get() }
        #expect(!channel.isActive)
    }
}
