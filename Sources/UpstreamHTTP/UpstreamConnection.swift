import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// One HTTP/1.1 connection to an upstream (through the proxy's tunnel and TLS where
/// configured), used for one exchange at a time and pooled in between.
final class UpstreamConnection: Sendable {
    let channel: any Channel
    let origin: UpstreamURL.Origin
    private let handler: NIOLoopBound<ExchangeHandler>

    var eventLoop: any EventLoop { channel.eventLoop }
    var isActive: Bool { channel.isActive }

    private init(channel: any Channel, origin: UpstreamURL.Origin, handler: ExchangeHandler) {
        self.channel = channel
        self.origin = origin
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Runs `body` with the handler on the connection's event loop (at once when already there).
    private func onLoop(_ body: @escaping @Sendable (ExchangeHandler) -> Void) {
        let handler = handler
        if eventLoop.inEventLoop { body(handler.value) } else { eventLoop.execute { body(handler.value) } }
    }

    func start(_ request: UpstreamRequest, mode: ExchangeHandler.Mode, whenReusable: @escaping @Sendable () -> Void) {
        onLoop { handler in
            handler.whenReusable = whenReusable
            handler.start(request, mode: mode)
        }
    }

    func cancel(answer: ObjectIdentifier) { onLoop { $0.cancel(answer: answer) } }

    func closeIfIdle() { onLoop { $0.closeIfIdle() } }

    /// Connects (TCP, then the proxy's tunnel, then TLS), all within `timeout`.
    static func connect(
        to origin: UpstreamURL.Origin, on eventLoop: any EventLoop, proxy: UpstreamClient.Proxy?,
        tls: @escaping @Sendable () throws -> NIOSSLContext, timeout: TimeAmount,
        whenClosed: @escaping @Sendable (UpstreamConnection) -> Void
    ) async throws -> UpstreamConnection {
        let target = proxy.map { ($0.host, $0.port) } ?? (origin.host, origin.port)
        // NIO's client bootstrap turns Nagle off (TCP_NODELAY) by itself.
        let bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(timeout)
        // An address needs no name lookup (which NIO runs on another thread).
        let channel =
            if let address = try? SocketAddress(ipAddress: target.0, port: target.1) {
                try await bootstrap.connect(to: address).get()
            } else {
                try await bootstrap.connect(host: target.0, port: target.1).get()
            }
        let deadline = NIODeadline.now() + timeout
        do {
            let ready = channel.eventLoop.submit {
                try setUpPipeline(of: channel, origin: origin, tunnel: proxy != nil, tls: tls)
            }.flatMap { $0 }
            let expiry = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
            defer { expiry.cancel() }
            do {
                try await ready.get()
            } catch {
                throw NIODeadline.now() >= deadline ? UpstreamError.connectTimeout : error
            }
            return try await channel.eventLoop.submit {
                let handler = ExchangeHandler()
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(handler)
                let connection = UpstreamConnection(channel: channel, origin: origin, handler: handler)
                handler.whenClosed = { whenClosed(connection) }
                return connection
            }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// The tunnel and TLS; the future completes when both are established.
    private static func setUpPipeline(
        of channel: any Channel, origin: UpstreamURL.Origin, tunnel: Bool, tls: () throws -> NIOSSLContext
    ) throws -> EventLoopFuture<Void> {
        let pipeline = channel.pipeline.syncOperations
        var ready = channel.eventLoop.makeSucceededVoidFuture()
        if tunnel {
            let established = channel.eventLoop.makePromise(of: Void.self)
            try pipeline.addHandler(ProxyTunnelHandler(host: origin.host, port: origin.port, established: established))
            ready = established.futureResult
        }
        guard origin.scheme == .https else { return ready }
        let context = try tls()
        return ready.flatMapThrowing {
            let handshake = channel.eventLoop.makePromise(of: Void.self)
            // SNI and the certificate's name: a host name, never an address literal.
            let isAddress = (try? SocketAddress(ipAddress: origin.host, port: 0)) != nil
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : origin.host))
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(done: handshake))
            return handshake.futureResult
        }.flatMap { $0 }
    }
}

/// Completes when TLS is up (or failed), then leaves the pipeline.
private final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            done.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(UpstreamError.remoteClosed)
        context.fireChannelInactive()
    }
}
