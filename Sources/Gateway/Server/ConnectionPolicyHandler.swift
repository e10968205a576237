import NIOCore
import NIOHTTP1

/// Decides when a connection ends after an answer (docs/security.md): an HTTP/1.0 client
/// without keep-alive, a request or answer saying `Connection: close` (a 401 says it, so
/// an unauthenticated client cannot keep its slow body going). Hummingbird itself only
/// looks at the request's header. Sits right after the HTTP decoder.
final class ConnectionPolicyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let deadline: RequestReadDeadline
    /// Per request not yet answered, in order: whether the client wants to keep the connection.
    private var keepAlive: [Bool] = []
    private var closeAfterAnswer = false

    /// How long a closing connection still takes (and drops) what the client sends.
    static let linger: TimeAmount = .seconds(1)

    /// Closing a socket with unread input sends a reset, and a reset can make the client's
    /// kernel drop the answer it had not read yet (a 401 sent before a body arrived). So
    /// the sending side closes first and the rest a moment later.
    static func closeLingering(_ context: ChannelHandlerContext) {
        let channel = context.channel
        channel.close(mode: .output).whenComplete { result in
            if case .failure = result {
                channel.close(promise: nil)
                return
            }
            channel.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
        }
    }

    init(deadline: RequestReadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): keepAlive.append(head.isKeepAlive)
        case .body: break
        case .end: deadline.requestRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            let clientKeepsAlive = keepAlive.first ?? true
            let answerCloses =
                head.headers.contains(name: "connection") && head.headers[canonicalForm: "connection"].contains("close")
            if !clientKeepsAlive || answerCloses {
                closeAfterAnswer = true
                if !head.headers.contains(name: "connection") { head.headers.add(name: "connection", value: "close") }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            if !keepAlive.isEmpty { keepAlive.removeFirst() }
            guard closeAfterAnswer else {
                context.write(data, promise: promise)
                return
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.whenComplete { [context] _ in Self.closeLingering(context) }
        }
    }
}
