import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// The connection's task's way to its `HTTPConnectionHandler`. The task prefers the
/// channel's event loop, so each call runs at once on that loop; called from elsewhere,
/// it goes there first.
struct HTTPConnection: ServerChildChannelValue {
    let channel: any Channel
    private let handler: NIOLoopBound<HTTPConnectionHandler>

    init(channel: any Channel, handler: HTTPConnectionHandler) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    private func onLoop<Value: Sendable>(_ body: @escaping @Sendable (HTTPConnectionHandler) throws -> Value)
        async throws -> Value
    {
        if channel.eventLoop.inEventLoop { return try body(handler.value) }
        let handler = self.handler
        return try await channel.eventLoop.submit { try body(handler.value) }.get()
    }

    private func onLoop(_ body: @escaping @Sendable (HTTPConnectionHandler) -> Void) {
        if channel.eventLoop.inEventLoop { return body(handler.value) }
        let handler = self.handler
        channel.eventLoop.execute { body(handler.value) }
    }

    /// The next request; nil when the connection brings no more.
    func next() async -> HTTPConnectionHandler.Incoming? {
        await withUnsafeContinuation { continuation in onLoop { $0.next(continuation) } }
    }

    /// Writes `response`: its head, then its body as the body produces it.
    func write(_ response: Response) async throws {
        let head = response.head
        try await onLoop { try $0.writeHead(head) }
        try await response.body.write(ResponseBodyChannelWriter(connection: self))
    }

    /// The task is done with the connection.
    func finish() {
        onLoop { $0.taskEnded() }
    }

    fileprivate func writeBody(_ part: ByteBuffer) async throws {
        if !channel.isWritable {
            try await withUnsafeThrowingContinuation { continuation in onLoop { $0.whenWritable(continuation) } }
        }
        try await onLoop { try $0.writeBody(part) }
    }

    fileprivate func writeEnd() {
        onLoop { $0.writeEnd() }
    }
}

/// A response body's writer straight onto the connection, waiting while the client reads too slowly.
private struct ResponseBodyChannelWriter: ResponseBodyWriter {
    let connection: HTTPConnection

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await connection.writeBody(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        connection.writeEnd()
    }
}
