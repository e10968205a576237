import Foundation
import Synchronization

/// The store in one process's memory: for tests and for `store: memory` (nothing survives a restart).
package final class MemoryStateStore: StateStore {
    private struct Tables {
        var accounts: [String: StoredAccount] = [:]
        var signIns: [String: PendingSignIn] = [:]
        var cooldowns: [String: StoredCooldown] = [:]
        var leases: [String: (holder: String, expires: Date)] = [:]
        var locks: [String: (holder: String, expires: Date)] = [:]
        var usage: [UsageRecord] = []
        /// Oldest first, at most `requestCapacity`.
        var requests: [RequestRecord] = []
        var responses: [String: (body: Data, expires: Date)] = [:]
    }

    private let tables = Mutex(Tables())

    package let isShared: Bool
    /// Request records kept (the oldest go first): memory is no place for 90 days of them.
    package static let requestCapacity = 20_000

    /// `shared`: behave as a store several instances share (leases go through it), so tests can
    /// run two instances in one process on one store.
    package init(shared: Bool = false) {
        self.isShared = shared
    }

    package var kind: String { "memory" }
    package var fault: String? { nil }
    package func close() async {}

    package func saveAccount(_ account: StoredAccount) async throws {
        tables.withLock { $0.accounts["\(account.provider)\n\(account.name)"] = account }
    }

    package func accounts(provider: String) async throws -> [StoredAccount] {
        tables.withLock { $0.accounts.values.filter { $0.provider == provider }.sorted { $0.name < $1.name } }
    }

    package func removeAccount(provider: String, name: String) async throws {
        _ = tables.withLock { $0.accounts.removeValue(forKey: "\(provider)\n\(name)") }
    }

    package func issueSignIn(state: String, _ pending: PendingSignIn, capacity: Int, now: Date) async throws -> Bool {
        tables.withLock { tables in
            tables.signIns = tables.signIns.filter { $0.value.expires > now }
            guard tables.signIns.count < capacity else { return false }
            tables.signIns[state] = pending
            return true
        }
    }

    package func consumeSignIn(state: String, now: Date) async throws -> PendingSignIn? {
        tables.withLock { $0.signIns.removeValue(forKey: state) }.flatMap { $0.expires > now ? $0 : nil }
    }

    package func setCooldown(_ cooldown: StoredCooldown) async throws {
        tables.withLock { $0.cooldowns["\(cooldown.provider)\n\(cooldown.account)\n\(cooldown.model)"] = cooldown }
    }

    package func cooldowns(now: Date) async throws -> [StoredCooldown] {
        tables.withLock { $0.cooldowns.values.filter { $0.until > now } }
    }

    package func clearCooldowns(provider: String, account: String) async throws {
        tables.withLock { tables in
            tables.cooldowns = tables.cooldowns.filter { $0.value.provider != provider || $0.value.account != account }
        }
    }

    package func acquireLease(key: String, limit: Int, holder: String, now: Date, expires: Date) async throws -> Int? {
        tables.withLock { tables in
            for slot in 0..<max(limit, 1) {
                let id = "\(key)\n\(slot)"
                if let held = tables.leases[id], held.expires >= now { continue }
                tables.leases[id] = (holder, expires)
                return slot
            }
            return nil
        }
    }

    package func releaseLease(key: String, slot: Int, holder: String) async throws {
        tables.withLock { tables in
            let id = "\(key)\n\(slot)"
            if tables.leases[id]?.holder == holder { tables.leases[id] = nil }
        }
    }

    package func renewLeases(holder: String, expires: Date) async throws {
        tables.withLock { tables in
            for (id, held) in tables.leases where held.holder == holder { tables.leases[id] = (holder, expires) }
        }
    }

    package func acquireLock(key: String, holder: String, now: Date, expires: Date) async throws -> Bool {
        tables.withLock { tables in
            if let held = tables.locks[key], held.expires >= now { return false }
            tables.locks[key] = (holder, expires)
            return true
        }
    }

    package func releaseLock(key: String, holder: String) async throws {
        tables.withLock { tables in
            if tables.locks[key]?.holder == holder { tables.locks[key] = nil }
        }
    }

    package func recordUsage(_ records: [UsageRecord]) async throws {
        tables.withLock { $0.usage.append(contentsOf: records) }
    }

    package func recordRequests(_ records: [RequestRecord]) async throws {
        tables.withLock { tables in
            tables.requests.append(contentsOf: records)
            let excess = tables.requests.count - Self.requestCapacity
            if excess > 0 { tables.requests.removeFirst(excess) }
        }
    }

    package func pruneUsage(before: Date) async throws -> Int {
        tables.withLock { tables in
            let count = tables.usage.count + tables.requests.count
            tables.usage.removeAll { $0.time < before }
            tables.requests.removeAll { $0.time < before }
            return count - tables.usage.count - tables.requests.count
        }
    }

    package func requests(_ query: RequestQuery) async throws -> [RequestRecord] {
        let matching = tables.withLock { tables in tables.requests.filter(query.matches) }
        // Newest first; of one time, the later recorded first.
        return Array(matching.reversed().sorted { $0.time > $1.time }.prefix(query.limit))
    }

    package func usageReport(from: Date, to: Date, groupBy: UsageGrouping) async throws -> [UsageRow] {
        let records = tables.withLock { $0.usage.filter { $0.time >= from && $0.time < to } }
        var rows: [String: UsageRow] = [:]
        for record in records {
            let key: String
            switch groupBy {
            case .day: key = UsageRow.day(record.time)
            case .hour: key = UsageRow.hour(record.time)
            case .model: key = record.model
            case .provider: key = record.provider
            case .account: key = record.account
            case .key: key = record.clientKey
            }
            var row = rows[key] ?? UsageRow(key: key, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0)
            row.requests += record.requests
            if record.status >= 400 { row.errors += record.requests }
            row.promptTokens += record.inputTokens
            row.completionTokens += record.outputTokens
            rows[key] = row
        }
        return rows.values.sorted { $0.key < $1.key }
    }

    package func saveResponse(id: String, body: Data, expires: Date) async throws {
        tables.withLock { $0.responses[id] = (body, expires) }
    }

    package func deleteExpiredResponses(now: Date) async throws -> Int {
        tables.withLock { tables in
            let count = tables.responses.count
            tables.responses = tables.responses.filter { $0.value.expires > now }
            return count - tables.responses.count
        }
    }

    package func deleteResponse(id: String) async throws -> Bool {
        tables.withLock { $0.responses.removeValue(forKey: id) != nil }
    }

    package func response(id: String, now: Date) async throws -> Data? {
        tables.withLock { $0.responses[id] }.flatMap { $0.expires > now ? $0.body : nil }
    }
}
