import SQLKit

/// The schema, in numbered steps applied in order at start and recorded in `flowgate_migrations`
/// (docs/architecture.md, "State store"). A released step is never edited: a change is a new step.
enum StoreMigrations {
    struct Step {
        let version: Int
        let statements: [String]
        /// Run on PostgreSQL only (after `statements`).
        var postgres: [String] = []
        /// Run on SQLite only (after `statements`).
        var sqlite: [String] = []
    }

    private static let requestBatchesIndex =
        "CREATE INDEX IF NOT EXISTS usage_request_batches_last ON usage_request_batches (last_ms, id)"

    static let steps: [Step] = [
        Step(
            version: 1,
            statements: [
                """
                CREATE TABLE IF NOT EXISTS accounts (provider TEXT NOT NULL, name TEXT NOT NULL,
                  sealed TEXT NOT NULL, updated_ms BIGINT NOT NULL, PRIMARY KEY (provider, name))
                """,
                """
                CREATE TABLE IF NOT EXISTS oauth_states (state TEXT PRIMARY KEY, provider TEXT NOT NULL,
                  redirect TEXT NOT NULL, account TEXT, expires_ms BIGINT NOT NULL)
                """,
                """
                CREATE TABLE IF NOT EXISTS cooldowns (provider TEXT NOT NULL, account TEXT NOT NULL,
                  model TEXT NOT NULL, until_ms BIGINT NOT NULL, PRIMARY KEY (provider, account, model))
                """,
                """
                CREATE TABLE IF NOT EXISTS leases (lease_key TEXT NOT NULL, slot BIGINT NOT NULL,
                  holder TEXT NOT NULL, expires_ms BIGINT NOT NULL, PRIMARY KEY (lease_key, slot))
                """,
                """
                CREATE TABLE IF NOT EXISTS refresh_locks (lock_key TEXT PRIMARY KEY, holder TEXT NOT NULL,
                  expires_ms BIGINT NOT NULL)
                """,
                """
                CREATE TABLE IF NOT EXISTS usage_records (time_ms BIGINT NOT NULL, provider TEXT NOT NULL,
                  account TEXT NOT NULL, model TEXT NOT NULL, status BIGINT NOT NULL, requests BIGINT NOT NULL,
                  input_tokens BIGINT NOT NULL,
                  output_tokens BIGINT NOT NULL, duration_ms BIGINT NOT NULL)
                """,
                "CREATE INDEX IF NOT EXISTS usage_records_time ON usage_records (time_ms)",
                """
                CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, body TEXT NOT NULL,
                  expires_ms BIGINT NOT NULL)
                """,
            ]),
        // Leases and refresh locks live 30 to 60 s and are written twice per request with shared
        // limits: without the write-ahead log a commit waits for no fsync. A database crash empties
        // them, which only frees slots and locks early.
        Step(
            version: 2, statements: [],
            postgres: ["ALTER TABLE leases SET UNLOGGED", "ALTER TABLE refresh_locks SET UNLOGGED"]),
        // Usage by client key name (docs/configuration.md, `api_keys`).
        Step(
            version: 3,
            statements: ["ALTER TABLE usage_records ADD COLUMN client_key TEXT NOT NULL DEFAULT ''"]),
        // One row per request (docs/architecture.md, "Usage"); the sums above stay for the reports.
        Step(
            version: 4,
            statements: [
                """
                CREATE TABLE IF NOT EXISTS usage_requests (time_ms BIGINT NOT NULL, request_id TEXT NOT NULL,
                  client_key TEXT NOT NULL, dialect TEXT NOT NULL, provider TEXT NOT NULL, account TEXT NOT NULL,
                  model TEXT NOT NULL, upstream_model TEXT NOT NULL, stream BIGINT NOT NULL, status BIGINT NOT NULL,
                  error_code TEXT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
                  reasoning_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL, estimated BIGINT NOT NULL,
                  first_byte_us BIGINT NOT NULL, total_us BIGINT NOT NULL, overhead_us BIGINT NOT NULL)
                """,
                "CREATE INDEX IF NOT EXISTS usage_requests_time ON usage_requests (time_ms)",
            ]),
        // Request records in batches, one row per write (docs/architecture.md, "Usage"): the rows
        // of step 4 are moved over, at most a write's worth to a batch. `id` orders batches written
        // in the same millisecond, so a listing can go on where it stopped.
        Step(
            version: 5, statements: [],
            postgres: [
                """
                CREATE TABLE IF NOT EXISTS usage_request_batches (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                  first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL, count BIGINT NOT NULL, records TEXT NOT NULL)
                """,
                requestBatchesIndex,
                RequestRecordRows.moveRows(array: "json_build_array", arrays: "json_agg", asText: "::text"),
                "DROP TABLE usage_requests",
            ],
            sqlite: [
                """
                CREATE TABLE IF NOT EXISTS usage_request_batches (id INTEGER PRIMARY KEY,
                  first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL, count BIGINT NOT NULL, records TEXT NOT NULL)
                """,
                requestBatchesIndex,
                RequestRecordRows.moveRows(array: "json_array", arrays: "json_group_array"),
                "DROP TABLE usage_requests",
            ]),
    ]

    /// Applies the steps not yet recorded, up to `last` (tests stop at an earlier schema). On
    /// PostgreSQL an advisory lock keeps two instances starting at once from applying the same
    /// step twice.
    static func apply(on database: any SQLDatabase, through last: Int = .max) async throws -> [Int] {
        let postgres = database.dialect.name == "postgresql"
        if postgres { try await database.raw("SELECT pg_advisory_lock(4711015)").run() }
        do {
            let applied = try await run(on: database, postgres: postgres, through: last)
            if postgres { try await database.raw("SELECT pg_advisory_unlock(4711015)").run() }
            return applied
        } catch {
            if postgres { try? await database.raw("SELECT pg_advisory_unlock(4711015)").run() }
            throw error
        }
    }

    private static func run(on database: any SQLDatabase, postgres: Bool, through last: Int) async throws -> [Int] {
        try await database.raw(
            "CREATE TABLE IF NOT EXISTS flowgate_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)"
        ).run()
        let done = Set(
            try await database.raw("SELECT version FROM flowgate_migrations").all().map {
                try $0.decode(column: "version", as: Int.self)
            })
        var applied: [Int] = []
        for step in steps where step.version <= last && !done.contains(step.version) {
            for statement in step.statements + (postgres ? step.postgres : step.sqlite) {
                try await database.raw(SQLQueryString(statement)).run()
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try await database.raw(
                "INSERT INTO flowgate_migrations (version, applied_ms) VALUES (\(bind: step.version), \(bind: now))"
            ).run()
            applied.append(step.version)
        }
        return applied
    }
}

import Foundation
