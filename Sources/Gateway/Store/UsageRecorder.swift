import Foundation
import Logging
import ServiceLifecycle
import Stores
import Synchronization

/// Usage records on their way to the store (docs/architecture.md, "State store"): a request only
/// appends to a buffer in memory; a background task writes the batch once a second. While the
/// store fails the records wait, up to `capacity`; past that they are dropped and the count is
/// logged, never silently.
final class UsageRecorder: Service, Sendable {
    static let capacity = 10_000
    private struct Buffer {
        var pending: [UsageRecord] = []
        var dropped = 0
    }

    private let store: any UsageStore
    private let logger: Logger
    private let interval: Duration
    private let capacity: Int
    private let buffer = Mutex(Buffer())

    init(store: any UsageStore, logger: Logger, interval: Duration = .seconds(1), capacity: Int = UsageRecorder.capacity) {
        self.store = store
        self.logger = logger
        self.interval = interval
        self.capacity = capacity
    }

    func add(_ record: UsageRecord) {
        buffer.withLock { buffer in
            if buffer.pending.count < capacity {
                buffer.pending.append(record)
            } else {
                buffer.dropped += 1
            }
        }
    }

    /// Writes what is pending, `UsageRecord.rowsPerWrite` at a time; on a failure what was not
    /// written goes back for the next try (nothing is written twice).
    func flush() async {
        let (batch, dropped) = buffer.withLock { buffer in
            defer { buffer = Buffer(pending: [], dropped: 0) }
            return (buffer.pending, buffer.dropped)
        }
        if dropped > 0 {
            logger.warning("usage: \(dropped) records dropped: the store has not accepted writes and the buffer holds \(capacity)")
        }
        var written = 0
        while written < batch.count {
            let chunk = batch[written..<min(written + UsageRecord.rowsPerWrite, batch.count)]
            do {
                try await store.recordUsage(Array(chunk))
                written += chunk.count
            } catch {
                buffer.withLock { buffer in
                    // Older records first; what no longer fits is counted as dropped.
                    let kept = batch[written...] + buffer.pending
                    buffer.dropped += max(0, kept.count - capacity)
                    buffer.pending = Array(kept.prefix(capacity))
                }
                return
            }
        }
    }

    var pendingCount: Int { buffer.withLock { $0.pending.count } }

    /// Flushes every `interval` until shutdown, then once more.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}
