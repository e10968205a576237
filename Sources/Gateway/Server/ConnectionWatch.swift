import NIOCore
import Synchronization

/// Cancels a request's work the moment its client goes away (SPEC 3: the upstream
/// request is cancelled at once) while keeping keep-alive connections reusable.
/// Hummingbird's `consumeWithCancellationOnInboundClose` reads past the request and
/// so must close every connection; here a per-connection `ClientCloseHandler` reports
/// the end of input or of the connection, and the request in progress is cancelled.
final class ConnectionWatch: Sendable {
    private struct Connection {
        /// Cancels the request in progress, if any.
        var cancelCurrent: (@Sendable () -> Void)?
        /// The client will send nothing more: it has gone away.
        var inputClosed = false
    }

    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])

    /// Runs `operation`, cancelled when the client of `channel` goes away first.
    func run<Value: Sendable>(
        on channel: any Channel, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let key = ObjectIdentifier(channel)
        let task = Task { try await operation() }
        let goneAlready = connections.withLock { connections -> Bool in
            connections[key, default: Connection()].cancelCurrent = { task.cancel() }
            return connections[key]!.inputClosed
        }
        // The connection may have ended before this entry existed; then nobody would remove it.
        if goneAlready || !channel.isActive {
            connectionEnded(key)
            task.cancel()
        }
        defer { connections.withLock { $0[key]?.cancelCurrent = nil } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    func inputClosed(_ key: ObjectIdentifier) {
        let cancel = connections.withLock { connections -> (@Sendable () -> Void)? in
            connections[key, default: Connection()].inputClosed = true
            return connections[key]?.cancelCurrent
        }
        cancel?()
    }

    func connectionEnded(_ key: ObjectIdentifier) {
        let cancel = connections.withLock { $0.removeValue(forKey: key)?.cancelCurrent }
        cancel?()
    }

    /// Connections with state (for tests: entries must not outlive their connection).
    var watchedConnections: Int { connections.withLock { $0.count } }
}

/// Added to every client connection's pipeline: tells the watch when the client
/// stops sending (half-close, which Hummingbird allows) or the connection ends.
final class ClientCloseHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    private let watch: ConnectionWatch

    init(watch: ConnectionWatch) {
        self.watch = watch
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, case .inputClosed = channelEvent {
            watch.inputClosed(ObjectIdentifier(context.channel))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.connectionEnded(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }
}
