import Foundation

/// Accounts signed in through flowgate and their credentials.
package protocol AccountStore: Sendable {
    func saveAccount(_ account: StoredAccount) async throws
    func accounts(provider: String) async throws -> [StoredAccount]
    func removeAccount(provider: String, name: String) async throws
}

/// OAuth `state` values: single use, so a sign-in started on one instance can finish on another.
package protocol OAuthStateStore: Sendable {
    /// False when `capacity` unexpired sign-ins are already pending.
    func issueSignIn(state: String, _ pending: PendingSignIn, capacity: Int, now: Date) async throws -> Bool
    /// What the state was issued for, once; nil when unknown, used or expired.
    func consumeSignIn(state: String, now: Date) async throws -> PendingSignIn?
}

/// Cooldowns, so every instance (and the next start) honours them.
package protocol CooldownStore: Sendable {
    func setCooldown(_ cooldown: StoredCooldown) async throws
    func cooldowns(now: Date) async throws -> [StoredCooldown]
    func clearCooldowns(provider: String, account: String) async throws
}

/// In-flight slots of an account shared by instances: `limit` slots per key, each held until
/// released or until its expiry passes (a crashed holder's slots lapse).
package protocol LeaseStore: Sendable {
    /// The slot taken, or nil when all `limit` are held and unexpired.
    func acquireLease(key: String, limit: Int, holder: String, now: Date, expires: Date) async throws -> Int?
    func releaseLease(key: String, slot: Int, holder: String) async throws
    /// Pushes the expiry of every slot `holder` holds.
    func renewLeases(holder: String, expires: Date) async throws
}

/// One refresh of a token at a time across instances.
package protocol RefreshLockStore: Sendable {
    func acquireLock(key: String, holder: String, now: Date, expires: Date) async throws -> Bool
    func releaseLock(key: String, holder: String) async throws
}

package protocol UsageStore: Sendable {
    /// All or none; at most `UsageRecord.rowsPerWrite` records per call.
    func recordUsage(_ records: [UsageRecord]) async throws
    /// All or none; at most `UsageRecord.rowsPerWrite` records per call.
    func recordRequests(_ records: [RequestRecord]) async throws
    /// Deletes usage and request records older than `before`; returns how many rows went.
    func pruneUsage(before: Date) async throws -> Int
    /// Usage from `from` up to (not including) `to`, a row per group, sorted by the group's value.
    func usageReport(from: Date, to: Date, groupBy: UsageGrouping) async throws -> [UsageRow]
    /// Request records, newest first.
    func requests(_ query: RequestQuery) async throws -> [RequestRecord]
}

/// Responses kept for `previous_response_id`.
package protocol ResponseStore: Sendable {
    func saveResponse(id: String, body: Data, expires: Date) async throws
    func response(id: String, now: Date) async throws -> Data?
    /// Whether there was one to delete.
    func deleteResponse(id: String) async throws -> Bool
    /// Deletes the responses expired by `now`; returns how many.
    func deleteExpiredResponses(now: Date) async throws -> Int
}

/// Everything that survives a restart and is shared by instances (docs/architecture.md, "State store").
package protocol StateStore: AccountStore, OAuthStateStore, CooldownStore, LeaseStore, RefreshLockStore, UsageStore,
    ResponseStore
{
    /// `memory`, `sqlite` or `postgres`.
    var kind: String { get }
    /// True when several instances may share this store (leases must then go through it).
    var isShared: Bool { get }
    /// Nil while the store answers; else why it does not.
    var fault: String? { get }
    func close() async
}
