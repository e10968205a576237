import Foundation
import Logging
import SQLKit
import Synchronization

/// The state store over SQL (docs/architecture.md, "State store"): the same statements run on
/// SQLite and PostgreSQL (sql-kit picks each one's placeholders). Times are milliseconds since
/// 1970; credentials are sealed before they are written. Every call gives up after
/// `timeout`, so a store that stopped answering costs a request at most that, and `fault` says why.
package final class SQLStateStore: StateStore {
    private let connector: any SQLConnector
    private let sealer: SecretSealer
    private let timeout: Duration
    private let lastFault = Mutex<String?>(nil)
    /// Where `acquireLease` starts looking: a different place each call (random at first, so
    /// instances differ too).
    private let leaseStart = Atomic<Int>(Int.random(in: 0..<1_000_000))

    init(connector: any SQLConnector, sealer: SecretSealer, timeout: Duration = .seconds(2)) {
        self.connector = connector
        self.sealer = sealer
        self.timeout = timeout
    }

    package var kind: String { connector.kind }
    package var isShared: Bool { connector.kind == "postgres" }
    package var fault: String? { lastFault.withLock { $0 } }

    package func close() async { await connector.close() }

    /// Applies the schema's missing steps; returns their numbers.
    /// Longer than one call's deadline: another instance may hold the migration lock for a moment.
    func migrate() async throws -> [Int] {
        try await withDeadline(.seconds(10)) {
            try await self.connector.withDatabase { try await StoreMigrations.apply(on: $0) }
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            let value = try await withDeadline(timeout) { try await self.connector.withDatabase(body) }
            lastFault.withLock { $0 = nil }
            return value
        } catch let error as SecretSealer.SealError {
            throw error
        } catch {
            let reason = error is StoreTimeout ? "no answer within \(timeout)" : String(describing: error)
            lastFault.withLock { $0 = "the \(kind) store failed: \(reason)" }
            throw error
        }
    }

    // MARK: Accounts

    package func saveAccount(_ account: StoredAccount) async throws {
        let sealed = try sealer.seal(account.credentials)
        let updated = account.updated.milliseconds
        try await run { db in
            try await db.raw(
                """
                INSERT INTO accounts (provider, name, sealed, updated_ms)
                VALUES (\(bind: account.provider), \(bind: account.name), \(bind: sealed), \(bind: updated))
                ON CONFLICT (provider, name) DO UPDATE SET sealed = excluded.sealed, updated_ms = excluded.updated_ms
                """
            ).run()
        }
    }

    package func accounts(provider: String) async throws -> [StoredAccount] {
        let rows = try await run { db in
            try await db.raw(
                "SELECT name, sealed, updated_ms FROM accounts WHERE provider = \(bind: provider) ORDER BY name"
            ).all().map {
                (
                    try $0.decode(column: "name", as: String.self), try $0.decode(column: "sealed", as: String.self),
                    try $0.decode(column: "updated_ms", as: Int64.self)
                )
            }
        }
        return try rows.map { name, sealed, updated in
            StoredAccount(
                provider: provider, name: name, credentials: try sealer.open(sealed), updated: Date(milliseconds: updated))
        }
    }

    package func removeAccount(provider: String, name: String) async throws {
        try await run { db in
            try await db.raw("DELETE FROM accounts WHERE provider = \(bind: provider) AND name = \(bind: name)").run()
        }
    }

    // MARK: OAuth states

    package func issueSignIn(state: String, _ pending: PendingSignIn, capacity: Int, now: Date) async throws -> Bool {
        let now = now.milliseconds
        return try await run { db in
            try await db.raw("DELETE FROM oauth_states WHERE expires_ms <= \(bind: now)").run()
            let count = try await db.raw("SELECT COUNT(*) AS n FROM oauth_states").first()?.decode(
                column: "n", as: Int.self) ?? 0
            guard count < capacity else { return false }
            try await db.raw(
                """
                INSERT INTO oauth_states (state, provider, redirect, account, expires_ms)
                VALUES (\(bind: state), \(bind: pending.provider), \(bind: pending.redirect), \(bind: pending.account),
                  \(bind: pending.expires.milliseconds))
                """
            ).run()
            return true
        }
    }

    package func consumeSignIn(state: String, now: Date) async throws -> PendingSignIn? {
        try await run { db in
            guard
                let row = try await db.raw(
                    "DELETE FROM oauth_states WHERE state = \(bind: state) RETURNING provider, redirect, account, expires_ms"
                ).first()
            else { return nil }
            let expires = Date(milliseconds: try row.decode(column: "expires_ms", as: Int64.self))
            guard expires > now else { return nil }
            return PendingSignIn(
                provider: try row.decode(column: "provider", as: String.self),
                redirect: try row.decode(column: "redirect", as: String.self),
                account: try row.decode(column: "account", as: String?.self), expires: expires)
        }
    }

    // MARK: Cooldowns

    package func setCooldown(_ cooldown: StoredCooldown) async throws {
        try await run { db in
            try await db.raw(
                """
                INSERT INTO cooldowns (provider, account, model, until_ms)
                VALUES (\(bind: cooldown.provider), \(bind: cooldown.account), \(bind: cooldown.model),
                  \(bind: cooldown.until.milliseconds))
                ON CONFLICT (provider, account, model) DO UPDATE SET until_ms = excluded.until_ms
                """
            ).run()
        }
    }

    package func cooldowns(now: Date) async throws -> [StoredCooldown] {
        try await run { db in
            try await db.raw(
                "SELECT provider, account, model, until_ms FROM cooldowns WHERE until_ms > \(bind: now.milliseconds)"
            ).all().map { row in
                StoredCooldown(
                    provider: try row.decode(column: "provider", as: String.self),
                    account: try row.decode(column: "account", as: String.self),
                    model: try row.decode(column: "model", as: String.self),
                    until: Date(milliseconds: try row.decode(column: "until_ms", as: Int64.self)))
            }
        }
    }

    package func clearCooldowns(provider: String, account: String) async throws {
        try await run { db in
            try await db.raw("DELETE FROM cooldowns WHERE provider = \(bind: provider) AND account = \(bind: account)")
                .run()
        }
    }

    // MARK: Leases and locks: one statement each, so two instances never both win a slot

    /// One statement whatever the limit: the first free slot from a starting point that moves
    /// with every call, so that requests arriving together rarely race for the same one (the
    /// loser finds the row taken and gets nil, as if all were held, and asks again).
    package func acquireLease(key: String, limit: Int, holder: String, now: Date, expires: Date) async throws -> Int? {
        let (now, expires, limit) = (now.milliseconds, expires.milliseconds, max(limit, 1))
        let start = leaseStart.add(1, ordering: .relaxed).oldValue % limit
        return try await run { db in
            try await db.raw(
                """
                WITH RECURSIVE slots(slot) AS (SELECT 0 UNION ALL SELECT slot + 1 FROM slots WHERE slot + 1 < \(bind: limit))
                INSERT INTO leases (lease_key, slot, holder, expires_ms)
                SELECT \(bind: key), slot, \(bind: holder), \(bind: expires) FROM slots
                WHERE NOT EXISTS (SELECT 1 FROM leases held WHERE held.lease_key = \(bind: key) AND held.slot = slots.slot
                  AND held.expires_ms >= \(bind: now))
                ORDER BY (slot + \(bind: start)) % \(bind: limit) LIMIT 1
                ON CONFLICT (lease_key, slot) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE leases.expires_ms < \(bind: now)
                RETURNING slot
                """
            ).first().map { try $0.decode(column: "slot", as: Int.self) }
        }
    }

    package func releaseLease(key: String, slot: Int, holder: String) async throws {
        try await run { db in
            try await db.raw(
                "DELETE FROM leases WHERE lease_key = \(bind: key) AND slot = \(bind: slot) AND holder = \(bind: holder)"
            ).run()
        }
    }

    package func renewLeases(holder: String, expires: Date) async throws {
        try await run { db in
            try await db.raw(
                "UPDATE leases SET expires_ms = \(bind: expires.milliseconds) WHERE holder = \(bind: holder)"
            ).run()
        }
    }

    package func acquireLock(key: String, holder: String, now: Date, expires: Date) async throws -> Bool {
        try await run { db in
            try await db.raw(
                """
                INSERT INTO refresh_locks (lock_key, holder, expires_ms)
                VALUES (\(bind: key), \(bind: holder), \(bind: expires.milliseconds))
                ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE refresh_locks.expires_ms < \(bind: now.milliseconds)
                RETURNING lock_key
                """
            ).first() != nil
        }
    }

    package func releaseLock(key: String, holder: String) async throws {
        try await run { db in
            try await db.raw("DELETE FROM refresh_locks WHERE lock_key = \(bind: key) AND holder = \(bind: holder)").run()
        }
    }

    // MARK: Usage

    package func recordUsage(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await run { db in
            // One statement per call: callers pass at most `UsageRecord.rowsPerWrite` records.
            var insert = db.insert(into: "usage_records").columns(
                "time_ms", "provider", "account", "model", "status", "client_key", "requests", "input_tokens",
                "output_tokens", "duration_ms")
            for record in records {
                insert = insert.values(
                    SQLBind(record.time.milliseconds), SQLBind(record.provider), SQLBind(record.account),
                    SQLBind(record.model), SQLBind(record.status), SQLBind(record.clientKey), SQLBind(record.requests),
                    SQLBind(record.inputTokens), SQLBind(record.outputTokens), SQLBind(record.durationMs))
            }
            try await insert.run()
        }
    }

    /// One row per call, however many records (callers pass at most `UsageRecord.rowsPerWrite`):
    /// a row per record cost the server 5 % of its throughput and doubled its p99 at one
    /// connection (docs/performance.md, "Usage records in batches").
    package func recordRequests(_ records: [RequestRecord]) async throws {
        guard let first = records.first else { return }
        var (earliest, latest) = (first.time.milliseconds, first.time.milliseconds)
        for record in records.dropFirst() {
            earliest = min(earliest, record.time.milliseconds)
            latest = max(latest, record.time.milliseconds)
        }
        let (firstTime, lastTime, count, text) = (earliest, latest, records.count, RequestRecordRows.json(records))
        try await run { db in
            try await db.raw(
                """
                INSERT INTO usage_request_batches (first_ms, last_ms, count, records)
                VALUES (\(bind: firstTime), \(bind: lastTime), \(bind: count), \(bind: text))
                """
            ).run()
        }
    }

    /// Sums by their own time; request records a batch at a time, once its newest is older than `before`.
    package func pruneUsage(before: Date) async throws -> Int {
        let before = before.milliseconds
        return try await run { db in
            let sums = try await db.raw("DELETE FROM usage_records WHERE time_ms < \(bind: before) RETURNING 1 AS gone")
                .all().count
            let records = try await db.raw(
                "DELETE FROM usage_request_batches WHERE last_ms < \(bind: before) RETURNING count"
            ).all().reduce(0) { $0 + (try $1.decode(column: "count", as: Int.self)) }
            return sums + records
        }
    }

    /// Newest first. Batches are read newest first (by `last_ms`, then `id`), a few at a time,
    /// each page going on after the last batch read, so batches written meanwhile are neither
    /// read twice nor skipped; reading stops when no batch left can hold a record newer than the
    /// `limit` found. A request id or key name narrows which batches are read.
    package func requests(_ query: RequestQuery) async throws -> [RequestRecord] {
        let (from, to, limit) = (query.from.milliseconds, query.to.milliseconds, query.limit)
        guard limit > 0 else { return [] }
        let narrowing = [query.requestID, query.clientKey].compactMap { $0.flatMap(RequestRecordRows.containing) }
        var found: [RequestRecord] = []
        var after: (last: Int64, id: Int64)? = nil
        while true {
            let readAfter = after
            let page = try await run { db in
                var sql: SQLQueryString = """
                    SELECT id, last_ms, records FROM usage_request_batches
                    WHERE last_ms >= \(bind: from) AND first_ms < \(bind: to)
                    """
                if let readAfter {
                    sql += " AND (last_ms < \(bind: readAfter.last) OR (last_ms = \(bind: readAfter.last) AND id < \(bind: readAfter.id)))"
                }
                for pattern in narrowing { sql += " AND records LIKE \(bind: pattern) ESCAPE '!'" }
                sql += " ORDER BY last_ms DESC, id DESC LIMIT \(literal: Self.batchesPerRead)"
                return try await db.raw(sql).all().map {
                    (
                        last: try $0.decode(column: "last_ms", as: Int64.self), id: try $0.decode(column: "id", as: Int64.self),
                        records: try $0.decode(column: "records", as: String.self)
                    )
                }
            }
            for batch in page {
                found += try RequestRecordRows.records(batch.records).filter(query.matches)
            }
            found.sort { $0.time > $1.time }
            if found.count > limit { found.removeLast(found.count - limit) }
            guard page.count == Self.batchesPerRead, let last = page.last else { break }
            // The batches not read yet hold nothing newer than `last`'s newest.
            if found.count == limit, let oldest = found.last, oldest.time.milliseconds >= last.last { break }
            after = (last.last, last.id)
        }
        return found
    }

    /// Batches of request records read at once (each at most `UsageRecord.rowsPerWrite` records).
    private static let batchesPerRead = 8

    package func usageReport(from: Date, to: Date, groupBy: UsageGrouping) async throws -> [UsageRow] {
        // The group's column comes from the enum, never from the caller's text.
        let column: String
        switch groupBy {
        case .day: column = "CAST(time_ms / 86400000 AS BIGINT)"
        case .hour: column = "CAST(time_ms / 3600000 AS BIGINT)"
        case .model: column = "model"
        case .provider: column = "provider"
        case .account: column = "account"
        case .key: column = "client_key"
        }
        return try await run { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: column) AS grp, CAST(SUM(requests) AS BIGINT) AS requests,
                  CAST(SUM(CASE WHEN status >= 400 THEN requests ELSE 0 END) AS BIGINT) AS errors,
                  CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, CAST(SUM(output_tokens) AS BIGINT) AS output_tokens
                FROM usage_records WHERE time_ms >= \(bind: from.milliseconds) AND time_ms < \(bind: to.milliseconds)
                GROUP BY \(unsafeRaw: column) ORDER BY \(unsafeRaw: column)
                """
            ).all().map { row in
                let key: String
                switch groupBy {
                case .day: key = UsageRow.day(Date(milliseconds: try row.decode(column: "grp", as: Int64.self) * 86_400_000))
                case .hour: key = UsageRow.hour(Date(milliseconds: try row.decode(column: "grp", as: Int64.self) * 3_600_000))
                default: key = try row.decode(column: "grp", as: String.self)
                }
                return UsageRow(
                    key: key, requests: try row.decode(column: "requests", as: Int.self),
                    errors: try row.decode(column: "errors", as: Int.self),
                    promptTokens: try row.decode(column: "input_tokens", as: Int.self),
                    completionTokens: try row.decode(column: "output_tokens", as: Int.self))
            }
        }
    }

    // MARK: Stored responses

    package func saveResponse(id: String, body: Data, expires: Date) async throws {
        let text = String(decoding: body, as: UTF8.self)
        try await run { db in
            try await db.raw(
                """
                INSERT INTO responses (id, body, expires_ms) VALUES (\(bind: id), \(bind: text), \(bind: expires.milliseconds))
                ON CONFLICT (id) DO UPDATE SET body = excluded.body, expires_ms = excluded.expires_ms
                """
            ).run()
        }
    }

    package func deleteExpiredResponses(now: Date) async throws -> Int {
        try await run { db in
            try await db.raw("DELETE FROM responses WHERE expires_ms <= \(bind: now.milliseconds) RETURNING id").all().count
        }
    }

    package func deleteResponse(id: String) async throws -> Bool {
        try await run { db in
            try await db.raw("DELETE FROM responses WHERE id = \(bind: id) RETURNING id").first() != nil
        }
    }

    package func response(id: String, now: Date) async throws -> Data? {
        try await run { db in
            try await db.raw(
                "SELECT body FROM responses WHERE id = \(bind: id) AND expires_ms > \(bind: now.milliseconds)"
            ).first().map { Data(try $0.decode(column: "body", as: String.self).utf8) }
        }
    }
}

extension Date {
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000) }
}
