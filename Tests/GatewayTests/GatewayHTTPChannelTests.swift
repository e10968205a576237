import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import Gateway

/// The server edge (docs/architecture.md, "The server edge"), spoken to over a raw socket:
/// what clients send that an HTTP library would not (pipelining, a body in pieces).
@Suite struct GatewayHTTPChannelTests {
    static let bodyLimit = 1024

    /// `bytesRead` counts what the server reads from each socket; `/wait` answers once `gate` opens.
    func withServer(
        bytesRead: ByteCount = ByteCount(), gate: Gate = Gate(),
        _ test: @escaping @Sendable (_ port: Int) async throws -> Void
    ) async throws {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/echo/:word") { _, context -> String in try context.parameters.require("word") }
        router.get("/wait") { _, _ -> String in
            gate.entered.withLock { $0 = true }
            let deadline = ContinuousClock.now + .seconds(5)
            while !gate.isOpen.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            return "waited"
        }
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
                CountingReads(
                    inner: GatewayHTTPChannel(responder: responder, watch: ConnectionWatch(), bodyLimit: Self.bodyLimit),
                    count: bytesRead)
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

    /// A client that pipelines cannot make the server queue requests without end: while one
    /// waits behind an answer, nothing more is read from its socket.
    @Test func aPipelinedRequestWaitingBehindAnAnswerHoldsFurtherReads() async throws {
        let bytesRead = ByteCount(), gate = Gate()
        try await withServer(bytesRead: bytesRead, gate: gate) { port in
            let socket = try RawSocket(port: port)
            let first = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"
            let second = "GET /echo/second HTTP/1.1\r\nHost: x\r\n\r\n"
            let third = "GET /echo/third HTTP/1.1\r\nHost: x\r\n\r\n"
            try socket.send(first)
            try await waitUntil { gate.entered.withLock { $0 } }
            try socket.send(second)
            try await waitUntil { bytesRead.total == first.utf8.count + second.utf8.count }
            try socket.send(third)
            try await Task.sleep(for: .milliseconds(200))
            #expect(bytesRead.total == first.utf8.count + second.utf8.count, "the third request stays unread")
            gate.isOpen.withLock { $0 = true }
            let answer = await socket.receive { $0.hasSuffix("third") }
            let order = ["waited", "second", "third"].map { answer.range(of: "\r\n\r\n\($0)")?.lowerBound }
            #expect(order.allSatisfy { $0 != nil } && order == order.sorted { $0! < $1! }, "\(answer)")
            #expect(bytesRead.total == first.utf8.count + second.utf8.count + third.utf8.count)
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
            let before = Int(Date().timeIntervalSince1970)
            try socket.send("GET /echo/hi HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await socket.receive { $0.hasSuffix("hi") }
            let after = Int(Date().timeIntervalSince1970)
            // The answer's second lies between the two looks at the clock.
            let dates = (before...after).map { "date: \(HTTPDate.format($0).lowercased())\r\n" }
            #expect(dates.contains { answer.lowercased().contains($0) }, "\(answer)")
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

/// Opens the test route `/wait`.
final class Gate: Sendable {
    let entered = Mutex(false)
    let isOpen = Mutex(false)
}

/// Bytes read from client sockets, counted in front of the server's pipeline.
final class ByteCount: Sendable {
    private let count = Mutex(0)
    var total: Int { count.withLock { $0 } }
    func add(_ bytes: Int) { count.withLock { $0 += bytes } }
}

/// A server channel with a handler first in each connection's pipeline that counts what it reads.
struct CountingReads<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let count: ByteCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(Counter(count: count), position: .first)
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    private final class Counter: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let count: ByteCount
        init(count: ByteCount) { self.count = count }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            count.add(unwrapInboundIn(data).readableBytes)
            context.fireChannelRead(data)
        }
    }
}

/// A graceful shutdown's quiescing (docs/architecture.md, "The server edge"): a connection with
/// no request in progress closes at once; one mid-request is left to finish its answer.
@Suite struct ConnectionQuiescingTests {
    func connectedHandler() throws -> (EmbeddedChannel, HTTPConnectionHandler) {
        let handler = HTTPConnectionHandler(
            bodyLimit: 1024, idleTimeout: nil, deadline: RequestReadDeadline(timeout: .seconds(60)),
            watch: ConnectionWatch())
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            HTTPResponseEncoder(configuration: .init()), ByteToMessageHandler(HTTPRequestDecoder()), handler,
        ])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler)
    }

    @Test func anIdleConnectionClosesAtOnce() throws {
        let (channel, _) = try connectedHandler()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test func aConnectionWithARequestWaitingStaysOpen() throws {
        let (channel, _) = try connectedHandler()
        try channel.writeInbound(ByteBuffer(string: "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive, "its answer is still to be written")
        _ = try? channel.finish()
    }
}
