import Foundation
import Logging
import Stores
import Synchronization
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
            var totals: [UsageTotal] = []
            for _ in 0..<40 where totals.first?.requests != 2 {
                try await Task.sleep(for: .milliseconds(100))
                totals = try await harness.store.usageTotals(since: started)
            }
            let total = try #require(totals.first)
            #expect(totals.count == 1, "health is not usage")
            #expect(total.provider == "iflow" && total.model == "glm-4.7" && total.requests == 2)
            #expect(total.account == "key1", "the account that answered")
            #expect(total.inputTokens > 0 && total.outputTokens > 0)
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
        func usageTotals(since: Date) async throws -> [UsageTotal] { try await inner.usageTotals(since: since) }
    }

    static func record(_ tokens: Int) -> UsageRecord {
        UsageRecord(
            time: Date(), provider: "p", account: "a", model: "m", status: 200, inputTokens: tokens, outputTokens: 1,
            durationMs: 5)
    }

    @Test func recordsWaitWhileTheStoreFailsAndAnOverflowIsCounted() async throws {
        let store = FlakyUsageStore()
        let lines = GatewayLogHandlerTests.Lines()
        let logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        let recorder = UsageRecorder(store: store, logger: logger, capacity: 3)
        for tokens in 1...2 { recorder.add(Self.record(tokens)) }
        await recorder.flush()
        #expect(recorder.pendingCount == 2, "kept while the store fails")
        for tokens in 3...5 { recorder.add(Self.record(tokens)) }
        store.failing.store(false, ordering: .relaxed)
        await recorder.flush()
        let totals = try await store.usageTotals(since: .distantPast)
        #expect(totals.first?.requests == 3 && totals.first?.inputTokens == 1 + 2 + 3, "the oldest three kept")
        #expect(recorder.pendingCount == 0)
        #expect(lines.text.withLock { $0 }.contains("2 records dropped"), "an overflow is logged with its count")
    }

    @Test func aBusySecondIsWrittenInPiecesTheDatabaseAccepts() async throws {
        let directory = NSTemporaryDirectory() + "flowgate-usage-\(UUID().uuidString.prefix(8))"
        let store = try await StoreLocation.sqlite(path: directory + "/flowgate.db").open(
            secretKey: nil, dataDirectory: directory, logger: Logger(label: "test"))
        let recorder = UsageRecorder(store: store, logger: Logger(label: "test"))
        // 8 binds a row: 5,000 rows in one statement would pass SQLite's limit of 32,766.
        for _ in 0..<5000 { recorder.add(Self.record(1)) }
        await recorder.flush()
        #expect(recorder.pendingCount == 0)
        #expect(try await store.usageTotals(since: .distantPast).first?.requests == 5000)
        await store.close()
    }
}
