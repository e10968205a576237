import NIOCore
import Synchronization

/// Cancels a request's work the moment its client goes away (docs/protocols/openai-chat.md: the upstream
/// request is cancelled at once) while keeping keep-alive connections reusable.
/// Hummingbird's `consumeWithCancellationOnInboundClose` reads past the request and
/// so must close every connection; here each connection's `HTTPConnectionHandler` reports
/// the end of input or of the connection, and the request in progress is cancelled.
final class ConnectionWatch: Sendable {
    private struct Connection {
        /// The task answering the request in progress, if any.
        var current: RunningTask?
        /// The client will send nothing more: it has gone away.
        var inputClosed = false
    }

    /// The handler's own task, so no extra task (and thread hop) is needed per request.
    /// It is registered and unregistered inside `withUnsafeCurrentTask`'s closure, and
    /// cancelled only under the same lock while registered, so it is never used outside it.
    private struct RunningTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])

    /// Runs `operation`, cancelled when the client of `channel` goes away first.
    func run<Value: Sendable>(
        on channel: any Channel, _ operation: () async throws -> Value
    ) async throws -> Value {
        let key = ObjectIdentifier(channel)
        return try await withUnsafeCurrentTask { task async throws -> Value in
            let goneAlready = connections.withLock { connections -> Bool in
                connections[key, default: Connection()].current = task.map(RunningTask.init)
                return connections[key]!.inputClosed
            }
            defer { connections.withLock { $0[key]?.current = nil } }
            // The connection may have ended before this entry existed; then nobody would remove it.
            if goneAlready || !channel.isActive { connectionEnded(key) }
            return try await operation()
        }
    }

    func inputClosed(_ key: ObjectIdentifier) {
        connections.withLock { connections in
            connections[key, default: Connection()].inputClosed = true
            connections[key]?.current?.task.cancel()
        }
    }

    func connectionEnded(_ key: ObjectIdentifier) {
        connections.withLock { $0.removeValue(forKey: key)?.current?.task.cancel() }
    }

    /// Connections with state (for tests: entries must not outlive their connection).
    var watchedConnections: Int { connections.withLock { $0.count } }
}
