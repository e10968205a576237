import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's per-connection handling, with the connection's task preferring its
/// channel's event loop (see `EventLoopTaskExecutor`), and the connection rules
/// Hummingbird leaves open: a deadline for reading a request and when to close.
struct EventLoopBoundChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    /// Longest time to read one request (head and body).
    var requestReadTimeout: TimeAmount = .seconds(60)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let deadline = RequestReadDeadline(timeout: requestReadTimeout)
            try pipeline.addHandler(deadline, position: .first)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(ConnectionPolicyHandler(deadline: deadline), position: .after(decoder))
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}
