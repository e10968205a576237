import NIOCore

/// A total deadline for reading one request, head and body (docs/security.md): a client
/// that trickles a byte every few seconds would otherwise hold its connection forever,
/// since every byte resets an idle timer. It sits first in the pipeline (it sees raw
/// bytes); `HTTPConnectionHandler` tells it when a request has been read in full.
/// One timer serves many requests on a keep-alive connection: it is not cancelled when
/// a request completes, only looked at when it fires.
final class RequestReadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    /// When the request being read began; nil between requests.
    private var started: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if started == nil {
            // The first byte of a request starts its clock.
            let now = NIODeadline.now()
            started = now
            if timer == nil { schedule(at: now + timeout, context: context) }
        }
        context.fireChannelRead(data)
    }

    /// The request's last byte arrived: the next byte starts a new clock.
    func requestRead() {
        started = nil
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.timer = nil
            guard let started = self.started else { return }  // between requests: the next byte reschedules
            let due = started + self.timeout
            if due <= .now() {
                context.close(promise: nil)
            } else {
                self.schedule(at: due, context: context)
            }
        }
    }
}
