import Foundation
import Logging
import ServiceLifecycle
import Stores
import Synchronization

/// Usage on its way to the store (docs/architecture.md, "State store"): a request only adds
/// itself to a sum in memory, one per provider, account, model, status and client key; a background task
/// writes the sums once a second. So the store sees a few rows a second however busy the server
/// is. While the store fails the sums keep growing in place (the totals stay exact); a request
/// that would need more than `capacity` groups is dropped and the count is logged, never silently.
final class UsageRecorder: Service, Sendable {
    static let capacity = 10_000

    private struct Group: Hashable {
        let provider: String
        let account: String
        let model: String
        let status: Int
        let clientKey: String
    }

    private struct Buffer {
        var groups: [Group: UsageRecord] = [:]
        var dropped = 0

        mutating func merge(_ record: UsageRecord, capacity: Int) {
            let group = Group(
                provider: record.provider, account: record.account, model: record.model, status: record.status,
                clientKey: record.clientKey)
            if var sum = groups[group] {
                sum.requests += record.requests
                sum.inputTokens += record.inputTokens
                sum.outputTokens += record.outputTokens
                sum.durationMs += record.durationMs
                groups[group] = sum
            } else if groups.count < capacity {
                groups[group] = record
            } else {
                dropped += record.requests
            }
        }
    }

    private let store: any UsageStore
    private let logger: Logger
    private let interval: Duration
    private let capacity: Int
    /// How long usage is kept (docs/configuration.md, `usage_retention_days`).
    private let retention: Duration
    private let buffer = Mutex(Buffer())

    init(
        store: any UsageStore, logger: Logger, interval: Duration = .seconds(1), capacity: Int = UsageRecorder.capacity,
        retentionDays: Int = 90
    ) {
        self.store = store
        self.logger = logger
        self.interval = interval
        self.capacity = capacity
        self.retention = .seconds(retentionDays * 86400)
    }

    /// Deletes usage past the retention; every hour, and at start.
    func prune(now: Date = Date()) async {
        let before = now.addingTimeInterval(-Double(retention.components.seconds))
        guard let gone = try? await store.pruneUsage(before: before), gone > 0 else { return }
        logger.info("usage: \(gone) records older than \(retention.components.seconds / 86400) days deleted")
    }

    func add(_ record: UsageRecord) {
        buffer.withLock { $0.merge(record, capacity: capacity) }
    }

    /// Writes the sums, `UsageRecord.rowsPerWrite` at a time; on a failure what was not written
    /// is added back for the next try (nothing is written twice).
    func flush() async {
        let (batch, dropped) = buffer.withLock { buffer in
            defer { buffer = Buffer() }
            return (Array(buffer.groups.values), buffer.dropped)
        }
        if dropped > 0 {
            logger.warning(
                "usage: \(dropped) requests not recorded: the store has not accepted writes and \(capacity) kinds of request are waiting")
        }
        var written = 0
        while written < batch.count {
            let chunk = batch[written..<min(written + UsageRecord.rowsPerWrite, batch.count)]
            do {
                try await store.recordUsage(Array(chunk))
                written += chunk.count
            } catch {
                buffer.withLock { buffer in
                    for record in batch[written...] { buffer.merge(record, capacity: capacity) }
                }
                return
            }
        }
    }

    /// Requests counted and not yet written.
    var pendingRequests: Int { buffer.withLock { $0.groups.values.reduce(0) { $0 + $1.requests } } }

    /// Flushes every `interval` until shutdown, then once more.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var pruned = ContinuousClock.now - .seconds(3600)
            while !Task.isCancelled {
                if ContinuousClock.now - pruned >= .seconds(3600) {
                    pruned = .now
                    await self.prune()
                }
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}
