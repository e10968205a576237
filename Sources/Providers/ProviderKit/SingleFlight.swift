import Synchronization

/// One run of an operation at a time: callers that come while it runs wait for its result
/// instead of starting their own (a token refresh that many requests need at once).
package final class SingleFlight<Value: Sendable>: Sendable {
    private let running = Mutex<Task<Value, any Error>?>(nil)

    package init() {}

    package func run(_ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = running.withLock { current -> Task<Value, any Error> in
            if let current { return current }
            let task = Task { try await operation() }
            current = task
            return task
        }
        // The next caller starts afresh; a newer run (started after this one ended) is left alone.
        defer { running.withLock { if $0 == task { $0 = nil } } }
        return try await task.value
    }
}
