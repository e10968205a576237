import NIOCore
import NIOHTTP1
import NIOSSL

/// Runs one request–answer exchange at a time on a pooled connection: writes the request
/// in one flush, then either collects the whole answer or hands over the head at once and
/// the body as it arrives. Lives on the connection's event loop; every entry point is called there.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPClientRequestPart

    enum Mode: Sendable {
        /// The whole answer, with at most `maxBytes` of body.
        case collect(EventLoopPromise<UpstreamResponse>, maxBytes: Int)
        /// The head as soon as it arrives; the body as it comes.
        case stream(EventLoopPromise<UpstreamStreamingResponse>, readTimeout: TimeAmount)

        /// Names the exchange: a late cancellation must not end the next one on this connection.
        var answer: ObjectIdentifier {
            switch self {
            case .collect(let promise, _): ObjectIdentifier(promise.futureResult)
            case .stream(let promise, _): ObjectIdentifier(promise.futureResult)
            }
        }
    }

    private enum State {
        case idle
        case waitingForHead(Mode)
        case collecting(EventLoopPromise<UpstreamResponse>, UpstreamResponse, maxBytes: Int)
        case streaming(UpstreamBody.Producer.Source, readTimeout: TimeAmount)
        case closed
    }

    /// The connection was closed before the request was written: nothing reached the upstream.
    enum NotSent: Error { case connectionClosed }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// The exchange under way (its answer's future), until it ends: a late cancellation, or a late
    /// word from an earlier body's reader, names another one and is ignored.
    private var answer: ObjectIdentifier?
    private var keepAlive = true
    private var deadline: Scheduled<Void>?
    /// Streaming: the body reader's demand, a read held back while it has enough, and the last data seen.
    private var readerWantsMore = true
    private var heldRead = false
    private var lastData = NIODeadline.now()
    private var readTimer: Scheduled<Void>?
    /// Streaming: parts of one socket read, handed to the reader together.
    private var pending: [ByteBuffer] = []
    /// Called when an exchange ended and the connection can take another.
    var whenReusable: (() -> Void)?
    /// Called once when the connection is gone.
    var whenClosed: (() -> Void)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !context.channel.isActive { state = .closed }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Starting and stopping (from UpstreamConnection)

    func start(_ request: UpstreamRequest, mode: Mode) {
        guard case .idle = state, let context else {
            fail(mode, with: NotSent.connectionClosed)
            return
        }
        answer = mode.answer
        keepAlive = true
        state = .waitingForHead(mode)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: request.deadline) { [self] in
            failAndClose(UpstreamError.deadlineExceeded)
        }
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.url.target, headers: request.headers)
        head.headers.replaceOrAdd(name: "host", value: request.url.hostHeader)
        if let body = request.body {
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        } else if request.method == .POST || request.method == .PUT {
            head.headers.replaceOrAdd(name: "content-length", value: "0")
        }
        // The head's header check fails this promise before it reports the error down the pipeline.
        let headWritten = context.eventLoop.makePromise(of: Void.self)
        headWritten.futureResult.assumeIsolated().whenFailure { [self] error in
            failAndClose(error is HTTPParserError ? UpstreamError.invalidRequestHeader : error)
        }
        context.write(wrapOutboundOut(.head(head)), promise: headWritten)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The caller's task was cancelled while waiting for `answer`; once that exchange has ended
    /// (and the connection may carry someone else's), this does nothing.
    func cancel(answer: ObjectIdentifier) {
        guard answer == self.answer else { return }
        failAndClose(CancellationError())
    }

    /// Closes an idle connection (the pool's sweep, shutdown).
    func closeIfIdle() {
        guard case .idle = state else { return }
        failAndClose(UpstreamError.shutDown)
    }

    // MARK: The answer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receivedHead(head)
        case .body(let part):
            receivedBody(part)
        case .end:
            receivedEnd()
        }
    }

    private func receivedHead(_ head: HTTPResponseHead) {
        // Interim answers (100 Continue…) are not the answer.
        if (100..<200).contains(head.status.code), head.status != .switchingProtocols { return }
        guard case .waitingForHead(let mode) = state else { return }
        keepAlive = head.isKeepAlive
        let status = Int(head.status.code)
        switch mode {
        case .collect(let promise, let maxBytes):
            state = .collecting(promise, UpstreamResponse(status: status, headers: head.headers, body: ByteBuffer()), maxBytes: maxBytes)
        case .stream(let promise, let readTimeout):
            deadline?.cancel()
            deadline = nil
            guard let eventLoop = context?.eventLoop, let answer else { return }
            let producer = UpstreamBody.Producer.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false,
                delegate: BodyDemand(handler: NIOLoopBound(self, eventLoop: eventLoop), answer: answer))
            readerWantsMore = true
            heldRead = false
            state = .streaming(producer.source, readTimeout: readTimeout)
            lastData = .now()
            scheduleReadCheck(after: readTimeout)
            promise.succeed(UpstreamStreamingResponse(status: status, headers: head.headers, body: UpstreamBody(producer: producer.sequence)))
        }
    }

    private func receivedBody(_ part: ByteBuffer) {
        switch state {
        case .collecting(let promise, var response, let maxBytes):
            guard response.body.readableBytes + part.readableBytes <= maxBytes else {
                failAndClose(UpstreamError.responseTooLarge(limit: maxBytes))
                return
            }
            state = .idle  // Not copied on write below.
            var part = part
            if response.body.readableBytes == 0 { response.body = part } else { response.body.writeBuffer(&part) }
            state = .collecting(promise, response, maxBytes: maxBytes)
        case .streaming:
            lastData = .now()
            pending.append(part)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handOverPending()
        context.fireChannelReadComplete()
    }

    private func handOverPending() {
        guard !pending.isEmpty, case .streaming(let source, _) = state else { return }
        let parts = pending
        pending.removeAll(keepingCapacity: true)
        if case .stopProducing = source.yield(contentsOf: parts) { readerWantsMore = false }
    }

    private func receivedEnd() {
        switch state {
        case .collecting(let promise, let response, _):
            endExchange()
            promise.succeed(response)
        case .streaming(let source, _):
            handOverPending()
            endExchange()
            source.finish()
        default:
            break
        }
    }

    /// The answer is complete: the connection takes the next request, or closes if either side said so.
    private func endExchange() {
        answer = nil
        stopTimers()
        if keepAlive {
            state = .idle
            if heldRead { heldRead = false; context?.read() }
            let reusable = whenReusable
            whenReusable = nil
            reusable?()
        } else {
            state = .closed
            context?.close(promise: nil)
        }
    }

    // MARK: Back-pressure and the read timeout (streaming)

    func read(context: ChannelHandlerContext) {
        if case .streaming = state, !readerWantsMore {
            heldRead = true
            return
        }
        context.read()
    }

    func readerWantsMore(answer: ObjectIdentifier) {
        guard answer == self.answer, case .streaming = state else { return }
        readerWantsMore = true
        lastData = .now()
        if heldRead {
            heldRead = false
            context?.read()
        }
    }

    /// The reader dropped the body (or its task was cancelled) before the end: the rest of the
    /// answer will not be read, so the connection cannot be used again.
    func readerStopped(answer: ObjectIdentifier) {
        guard answer == self.answer, case .streaming = state else { return }
        failAndClose(CancellationError())
    }

    /// One timer per stream, not one per read: it looks at when data last came and sleeps again.
    private func scheduleReadCheck(after delay: TimeAmount) {
        guard let context else { return }
        readTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            guard case .streaming(_, let readTimeout) = state else { return }
            let silentUntil = lastData + readTimeout
            // A reader that has enough is not the upstream's silence.
            if !readerWantsMore || silentUntil > .now() {
                scheduleReadCheck(after: readerWantsMore ? silentUntil - .now() : readTimeout)
            } else {
                failAndClose(UpstreamError.readTimeout)
            }
        }
    }

    // MARK: Failure and close

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS closed without its goodbye: harmless where the close ends the body, and a body cut
        // short is still noticed by the HTTP decoder when the connection goes.
        if case NIOSSLError.uncleanShutdown = error { return }
        failAndClose(error is HTTPParserError ? UpstreamError.invalidResponse : error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAndClose(UpstreamError.remoteClosed)
        context.fireChannelInactive()
    }

    /// Fails whatever exchange is under way and closes the connection; only the first call counts.
    private func failAndClose(_ error: any Error) {
        let previous = state
        state = .closed
        stopTimers()
        pending.removeAll()
        switch previous {
        case .closed:
            return
        case .idle:
            break
        case .waitingForHead(let mode):
            fail(mode, with: error)
        case .collecting(let promise, _, _):
            promise.fail(error)
        case .streaming(let source, _):
            source.finish(error)
        }
        context?.close(promise: nil)
        let closed = whenClosed
        whenClosed = nil
        whenReusable = nil
        closed?()
    }

    private func stopTimers() {
        deadline?.cancel()
        deadline = nil
        readTimer?.cancel()
        readTimer = nil
    }

    private func fail(_ mode: Mode, with error: any Error) {
        switch mode {
        case .collect(let promise, _): promise.fail(error)
        case .stream(let promise, _): promise.fail(error)
        }
    }
}
