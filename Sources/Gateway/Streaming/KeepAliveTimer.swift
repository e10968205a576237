import NIOCore
import Synchronization

/// Calls `fire` whenever a stream has been silent for `interval`, as one timer on an event
/// loop (the stream's producer's). A task sleeping on the global executor did the same at
/// the cost of a task, a Dispatch timer and two thread wake-ups a stream
/// (docs/performance.md, "A stream's keep-alive timer on the event loop").
final class KeepAliveTimer: Sendable {
    private struct State {
        var lastActivity: NIODeadline
        var scheduled: Scheduled<Void>?
        var cancelled = false
    }

    private let interval: TimeAmount
    private let eventLoop: any EventLoop
    private let fire: @Sendable () -> Void
    private let state: Mutex<State>

    /// Times are the event loop's (`now`), so a test can drive them.
    init(interval: Duration, on eventLoop: any EventLoop, fire: @escaping @Sendable () -> Void) {
        self.interval = TimeAmount(interval)
        self.eventLoop = eventLoop
        self.fire = fire
        state = Mutex(State(lastActivity: eventLoop.now))
        arm(after: self.interval)
    }

    /// The stream sent something: the silence starts again.
    func activity() {
        let now = eventLoop.now
        state.withLock { $0.lastActivity = now }
    }

    func cancel() {
        let scheduled = state.withLock { state -> Scheduled<Void>? in
            state.cancelled = true
            defer { state.scheduled = nil }
            return state.scheduled
        }
        scheduled?.cancel()
    }

    private func arm(after delay: TimeAmount) {
        state.withLock { state in
            guard !state.cancelled else { return }
            state.scheduled = eventLoop.scheduleTask(in: delay) { [self] in check() }
        }
    }

    /// Fires when the stream was silent for the whole interval, then waits for the next one.
    private func check() {
        let now = eventLoop.now
        let silentFor = state.withLock { state -> TimeAmount? in
            guard now - state.lastActivity >= interval else { return now - state.lastActivity }
            state.lastActivity = now
            return nil
        }
        if silentFor == nil { fire() }
        arm(after: interval - (silentFor ?? .zero))
    }
}
