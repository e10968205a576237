import NIOCore
import Synchronization

/// Idle connections by origin, newest last. A caller gets one on its own event loop when
/// there is one (its answer then needs no thread hop), else the newest.
final class ConnectionPool: Sendable {
    private struct Idle {
        let connection: UpstreamConnection
        let since: NIODeadline
    }

    private let idle = Mutex<[UpstreamURL.Origin: [Idle]]>([:])

    func take(_ origin: UpstreamURL.Origin, preferring eventLoop: (any EventLoop)?) -> UpstreamConnection? {
        while let connection = takeAny(origin, preferring: eventLoop) {
            if connection.isActive { return connection }
        }
        return nil
    }

    private func takeAny(_ origin: UpstreamURL.Origin, preferring eventLoop: (any EventLoop)?) -> UpstreamConnection? {
        idle.withLock { idle in
            guard var list = idle[origin], !list.isEmpty else { return nil }
            var index = list.count - 1
            if let eventLoop, let mine = list.lastIndex(where: { $0.connection.eventLoop === eventLoop }) { index = mine }
            let taken = list.remove(at: index)
            idle[origin] = list.isEmpty ? nil : list
            return taken.connection
        }
    }

    func put(_ connection: UpstreamConnection) {
        idle.withLock { $0[connection.origin, default: []].append(Idle(connection: connection, since: .now())) }
    }

    func remove(_ connection: UpstreamConnection) {
        idle.withLock { idle in
            guard var list = idle[connection.origin] else { return }
            list.removeAll { $0.connection === connection }
            idle[connection.origin] = list.isEmpty ? nil : list
        }
    }

    /// Takes out the connections idle since before `cutoff` (all of them with `.distantFuture`).
    func removeIdle(since cutoff: NIODeadline) -> [UpstreamConnection] {
        idle.withLock { idle in
            var expired: [UpstreamConnection] = []
            for (origin, list) in idle {
                let kept = list.filter { $0.since >= cutoff }
                guard kept.count < list.count else { continue }
                expired += list.filter { $0.since < cutoff }.map(\.connection)
                idle[origin] = kept.isEmpty ? nil : kept
            }
            return expired
        }
    }

    var idleCount: Int { idle.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
