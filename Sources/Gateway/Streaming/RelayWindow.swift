import Synchronization

/// Backpressure between a stream's producer (reading the upstream) and the writer
/// (sending to the client), docs/security.md: the producer may run at most `limit`
/// events ahead; then it stops reading the upstream until the client takes more.
final class RelayWindow: Sendable {
    private struct State {
        var outstanding = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// The producer handed over one event; returns once there is room for another.
    func sent() async {
        let full = state.withLock { state -> Bool in
            state.outstanding += 1
            return state.outstanding >= limit && !state.closed
        }
        // The usual case (the client keeps up) costs one lock, no suspension.
        guard full else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.outstanding >= limit, !state.closed else { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            close()
        }
    }

    /// The writer sent one event to the client.
    func taken() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.outstanding -= 1
            guard state.outstanding < limit else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The producer is held at the limit (for tests).
    var hasWaitingProducer: Bool { state.withLock { $0.waiter != nil } }

    /// Nothing is waiting for the client: keep-alive comments are only worth sending then.
    var isDrained: Bool { state.withLock { $0.outstanding <= 0 } }

    /// The stream ended: a waiting producer goes on (and finds itself cancelled).
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
