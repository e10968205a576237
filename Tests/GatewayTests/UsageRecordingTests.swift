import Foundation
import Logging
import Stores
import Synchronization
import Providers
import Testing

@testable import Gateway

/// Usage goes to the state store in batches (docs/architecture.md, "State store"), and waits
/// in a bounded buffer while the store fails.
@Suite struct UsageRecordingTests {
    @Test func eachChatsUsageReachesTheStore() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let started = Date().addingTimeInterval(-1)
            _ = try await gateway.chat(request("hi"))
            _ = try await gateway.chat(request("hi", stream: true))
            _ = try await gateway.execute(uri: "/health", method: .get)
            var accounts: [UsageRow] = []
            for _ in 0..<40 where accounts.first?.requests != 2 {
                try await Task.sleep(for: .milliseconds(100))
                accounts = try await harness.store.usageReport(from: started, to: Date() + 1, groupBy: .account)
            }
            let account = try #require(accounts.first)
            #expect(accounts.count == 1, "health is not usage")
            #expect(account.key == "key1" && account.requests == 2, "the account that answered")
            #expect(account.promptTokens > 0 && account.completionTokens > 0)
            let models = try await harness.store.usageReport(from: started, to: Date() + 1, groupBy: .model)
            #expect(models.map(\.key) == ["glm-4.7"])
        }
    }

    /// A store whose writes fail until told otherwise.
    final class FlakyUsageStore: UsageStore {
        let inner = MemoryStateStore()
        let failing = Atomic(true)
        func recordUsage(_ records: [UsageRecord]) async throws {
            if failing.load(ordering: .relaxed) { throw CancellationError() }
            try await inner.recordUsage(records)
        }
        func pruneUsage(before: Date) async throws -> Int { try await inner.pruneUsage(before: before) }
        func usageReport(from: Date, to: Date, groupBy: UsageGrouping) async throws -> [UsageRow] {
            try await inner.usageReport(from: from, to: to, groupBy: groupBy)
        }
    }

    static func record(_ tokens: Int, model: String = "m") -> UsageRecord {
        UsageRecord(
            time: Date(), provider: "p", account: "a", model: model, status: 200, inputTokens: tokens, outputTokens: 1,
            durationMs: 5)
    }

    @Test func requestsAreSummedPerKindAndWaitWhileTheStoreFails() async throws {
        let store = FlakyUsageStore()
        let lines = GatewayLogHandlerTests.Lines()
        let logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        let recorder = UsageRecorder(store: store, logger: logger, capacity: 2)
        for tokens in 1...3 { recorder.add(Self.record(tokens, model: "m1")) }
        recorder.add(Self.record(10, model: "m2"))
        await recorder.flush()
        #expect(recorder.pendingRequests == 4, "kept while the store fails")
        recorder.add(Self.record(4, model: "m1"))
        recorder.add(Self.record(7, model: "m3"))  // a third kind: past the capacity of 2
        recorder.add(Self.record(8, model: "m3"))
        store.failing.store(false, ordering: .relaxed)
        await recorder.flush()
        let totals = try await store.usageReport(from: .distantPast, to: .distantFuture, groupBy: .model)
        #expect(totals.map(\.key) == ["m1", "m2"])
        #expect(totals.map(\.requests) == [4, 1] && totals.map(\.promptTokens) == [1 + 2 + 3 + 4, 10])
        #expect(recorder.pendingRequests == 0)
        #expect(lines.text.withLock { $0 }.contains("2 requests not recorded"), "an overflow is logged with its count")
    }

    @Test func aBusySecondIsWrittenInPiecesTheDatabaseAccepts() async throws {
        let directory = NSTemporaryDirectory() + "flowgate-usage-\(UUID().uuidString.prefix(8))"
        let store = try await StoreLocation.sqlite(path: directory + "/flowgate.db").open(
            secretKey: nil, dataDirectory: directory, logger: Logger(label: "test"))
        let recorder = UsageRecorder(store: store, logger: Logger(label: "test"))
        // 10 binds a row: 5,000 kinds of request in one statement would pass SQLite's limit of 32,766.
        for index in 0..<5000 { recorder.add(Self.record(1, model: "m\(index)")) }
        await recorder.flush()
        #expect(recorder.pendingRequests == 0)
        let totals = try await store.usageReport(from: .distantPast, to: .distantFuture, groupBy: .model)
        #expect(totals.count == 5000 && totals.allSatisfy { $0.requests == 1 })
        await store.close()
    }

    @Test func usagePastTheRetentionIsDeleted() async throws {
        let store = MemoryStateStore()
        let now = Date()
        var old = Self.record(1)
        old.time = now.addingTimeInterval(-31 * 86400)
        var recent = Self.record(2)
        recent.time = now.addingTimeInterval(-29 * 86400)
        try await store.recordUsage([old, recent])
        await UsageRecorder(store: store, logger: Logger(label: "test"), retentionDays: 30).prune(now: now)
        let left = try await store.usageReport(from: .distantPast, to: .distantFuture, groupBy: .day)
        #expect(left.map(\.promptTokens) == [2])
    }

    @Test func theRetentionIsConfigured() throws {
        func config(_ env: [String: String]) throws -> GatewayConfig {
            try GatewayConfig.resolve(flags: .init(), environment: env, home: "/home/u", readFile: { _ in nil })
        }
        #expect(try config([:]).usageRetentionDays == 90)
        #expect(try config(["FLOWGATE_USAGE_RETENTION_DAYS": "7"]).usageRetentionDays == 7)
        #expect(throws: ConfigError.self) { try config(["FLOWGATE_USAGE_RETENTION_DAYS": "0"]) }
    }
}
