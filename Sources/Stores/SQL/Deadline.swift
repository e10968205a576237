import Synchronization

/// The store gave no answer in time.
struct StoreTimeout: Error, CustomStringConvertible {
    var description: String { "the store did not answer in time" }
}

/// Runs `body`, giving up after `limit`. The caller gets `StoreTimeout` at the deadline even when the
/// body ignores cancellation (a driver waiting for a connection that never comes); the body is cancelled
/// and left to end on its own.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let answer = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let resume: @Sendable (Result<T, any Error>) -> Void = { result in
        answer.withLock { pending in
            pending?.resume(with: result)
            pending = nil
        }
    }
    return try await withCheckedThrowingContinuation { continuation in
        answer.withLock { $0 = continuation }
        let work = Task {
            do { resume(.success(try await body())) } catch { resume(.failure(error)) }
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            work.cancel()
            resume(.failure(StoreTimeout()))
        }
        Task {
            _ = await work.result
            timer.cancel()
        }
    }
}
