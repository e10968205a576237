import NIOCore

/// Opens a tunnel through an HTTP proxy (`HTTPS_PROXY`): sends `CONNECT host:port`, waits for a
/// 2xx head, then leaves the pipeline so TLS and HTTP run through the tunnel. Raw bytes, so the
/// proxy's answer never reaches the HTTP decoder of the exchange.
final class ProxyTunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A proxy's answer head larger than this is not an answer to CONNECT.
    static let maxHeadBytes = 16 << 10

    private let authority: String
    private let established: EventLoopPromise<Void>
    private var received = ByteBuffer()

    init(host: String, port: Int, established: EventLoopPromise<Void>) {
        authority = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        self.established = established
    }

    func channelActive(context: ChannelHandlerContext) {
        sendConnect(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendConnect(context: context) }
    }

    private func sendConnect(context: ChannelHandlerContext) {
        let request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        received.writeBuffer(&part)
        let bytes = received.readableBytesView
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else {
            if bytes.count > Self.maxHeadBytes { fail(context: context, UpstreamError.proxyInvalidAnswer) }
            return
        }
        // "HTTP/1.1 200 Connection established"
        let statusLine = bytes[bytes.startIndex..<end.lowerBound].split(separator: 13).first ?? []
        let fields = statusLine.split(separator: 32, maxSplits: 2)
        guard fields.count >= 2, fields[0].starts(with: Array("HTTP/1.".utf8)), fields[1].count == 3,
            let status = Int(String(decoding: fields[1], as: UTF8.self))
        else {
            fail(context: context, UpstreamError.proxyInvalidAnswer)
            return
        }
        guard (200..<300).contains(status) else {
            fail(context: context, UpstreamError.proxyRefused(status: status))
            return
        }
        guard end.upperBound == bytes.endIndex else {
            // The tunnel's first bytes come from the client (TLS speaks first): anything more is not a tunnel.
            fail(context: context, UpstreamError.proxyInvalidAnswer)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        established.succeed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        established.fail(UpstreamError.remoteClosed)
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        established.fail(error)
        context.close(promise: nil)
    }
}
