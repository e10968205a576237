import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOConcurrencyHelpers

/// A raw HTTP/1.1 server on 127.0.0.1 whose answers a test writes byte for byte, so that it
/// can answer as upstreams do at their worst (close, stall, answer without a length). It
/// records every connection and every request exactly as it arrived.
final class ScriptedServer: Sendable {
    /// What the server does with a request: the bytes to send back (nil: nothing), then whether to close.
    struct Reply: Sendable {
        var bytes: String?
        var close = false
        /// Sent this long after `bytes`, in pieces, before the close (if any).
        var later: [(TimeAmount, String)] = []

        static func ok(_ body: String, headers: String = "") -> Reply {
            Reply(bytes: "HTTP/1.1 200 OK\r\ncontent-length: \(body.utf8.count)\r\n\(headers)\r\n\(body)")
        }
        static let silent = Reply(bytes: nil)
    }

    struct Request: Sendable {
        var connection: Int
        var head: String
        var body: String
    }

    let port: Int
    private let channel: any Channel
    private let state = NIOLockedValueBox<(connections: Int, closed: Int, requests: [Request])>((0, 0, []))

    var connections: Int { state.withLockedValue { $0.connections } }
    var closedConnections: Int { state.withLockedValue { $0.closed } }
    var requests: [Request] { state.withLockedValue { $0.requests } }

    init(tls: NIOSSLContext? = nil, reply: @escaping @Sendable (Request) -> Reply) async throws {
        let state = state
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let number = state.withLockedValue { $0.connections += 1; return $0.connections }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptHandler(connection: number, reply: reply, record: { request in
                            state.withLockedValue { $0.requests.append(request) }
                        }, closed: { state.withLockedValue { $0.closed += 1 } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let connection: Int
    let reply: @Sendable (ScriptedServer.Request) -> ScriptedServer.Reply
    let record: (ScriptedServer.Request) -> Void
    let closed: () -> Void
    var received = ""

    init(
        connection: Int, reply: @escaping @Sendable (ScriptedServer.Request) -> ScriptedServer.Reply,
        record: @escaping (ScriptedServer.Request) -> Void, closed: @escaping () -> Void
    ) {
        self.connection = connection
        self.reply = reply
        self.record = record
        self.closed = closed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        while let request = takeRequest() {
            record(request)
            answer(reply(request), context: context)
        }
    }

    /// One whole request (head and `content-length` body) off the front of what arrived.
    private func takeRequest() -> ScriptedServer.Request? {
        guard let end = received.range(of: "\r\n\r\n") else { return nil }
        let head = String(received[..<end.lowerBound])
        let length = head.split(separator: "\r\n").compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        let rest = received[end.upperBound...]
        guard rest.utf8.count >= length else { return nil }
        let body = String(rest.utf8.prefix(length))!
        received = String(rest.utf8.dropFirst(length))!
        return .init(connection: connection, head: head, body: body)
    }

    private func answer(_ reply: ScriptedServer.Reply, context: ChannelHandlerContext) {
        if let bytes = reply.bytes { context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)), promise: nil) }
        let loop = context.eventLoop.assumeIsolated()
        var delay = TimeAmount.zero
        for (after, piece) in reply.later {
            delay = delay + after
            loop.scheduleTask(in: delay) {
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: piece)), promise: nil)
            }
        }
        if reply.close { loop.scheduleTask(in: delay) { context.close(promise: nil) } }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
