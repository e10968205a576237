import Foundation
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

/// An HTTP `CONNECT` proxy on 127.0.0.1: records each `CONNECT` line, then opens the tunnel
/// (copying bytes both ways), refuses with a status, or never answers.
final class TunnelProxy: Sendable {
    enum Mode: Sendable {
        case tunnel
        case refuse(status: Int)
        case silent
    }

    let port: Int
    private let channel: any Channel
    private let lines = NIOLockedValueBox<[String]>([])
    var connectLines: [String] { lines.withLockedValue { $0 } }

    init(_ mode: Mode) async throws {
        let lines = lines
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectHandler(mode: mode) { line in lines.withLockedValue { $0.append(line) } })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let mode: TunnelProxy.Mode
    let record: (String) -> Void
    var received = ""

    init(mode: TunnelProxy.Mode, record: @escaping (String) -> Void) {
        self.mode = mode
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        guard let end = received.range(of: "\r\n\r\n") else { return }
        let line = received[..<end.lowerBound].components(separatedBy: "\r\n")[0]
        record(line)
        switch mode {
        case .silent:
            return
        case .refuse(let status):
            context.writeAndFlush(
                wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 \(status) No\r\ncontent-length: 0\r\n\r\n")), promise: nil)
        case .tunnel:
            let authority = line.split(separator: " ")[1]
            let host = String(authority[..<authority.lastIndex(of: ":")!])
            let port = Int(authority[authority.index(after: authority.lastIndex(of: ":")!)...])!
            let client = context.channel
            client.setOption(.autoRead, value: false).whenComplete { _ in }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            ClientBootstrap(group: context.eventLoop).connect(host: host, port: port).whenComplete { result in
                let (handler, context) = loopBound.value
                guard case .success(let server) = result else {
                    context.close(promise: nil)
                    return
                }
                context.writeAndFlush(
                    handler.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\n\r\n")),
                    promise: nil)
                try? server.pipeline.syncOperations.addHandler(Pipe(to: client))  // the same event loop
                try? context.pipeline.syncOperations.addHandler(Pipe(to: server))
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                client.setOption(.autoRead, value: true).whenComplete { _ in }
            }
        }
    }
}

/// Copies what one channel reads into another, and closes the other with it.
private final class Pipe: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let other: any Channel

    init(to other: any Channel) { self.other = other }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        other.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        other.close(promise: nil)
    }
}
