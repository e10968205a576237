import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// flowgate's HTTP/1.1 client for upstream calls (docs/architecture.md, "The upstream HTTP
/// client"): pooled keep-alive connections preferring the caller's event loop, a connect
/// timeout (TCP, the proxy's tunnel and TLS together), a deadline for the answer, a read
/// timeout between body parts, TLS through NIOSSL, a `CONNECT` proxy, and cancellation that
/// closes the connection. No redirects, no decompression: bodies are passed on as sent.
package final class UpstreamClient: Sendable {
    package struct Proxy: Sendable, Equatable {
        package var host: String
        package var port: Int

        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    package struct Configuration: Sendable {
        package var connectTimeout: TimeAmount = .seconds(10)
        /// Longest silence inside a streamed body.
        package var readTimeout: TimeAmount = .seconds(300)
        /// A pooled connection unused this long is closed.
        package var idleTimeout: TimeAmount = .seconds(60)
        package var proxy: Proxy?
        package var tls: TLSConfiguration = .makeClientConfiguration()

        package init() {}
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    /// Internal, not private: a test holds a pooled connection to close it at the worst moment.
    let pool = ConnectionPool()
    /// Made on the first `https` connection: loading the system's trust roots takes time and memory.
    private let tlsContext = Mutex<NIOSSLContext?>(nil)
    private let sweep: RepeatedTask

    package init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        let (pool, idleTimeout) = (pool, configuration.idleTimeout)
        let period = TimeAmount.nanoseconds(max(1_000_000_000, idleTimeout.nanoseconds / 4))
        sweep = group.next().scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            for connection in pool.removeIdle(since: .now() - idleTimeout) { connection.closeIfIdle() }
        }
    }

    /// Sends `request` and returns the whole answer, its body at most `maxBytes`.
    package func collect(_ request: UpstreamRequest, maxBytes: Int) async throws -> UpstreamResponse {
        try await exchange(request) { .collect($0, maxBytes: maxBytes) }
    }

    /// Sends `request` and returns as soon as the answer's head is in; the body follows.
    package func stream(_ request: UpstreamRequest) async throws -> UpstreamStreamingResponse {
        let readTimeout = configuration.readTimeout
        return try await exchange(request) { .stream($0, readTimeout: readTimeout) }
    }

    /// One exchange on a pooled or new connection. A pooled connection found closed before
    /// anything was sent on it (the upstream closed it a moment before) is replaced once.
    private func exchange<Answer: Sendable>(
        _ request: UpstreamRequest, mode: (EventLoopPromise<Answer>) -> ExchangeHandler.Mode
    ) async throws -> Answer {
        var pooledAllowed = true
        while true {
            let connection = try await connection(for: request, pooled: pooledAllowed)
            let promise = connection.eventLoop.makePromise(of: Answer.self)
            let mode = mode(promise)
            let answer = mode.answer
            do {
                return try await withTaskCancellationHandler {
                    connection.start(request, mode: mode, whenReusable: reuse(connection))
                    return try await promise.futureResult.get()
                } onCancel: {
                    connection.cancel(answer: answer)
                }
            } catch ExchangeHandler.NotSent.connectionClosed where pooledAllowed {
                pooledAllowed = false
            } catch is ExchangeHandler.NotSent {
                throw UpstreamError.remoteClosed
            }
        }
    }

    /// Closes the idle connections; exchanges under way finish on theirs.
    package func shutdown() {
        sweep.cancel()
        for connection in pool.removeIdle(since: .distantFuture) { connection.closeIfIdle() }
    }

    /// Idle connections in the pool (for tests and diagnostics).
    package var idleConnections: Int { pool.idleCount }

    private func reuse(_ connection: UpstreamConnection) -> @Sendable () -> Void {
        { [pool] in pool.put(connection) }
    }

    private func connection(for request: UpstreamRequest, pooled: Bool) async throws -> UpstreamConnection {
        try Task.checkCancellation()
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let origin = request.url.origin
        if pooled, let connection = pool.take(origin, preferring: current) { return connection }
        let connection = try await UpstreamConnection.connect(
            to: origin, on: current ?? group.next(), proxy: configuration.proxy, tls: { try self.makeTLSContext() },
            timeout: max(.milliseconds(1), min(configuration.connectTimeout, request.deadline - .now())),
            whenClosed: { [pool] in pool.remove($0) })
        if Task.isCancelled {
            connection.closeIfIdle()
            throw CancellationError()
        }
        return connection
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        try tlsContext.withLock { context in
            if let context { return context }
            let made = try NIOSSLContext(configuration: configuration.tls)
            context = made
            return made
        }
    }
}
