import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// How flowgate serves one client connection (docs/architecture.md, "The server edge"):
/// Hummingbird's router answers, but the connection itself is flowgate's own, as the
/// upstream client is. The pipeline: `RequestReadDeadline` (raw bytes) → NIO's HTTP/1.1
/// decoder and encoder → `HTTPConnectionHandler`.
/// The connection's task prefers the channel's event loop (`EventLoopTaskExecutor`), so
/// reading, routing, the upstream call and writing stay on one thread.
struct GatewayHTTPChannel<Responder: HTTPResponder>: ServerChildChannel
where Responder.Context == GatewayRequestContext {
    let responder: Responder
    let watch: ConnectionWatch
    let bodyLimit: Int
    var idleTimeout: TimeAmount? = .seconds(75)
    /// Longest time to read one request (head and body).
    var requestReadTimeout: TimeAmount = .seconds(60)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTPConnection> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            let deadline = RequestReadDeadline(timeout: requestReadTimeout)
            let handler = HTTPConnectionHandler(
                bodyLimit: bodyLimit, idleTimeout: idleTimeout, deadline: deadline, watch: watch)
            try pipeline.addHandler(deadline)
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            try pipeline.addHandler(handler)
            return HTTPConnection(channel: channel, handler: handler)
        }
    }

    func handle(value connection: HTTPConnection, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(connection.channel.eventLoop)) {
            while let incoming = await connection.next() {
                let stream = incoming.body.asksForStream()
                var response =
                    stream
                    ? await respondInChildTask(incoming, on: connection.channel, logger: logger)
                    : await respond(incoming, on: connection.channel, logger: logger)
                response.headers[.date] = HTTPDate.now()
                do {
                    // A client that leaves mid-stream stops the upstream at once, not at the next
                    // event written (an upstream may be silent for long; docs/protocols/openai-chat.md).
                    // Only streams `StreamHint` saw (nearly all): a watch costs a lock and an entry.
                    if stream {
                        try await watch.run(on: connection.channel) { try await connection.write(response) }
                    } else {
                        try await connection.write(response)
                    }
                } catch {
                    // An answer cut short cannot be ended cleanly: the connection closes.
                    logger.trace("failed to write an answer: \(type(of: error))")
                    break
                }
            }
            connection.finish()
        }
    }

    /// A stream's route runs in a child task, which ends when this returns, and its frames
    /// (middleware, dispatch, the upstream call) with it. The connection's task keeps its
    /// deepest frames for as long as it lives, and a stream needs only the writer's: 1,000
    /// open streams take 7–11 MB less. Plain requests stay in the connection's task, as a
    /// child task's creation and first frames cost 5 % of one (docs/performance.md, "The
    /// server edge"). The async let must stay in a function of its own: it ends with its scope.
    private func respondInChildTask(
        _ incoming: HTTPConnectionHandler.Incoming, on channel: any Channel, logger: Logger
    ) async -> Response {
        async let response = respond(incoming, on: channel, logger: logger)
        return await response
    }

    @inline(__always)
    private func respond(_ incoming: HTTPConnectionHandler.Incoming, on channel: any Channel, logger: Logger) async
        -> Response
    {
        let request = Request(head: incoming.head, body: incoming.body.requestBody())
        let context = GatewayRequestContext(source: .init(channel: channel, logger: logger))
        do {
            return try await responder.respond(to: request, context: context)
        } catch {
            logger.debug("unanswered error", metadata: ["error.type": "\(type(of: error))"])
            return Response(status: .internalServerError)
        }
    }
}
