import Foundation
import Logging
import ServiceLifecycle
import Stores
import Synchronization

/// Usage on its way to the store (docs/architecture.md, "Usage"): a request only appends its
/// record to a list in memory and adds itself to a sum, one per provider, account, model, status
/// and client key; a background task writes both once a second, the records in one statement per
/// `UsageRecord.rowsPerWrite`, and sooner when that many are waiting (so the list, and the memory
/// it takes, stays small). While the store fails the sums keep growing in place (the totals stay
/// exact) and the records wait up to `recordCapacity`; what does not fit is dropped and the count
/// is logged, never silently.
final class UsageRecorder: Service, Sendable {
    static let capacity = 10_000
    static let recordCapacity = 50_000

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
        var records: [RequestRecord] = []
        var droppedRecords = 0

        mutating func keep(_ records: some Collection<RequestRecord>, capacity: Int) {
            let room = max(0, capacity - self.records.count)
            self.records.append(contentsOf: records.prefix(room))
            droppedRecords += max(0, records.count - room)
        }

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
    private let recordCapacity: Int
    /// How long usage is kept (docs/configuration.md, `usage_retention_days`).
    private let retention: Duration
    private let buffer = Mutex(Buffer())

    init(
        store: any UsageStore, logger: Logger, interval: Duration = .seconds(1), capacity: Int = UsageRecorder.capacity,
        recordCapacity: Int = UsageRecorder.recordCapacity, retentionDays: Int = 90
    ) {
        self.recordCapacity = recordCapacity
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

    func add(_ record: RequestRecord) {
        let sum = record.sum
        buffer.withLock { buffer in
            buffer.merge(sum, capacity: capacity)
            if buffer.records.count < recordCapacity {
                buffer.records.append(record)
            } else {
                buffer.droppedRecords += 1
            }
        }
    }

    /// Writes the sums, `UsageRecord.rowsPerWrite` at a time, then the records; on a failure
    /// what was not written is added back for the next try (nothing is written twice).
    @discardableResult
    func flush() async -> Bool {
        let (batch, dropped, records, droppedRecords) = buffer.withLock { buffer in
            defer { buffer = Buffer() }
            return (Array(buffer.groups.values), buffer.dropped, buffer.records, buffer.droppedRecords)
        }
        if dropped > 0 {
            logger.warning(
                "usage: \(dropped) requests not recorded: the store has not accepted writes and \(capacity) kinds of request are waiting")
        }
        if droppedRecords > 0 {
            logger.warning(
                "usage: \(droppedRecords) request records dropped: the store has not accepted writes and \(recordCapacity) are waiting (the sums are complete)")
        }
        let wrote = await write(records)
        return await write(batch) && wrote
    }

    private func write(_ records: [RequestRecord]) async -> Bool {
        var written = 0
        while written < records.count {
            // Mostly one statement's worth or less: then the list itself, not a copy.
            let chunk =
                records.count <= UsageRecord.rowsPerWrite
                ? records : Array(records[written..<min(written + UsageRecord.rowsPerWrite, records.count)])
            do {
                try await store.recordRequests(chunk)
                written += chunk.count
            } catch {
                let left = records[written...]
                buffer.withLock { $0.keep(left, capacity: recordCapacity) }
                return false
            }
        }
        return true
    }

    private func write(_ batch: [UsageRecord]) async -> Bool {
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
                return false
            }
        }
        return true
    }

    /// Requests counted and not yet written.
    var pendingRequests: Int { buffer.withLock { $0.groups.values.reduce(0) { $0 + $1.requests } } }
    /// Request records not yet written.
    var pendingRecords: Int { buffer.withLock { $0.records.count } }

    /// Flushes every `interval` (sooner when busy) until shutdown, then once more.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var pruned = ContinuousClock.now - .seconds(3600)
            var flushed = ContinuousClock.now
            var healthy = true
            while !Task.isCancelled {
                if ContinuousClock.now - pruned >= .seconds(3600) {
                    pruned = .now
                    await self.prune()
                }
                // A tenth of the interval at a time: a busy server's records go as soon as a
                // statement's worth waits (unless the store just failed: then once an interval).
                while !Task.isCancelled, ContinuousClock.now - flushed < self.interval,
                    !(healthy && self.pendingRecords >= UsageRecord.rowsPerWrite)
                {
                    try? await Task.sleep(for: self.interval / 10)
                }
                flushed = .now
                healthy = await self.flush()
            }
        }
        await flush()
    }
}
