import NIOCore

/// AsyncHTTPClient flushes a request's head and then its body: two writes, two TCP
/// segments and two wake-ups of the upstream for every request. Placed next to the
/// socket of each upstream connection, this turns the flushes of one event-loop tick
/// into one, so head and body leave in a single write.
final class FlushCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny
    private var flushScheduled = false

    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.flushScheduled = false
            context.flush()
        }
    }
}
