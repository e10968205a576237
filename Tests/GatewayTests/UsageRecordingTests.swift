import Foundation
import HTTPTypes
import Logging
import Mocks
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

    /// One record per request with what the usage log promises (docs/architecture.md, "Usage").
    @Test func eachRequestLeavesOneRecordWithItsDetails() async throws {
        let harness = GatewayHarness(flowith: MockFlowith(validTokens: [GatewayHarness.flowithToken])) { config in
            config.clientKeys = ["sk-client-alice"]
            config.clientKeyNames = ["sk-client-alice": "alice"]
        }
        try await harness.run { gateway, _ in
            let started = Date().addingTimeInterval(-1)
            func headers(_ id: String) -> HTTPFields {
                [.authorization: "Bearer sk-client-alice", HTTPField.Name("x-request-id")!: id]
            }
            _ = try await gateway.chat(request("scenario:detailed-usage"), headers: headers("plain-1"))
            _ = try await gateway.chat(request("scenario:detailed-usage", stream: true), headers: headers("stream-1"))
            _ = try await gateway.chat(messagesRequest("hi"), path: "/v1/messages", headers: headers("anthropic-1"))
            _ = try await gateway.chat(request("hi", model: "nope"), headers: headers("unknown-1"))
            _ = try await gateway.chat(request("scenario:midstream-error", stream: true), headers: headers("cut-1"))
            let flowithModel = try #require(harness.built.entries.withLock { $0 }.first { $0.provider.kind == "flowith" }?.provider.modelIDs.first)
            _ = try await gateway.chat(request("hi", model: flowithModel), headers: headers("flowith-1"))
            var records: [String: RequestRecord] = [:]
            try await waitUntil {
                records = Dictionary(
                    try await harness.store.requests(RequestQuery(from: started, to: Date() + 1)).map { ($0.requestID, $0) },
                    uniquingKeysWith: { first, _ in first })
                return records.count == 6
            }
            let plain = try #require(records["plain-1"])
            #expect(plain.clientKey == "alice" && plain.dialect == "openai" && !plain.stream)
            #expect(plain.provider == "iflow" && plain.account == "key1" && plain.model == "glm-4.7")
            #expect(plain.upstreamModel == "glm-4.7" && plain.status == 200 && plain.errorCode.isEmpty)
            #expect(plain.promptTokens == 5 && plain.completionTokens == 4 && plain.reasoningTokens == 2)
            #expect(plain.cachedTokens == 3 && !plain.estimated)
            #expect(plain.totalMicros > 0 && plain.overheadMicros > 0 && plain.overheadMicros < plain.totalMicros)
            let stream = try #require(records["stream-1"])
            #expect(stream.stream && stream.status == 200 && stream.reasoningTokens == 2 && stream.cachedTokens == 3)
            #expect(stream.firstByteMicros > 0 && stream.firstByteMicros <= stream.totalMicros)
            let anthropic = try #require(records["anthropic-1"])
            #expect(anthropic.dialect == "anthropic" && anthropic.promptTokens == 5 && anthropic.completionTokens == 4)
            let unknown = try #require(records["unknown-1"])
            #expect(unknown.status == 404 && unknown.errorCode == "model_not_found" && unknown.provider.isEmpty)
            let cut = try #require(records["cut-1"])
            #expect(cut.status == 200 && !cut.errorCode.isEmpty, "a stream that failed after it started")
            #expect(cut.estimated && cut.completionTokens > 0, "what was streamed before the failure, estimated")
            let flowith = try #require(records["flowith-1"])
            #expect(flowith.provider == "flowith" && flowith.estimated && flowith.completionTokens > 0)
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
        func recordRequests(_ records: [RequestRecord]) async throws {
            if failing.load(ordering: .relaxed) { throw CancellationError() }
            try await inner.recordRequests(records)
        }
        func requests(_ query: RequestQuery) async throws -> [RequestRecord] { try await inner.requests(query) }
        func pruneUsage(before: Date) async throws -> Int { try await inner.pruneUsage(before: before) }
        func usageReport(from: Date, to: Date, groupBy: UsageGrouping) async throws -> [UsageRow] {
            try await inner.usageReport(from: from, to: to, groupBy: groupBy)
        }
    }

    static func record(_ tokens: Int, model: String = "m") -> RequestRecord {
        var record = RequestRecord(time: Date(), requestID: "r\(tokens)", clientKey: "", dialect: "openai", status: 200)
        record.provider = "p"
        record.account = "a"
        record.model = model
        record.promptTokens = tokens
        record.completionTokens = 1
        return record
    }

    @Test func requestsAreSummedPerKindAndWaitWhileTheStoreFails() async throws {
        let store = FlakyUsageStore()
        let lines = GatewayLogHandlerTests.Lines()
        let logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        let recorder = UsageRecorder(store: store, logger: logger, capacity: 2, recordCapacity: 6)
        for tokens in 1...3 { recorder.add(Self.record(tokens, model: "m1")) }
        recorder.add(Self.record(10, model: "m2"))
        await recorder.flush()
        #expect(recorder.pendingRequests == 4 && recorder.pendingRecords == 4, "kept while the store fails")
        recorder.add(Self.record(4, model: "m1"))
        recorder.add(Self.record(7, model: "m3"))  // a third kind: past the capacity of 2
        recorder.add(Self.record(8, model: "m3"))
        store.failing.store(false, ordering: .relaxed)
        await recorder.flush()
        let totals = try await store.usageReport(from: .distantPast, to: .distantFuture, groupBy: .model)
        #expect(totals.map(\.key) == ["m1", "m2"])
        #expect(totals.map(\.requests) == [4, 1] && totals.map(\.promptTokens) == [1 + 2 + 3 + 4, 10])
        #expect(recorder.pendingRequests == 0 && recorder.pendingRecords == 0)
        let text = lines.text.withLock { $0 }
        #expect(text.contains("2 requests not recorded"), "an overflow is logged with its count")
        // Records: 6 kept of 7 (the first four waited); the sums of m1 and m2 stay whole.
        let records = try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, limit: 100))
        #expect(records.count == 6)
        #expect(text.contains("1 request records dropped"))
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
        var old = Self.record(1).sum
        old.time = now.addingTimeInterval(-31 * 86400)
        var recent = Self.record(2).sum
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
