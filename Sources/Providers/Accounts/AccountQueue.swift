import OpenAIWire
import Synchronization

/// Per-account concurrency (docs/protocols/iflow.md: iFlow allows one request in flight per
/// account, status 449): a slot is held for the whole request, streams included;
/// the rest wait in a bounded FIFO line with a wait timeout.
package final class AccountQueue: Sendable {
    package struct Settings: Sendable, Equatable {
        /// Requests in flight at once; 0 = unlimited.
        package var limit: Int
        package var maxWaiting: Int
        package var waitTimeout: Duration

        package init(limit: Int, maxWaiting: Int = 100, waitTimeout: Duration = .seconds(120)) {
            self.limit = limit
            self.maxWaiting = maxWaiting
            self.waitTimeout = waitTimeout
        }
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Void, any Error>
        var timeout: Task<Void, Never>?
    }

    private struct State {
        var machine: StateMachine
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
    }

    package let settings: Settings
    private let state: Mutex<State>

    package init(settings: Settings) {
        self.settings = settings
        self.state = Mutex(State(machine: StateMachine(limit: settings.limit, maxWaiting: settings.maxWaiting)))
    }

    package var inFlight: Int { state.withLock { $0.machine.inFlight } }
    package var waiting: Int { state.withLock { $0.machine.waiting.count } }

    /// Waits for a slot. Throws 429 when the line is full or the wait times out, and
    /// leaves the line at once when the task is cancelled (the client went away).
    package func acquire() async throws -> Permit {
        if settings.limit == 0 { return Permit(queue: nil) }
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Deciding and registering under one lock: a release, timeout or
                // cancellation can only see this waiter once it is complete.
                let immediate = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch state.machine.acquire(id) {
                    case .granted:
                        return .success(())
                    case .rejected:
                        return .failure(
                            GatewayError.rateLimited(
                                "Too many requests are waiting for this account (\(settings.maxWaiting) queued).",
                                code: "queue_full", retryAfter: 5))
                    case .queued:
                        let timeout = Task { [settings] in
                            guard (try? await Task.sleep(for: settings.waitTimeout)) != nil else { return }
                            self.giveUp(
                                id,
                                with: GatewayError.rateLimited(
                                    "Waited \(settings.waitTimeout) for a free slot on this account.",
                                    code: "queue_timeout", retryAfter: 5))
                        }
                        state.waiters[id] = Waiter(continuation: continuation, timeout: timeout)
                        return nil
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            giveUp(id, with: CancellationError())
        }
        return Permit(queue: self)
    }

    private func giveUp(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard state.machine.abandon(id) else { return nil }
            return state.waiters.removeValue(forKey: id)
        }
        waiter?.timeout?.cancel()
        waiter?.continuation.resume(throwing: error)
    }

    fileprivate func release() {
        let next = state.withLock { state -> Waiter? in
            guard let id = state.machine.release() else { return nil }
            return state.waiters.removeValue(forKey: id)
        }
        next?.timeout?.cancel()
        next?.continuation.resume()
    }

    /// A held slot. Released exactly once: explicitly, or when the last reference goes.
    package final class Permit: Sendable {
        private let queue: AccountQueue?
        private let released = Atomic(false)

        fileprivate init(queue: AccountQueue?) {
            self.queue = queue
        }

        package func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { queue?.release() }
        }

        deinit { release() }
    }
}
