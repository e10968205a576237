import NIOCore

/// A total deadline for reading one request, head and body (docs/security.md): a client
/// that trickles a byte every few seconds would otherwise hold its connection forever,
/// since every byte resets an idle timer. It sits first in the pipeline (it sees raw
/// bytes); `ConnectionPolicyHandler` tells it when a request has been read in full.
final class RequestReadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestRead()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer == nil {
            // The first byte of a request starts its clock.
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                self?.timer = nil
                self?.context?.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestRead()
        context.fireChannelInactive()
    }

    /// The request's last byte arrived: the next byte starts a new clock.
    func requestRead() {
        timer?.cancel()
        timer = nil
    }
}
