import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The last handler of a client connection's pipeline (docs/architecture.md, "The server
/// edge"): it turns the decoder's parts into requests for the connection's task, writes
/// that task's answers, and keeps the connection's rules (docs/security.md): when to
/// close after an answer (an HTTP/1.0 client without keep-alive, `Connection: close` on
/// the request or the answer, a 401 says it), the idle timeout, and a graceful shutdown's
/// quiescing. It tells `ConnectionWatch` when the client leaves. It runs on the channel's
/// event loop only; `HTTPConnection` is the task's way in.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    /// A request read (its body may still be arriving) for the connection's task.
    struct Incoming: Sendable {
        let head: HTTPRequest
        let body: RequestBodyBuffer
        let keepAlive: Bool
    }

    private let bodyLimit: Int
    private let idleTimeout: TimeAmount?
    private let deadline: RequestReadDeadline
    private let watch: ConnectionWatch
    private var context: ChannelHandlerContext?

    /// Requests read and not yet taken by the task: pipelined ones wait here.
    private var queued = CircularBuffer<Incoming>()
    /// The body being read now (from a head to its end).
    private var reading: RequestBodyBuffer?
    /// The task waiting for the next request.
    private var waiter: UnsafeContinuation<Incoming?, Never>?
    /// The request taken by the task whose answer has not ended yet.
    private var answering: Incoming?
    /// The client sends nothing more, or the connection is closing or closed.
    private var noMoreRequests = false
    private var closeAfterAnswer = false
    /// The connection is being closed: nothing more is written.
    private var closing = false
    /// The answer in progress has sent its head.
    private var headWritten = false
    /// A read the pipeline asked for while a pipelined request waited behind an answer.
    private var readHeld = false
    private var writabilityWaiters: [UnsafeContinuation<Void, any Error>] = []
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?

    /// How long a closing connection still takes (and drops) what the client sends.
    static let linger: TimeAmount = .seconds(1)

    init(bodyLimit: Int, idleTimeout: TimeAmount?, deadline: RequestReadDeadline, watch: ConnectionWatch) {
        self.bodyLimit = bodyLimit
        self.idleTimeout = idleTimeout
        self.deadline = deadline
        self.watch = watch
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleIdleCheck()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionEnded(ChannelError.ioOnClosedChannel)
        self.context = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !noMoreRequests else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            lastActivity = .now()
            guard let converted = try? HTTPRequest(head, secure: false, splitCookie: false) else {
                answerBadRequest()
                return
            }
            let body = RequestBodyBuffer(limit: bodyLimit)
            reading = body
            queued.append(Incoming(head: converted, body: body, keepAlive: head.isKeepAlive))
            handOut()
        case .body(let part):
            reading?.append(part)
        case .end:
            reading?.finish()
            reading = nil
            deadline.requestRead()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // The client went away (or half-closed, which Hummingbird allows): its request is cancelled.
            watch.inputClosed(ObjectIdentifier(context.channel))
            noMoreRequests = true
            reading?.fail(ChannelError.inputClosed)
            reading = nil
            waiter.take()?.resume(returning: nil)
        } else if event is ChannelShouldQuiesceEvent {
            // A graceful shutdown: finish the answer in progress, take no new request.
            if answering == nil && queued.isEmpty {
                noMoreRequests = true
                closing = true
                context.close(promise: nil)
            } else {
                closeAfterAnswer = true
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            reading?.fail(error)
            reading = nil
            answerBadRequest()
            return
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.connectionEnded(ObjectIdentifier(context.channel))
        connectionEnded(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            let waiters = writabilityWaiters
            writabilityWaiters = []
            for waiter in waiters { waiter.resume() }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        // A client that pipelines waits while an answer is written: its next request is not read yet.
        if answering != nil && !queued.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: The task's side (on the event loop)

    /// The next request, or nil when the connection will bring none.
    func next(_ continuation: UnsafeContinuation<Incoming?, Never>) {
        // An answer whose body never ended cannot be followed by another on this connection.
        guard answering == nil else {
            taskEnded()
            continuation.resume(returning: nil)
            return
        }
        guard !queued.isEmpty || !(noMoreRequests || closeAfterAnswer) else {
            continuation.resume(returning: nil)
            return
        }
        waiter = continuation
        handOut()
    }

    private func handOut() {
        guard answering == nil, let waiter, let request = queued.popFirst() else { return }
        self.waiter = nil
        answering = request
        if readHeld {
            readHeld = false
            context?.read()
        }
        waiter.resume(returning: request)
    }

    /// Writes the answer's head, with `Connection: close` when the connection ends after it.
    func writeHead(_ response: HTTPResponse) throws {
        guard let context, context.channel.isActive, !closing else { throw ChannelError.ioOnClosedChannel }
        var head = HTTPResponseHead(response)
        let answerCloses = head.headers[canonicalForm: "connection"].contains("close")
        if answering?.keepAlive == false || answerCloses || closeAfterAnswer {
            closeAfterAnswer = true
            if !head.headers.contains(name: "connection") { head.headers.add(name: "connection", value: "close") }
        }
        headWritten = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeBody(_ part: ByteBuffer) throws {
        guard let context, context.channel.isActive else { throw ChannelError.ioOnClosedChannel }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
    }

    /// Resumes `continuation` once the channel takes more output (a client that does not read holds the writer).
    func whenWritable(_ continuation: UnsafeContinuation<Void, any Error>) {
        guard let context, context.channel.isActive else {
            continuation.resume(throwing: ChannelError.ioOnClosedChannel)
            return
        }
        if context.channel.isWritable {
            continuation.resume()
        } else {
            writabilityWaiters.append(continuation)
        }
    }

    func writeEnd() {
        let finished = answering
        answering = nil
        headWritten = false
        // What the client still sends of this request's body is read and dropped.
        finished?.body.finish()
        guard let context, context.channel.isActive, !closing else { return }
        // After a client's half-close, too, the connection ends once the answer is out.
        guard closeAfterAnswer || noMoreRequests else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            lastActivity = .now()
            scheduleIdleCheck()
            return
        }
        endAfter(.end(nil))
    }

    /// The connection's task is done: closes the connection unless it is closing already.
    func taskEnded() {
        guard let context, !closing else { return }
        closing = true
        context.close(promise: nil)
    }

    /// Writes `last`, then closes lingering; nothing more is read or answered.
    private func endAfter(_ last: OutboundOut) {
        guard let context else { return }
        noMoreRequests = true
        closing = true
        queued.removeAll()
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(last), promise: written)
        written.futureResult.whenComplete { [channel = context.channel] _ in Self.closeLingering(channel) }
    }

    /// Closing a socket with unread input sends a reset, and a reset can make the client's
    /// kernel drop the answer it had not read yet (a 401 sent before a body arrived). So
    /// the sending side closes first and the rest a moment later.
    static func closeLingering(_ channel: any Channel) {
        channel.close(mode: .output).whenComplete { result in
            if case .failure = result {
                channel.close(promise: nil)
                return
            }
            channel.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
        }
    }

    // MARK: Ending

    /// A request that cannot be read: a 400 unless an answer has begun (then only the close).
    private func answerBadRequest() {
        guard let context, !closing else { return }
        guard !headWritten else {
            noMoreRequests = true
            closing = true
            context.close(promise: nil)
            return
        }
        var head = HTTPResponseHead(version: .http1_1, status: .badRequest)
        head.headers.add(name: "connection", value: "close")
        head.headers.add(name: "content-length", value: "0")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        endAfter(.end(nil))
    }

    private func connectionEnded(_ error: any Error) {
        noMoreRequests = true
        cancelIdleCheck()
        reading?.fail(error)
        reading = nil
        queued.removeAll()
        waiter.take()?.resume(returning: nil)
        let waiters = writabilityWaiters
        writabilityWaiters = []
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    // MARK: Idle timeout

    /// One timer per idle stretch, checked when it fires: no timer work per request.
    private func scheduleIdleCheck() {
        guard let idleTimeout, idleTimer == nil, let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActivity + idleTimeout) {
            [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            // Busy: the answer's end schedules the next check.
            guard self.answering == nil, self.queued.isEmpty, self.reading == nil else { return }
            if self.lastActivity + idleTimeout <= .now() {
                self.context?.close(promise: nil)
            } else {
                self.scheduleIdleCheck()
            }
        }
    }

    private func cancelIdleCheck() {
        idleTimer?.cancel()
        idleTimer = nil
    }
}
