import Foundation
import Logging
import Stores
import Testing

/// Every store rule, against memory, SQLite and a real PostgreSQL server.
@Suite("State store")
struct StateStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: TestStores.kinds)
    func accountsAreSavedListedAndRemoved(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let secret = Data(#"{"apiKey":"sk-clear-text-credential"}"#.utf8)
        try await store.saveAccount(StoredAccount(provider: "iflow", name: "work", credentials: secret, updated: now))
        try await store.saveAccount(StoredAccount(provider: "iflow", name: "home", credentials: Data("x".utf8), updated: now))
        try await store.saveAccount(StoredAccount(provider: "other", name: "work", credentials: Data("y".utf8), updated: now))
        var accounts = try await store.accounts(provider: "iflow")
        #expect(accounts.map(\.name) == ["home", "work"])
        #expect(accounts.last?.credentials == secret)
        #expect(accounts.last?.updated == now)
        // Saved again: replaced, with its new time.
        let later = now.addingTimeInterval(60)
        try await store.saveAccount(StoredAccount(provider: "iflow", name: "work", credentials: Data("z".utf8), updated: later))
        accounts = try await store.accounts(provider: "iflow")
        #expect(accounts.last?.credentials == Data("z".utf8))
        #expect(accounts.last?.updated == later)
        try await store.removeAccount(provider: "iflow", name: "home")
        #expect(try await store.accounts(provider: "iflow").map(\.name) == ["work"])
        #expect(try await store.accounts(provider: "other").map(\.name) == ["work"])
    }

    @Test(arguments: TestStores.kinds)
    func aSignInStateIsUsedOnceAndExpires(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let pending = PendingSignIn(provider: "iflow", redirect: "http://x/cb", account: "work", expires: now + 600)
        #expect(try await store.issueSignIn(state: "s1", pending, capacity: 2, now: now))
        #expect(try await store.issueSignIn(state: "s2", PendingSignIn(provider: "iflow", redirect: "r", account: nil, expires: now + 600), capacity: 2, now: now))
        // Full: refused, nothing pushed out.
        #expect(try await store.issueSignIn(state: "s3", pending, capacity: 2, now: now) == false)
        #expect(try await store.consumeSignIn(state: "s1", now: now + 1) == pending)
        #expect(try await store.consumeSignIn(state: "s1", now: now + 1) == nil)
        #expect(try await store.consumeSignIn(state: "s2", now: now + 601) == nil)
        #expect(try await store.consumeSignIn(state: "nope", now: now) == nil)
        let second = try await store.consumeSignIn(state: "s2", now: now)
        #expect(second == nil)
    }

    @Test(arguments: TestStores.kinds)
    func cooldownsAreSharedUntilTheyEnd(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        try await store.setCooldown(StoredCooldown(provider: "iflow", account: "key1", until: now + 30))
        try await store.setCooldown(StoredCooldown(provider: "iflow", account: "key1", model: "glm-4.6", until: now + 90))
        try await store.setCooldown(StoredCooldown(provider: "iflow", account: "key2", until: now + 5))
        #expect(Set(try await store.cooldowns(now: now)).count == 3)
        #expect(try await store.cooldowns(now: now + 10).map(\.account).sorted() == ["key1", "key1"])
        // A later cooldown replaces the earlier one.
        try await store.setCooldown(StoredCooldown(provider: "iflow", account: "key2", until: now + 60))
        #expect(try await store.cooldowns(now: now + 10).count == 3)
        try await store.clearCooldowns(provider: "iflow", account: "key1")
        #expect(try await store.cooldowns(now: now) == [StoredCooldown(provider: "iflow", account: "key2", until: now + 60)])
    }

    @Test(arguments: TestStores.kinds)
    func leasesHoldTheLimitAndLapse(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let expires = now + 30
        let first = try #require(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "one", now: now, expires: expires))
        let second = try await store.acquireLease(key: "iflow/a", limit: 2, holder: "two", now: now, expires: expires)
        #expect(Set([first, second]) == [0, 1])
        #expect(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "two", now: now, expires: expires) == nil)
        #expect(try await store.acquireLease(key: "iflow/b", limit: 2, holder: "two", now: now, expires: expires) != nil)
        // Only the holder releases its slot.
        try await store.releaseLease(key: "iflow/a", slot: first, holder: "two")
        #expect(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "two", now: now, expires: expires) == nil)
        try await store.releaseLease(key: "iflow/a", slot: first, holder: "one")
        #expect(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "two", now: now, expires: expires) == first)
        // A crashed holder's slot lapses at its expiry unless renewed.
        try await store.renewLeases(holder: "two", expires: now + 60)
        #expect(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "three", now: now + 45, expires: now + 75) == nil)
        #expect(try await store.acquireLease(key: "iflow/a", limit: 2, holder: "three", now: now + 61, expires: now + 91) != nil)
    }

    /// However many ask at once, never more than the limit win (a loser of a race for one slot may
    /// find none free although another is: it asks again, as when all are held).
    @Test(arguments: TestStores.kinds)
    func manyAtOnceNeverExceedALimitOfFive(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let slots = try await withThrowingTaskGroup(of: Int?.self) { group in
            for holder in 0..<30 {
                group.addTask {
                    try await store.acquireLease(key: "k5", limit: 5, holder: "h\(holder)", now: now, expires: now + 30)
                }
            }
            return try await group.reduce(into: [Int]()) { if let slot = $1 { $0.append(slot) } }
        }
        #expect((1...5).contains(slots.count) && Set(slots).count == slots.count && slots.allSatisfy((0..<5).contains))
        var all = Set(slots)
        while let more = try await store.acquireLease(key: "k5", limit: 5, holder: "late", now: now, expires: now + 30) {
            #expect(all.insert(more).inserted)
        }
        #expect(all == [0, 1, 2, 3, 4], "asked one at a time, the rest are found")
    }

    @Test(arguments: TestStores.kinds)
    func oneOfManyAtOnceWinsALimitOfOne(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let won = try await withThrowingTaskGroup(of: Int?.self) { group in
            for holder in 0..<20 {
                group.addTask {
                    try await store.acquireLease(key: "k", limit: 1, holder: "h\(holder)", now: now, expires: now + 30)
                }
            }
            return try await group.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        }
        #expect(won == 1)
    }

    @Test(arguments: TestStores.kinds)
    func aRefreshLockHasOneHolderUntilReleasedOrLapsed(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        #expect(try await store.acquireLock(key: "iflow/work", holder: "a", now: now, expires: now + 30))
        #expect(try await store.acquireLock(key: "iflow/work", holder: "b", now: now, expires: now + 30) == false)
        try await store.releaseLock(key: "iflow/work", holder: "b")
        #expect(try await store.acquireLock(key: "iflow/work", holder: "b", now: now, expires: now + 30) == false)
        try await store.releaseLock(key: "iflow/work", holder: "a")
        #expect(try await store.acquireLock(key: "iflow/work", holder: "b", now: now, expires: now + 30))
        #expect(try await store.acquireLock(key: "iflow/work", holder: "c", now: now + 31, expires: now + 61))
    }

    @Test(arguments: TestStores.kinds)
    func usageAddsUpByEveryGrouping(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        func record(
            _ account: String, _ input: Int, _ output: Int, at time: Date, status: Int = 200, key: String = "alice",
            model: String = "glm-4.6", requests: Int = 1
        ) -> UsageRecord {
            UsageRecord(
                time: time, provider: "iflow", account: account, model: model, status: status, clientKey: key,
                requests: requests, inputTokens: input, outputTokens: output, durationMs: 12)
        }
        // 2026-11-22 10:00 UTC and the day before.
        let day = Date(timeIntervalSince1970: 1_795_341_600)
        try await store.recordUsage([record("key1", 10, 5, at: day), record("key1", 7, 3, at: day + 1, key: "bob")])
        try await store.recordUsage([
            record("key2", 1, 1, at: day + 2, status: 429, model: "kimi", requests: 3),
            record("key1", 100, 100, at: day - 86400),
        ])
        try await store.recordUsage([])
        let range = (from: day - 2 * 86400, to: day + 60)
        func report(_ grouping: UsageGrouping, from: Date = range.from) async throws -> [UsageRow] {
            try await store.usageReport(from: from, to: range.to, groupBy: grouping)
        }
        #expect(
            try await report(.day) == [
                UsageRow(key: "2026-11-21", requests: 1, errors: 0, promptTokens: 100, completionTokens: 100),
                UsageRow(key: "2026-11-22", requests: 5, errors: 3, promptTokens: 18, completionTokens: 9),
            ])
        #expect(
            try await report(.account) == [
                UsageRow(key: "key1", requests: 3, errors: 0, promptTokens: 117, completionTokens: 108),
                UsageRow(key: "key2", requests: 3, errors: 3, promptTokens: 1, completionTokens: 1),
            ])
        #expect(try await report(.hour).map(\.key) == ["2026-11-21T10:00Z", "2026-11-22T10:00Z"])
        #expect(try await report(.key).map(\.key) == ["alice", "bob"])
        #expect(try await report(.key).map(\.requests) == [5, 1])
        #expect(try await report(.model).map(\.key) == ["glm-4.6", "kimi"])
        #expect(try await report(.provider) == [UsageRow(key: "iflow", requests: 6, errors: 3, promptTokens: 118, completionTokens: 109)])
        // `from` is included, `to` is not.
        #expect(try await report(.provider, from: day + 1).first?.requests == 4)
        #expect(try await store.usageReport(from: day, to: day + 1, groupBy: .provider).first?.requests == 1)
        // Past the retention: the day before goes, the rest stays.
        #expect(try await store.pruneUsage(before: day - 3600) == 1)
        #expect(try await store.pruneUsage(before: day - 3600) == 0)
        #expect(try await report(.day).map(\.key) == ["2026-11-22"])
    }

    @Test(arguments: TestStores.kinds)
    func requestRecordsComeBackFieldForFieldNewestFirst(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let day = Date(timeIntervalSince1970: 1_795_341_600)
        var full = RequestRecord(time: day, requestID: "req-1", clientKey: "alice", dialect: "anthropic", status: 502)
        full.provider = "iflow"
        full.account = "work"
        // Text a hand-made JSON row would break on: quotes, backslashes, control characters, non-ASCII.
        full.model = "m \"quoted\" \\ tab\t nl\n é 模型"
        full.upstreamModel = "glm-4.6"
        full.stream = true
        full.errorCode = "upstream_error"
        full.promptTokens = 120
        full.completionTokens = 30
        full.reasoningTokens = 12
        full.cachedTokens = 64
        full.estimated = true
        full.firstByteMicros = 1_500
        full.totalMicros = 2_000_000_123
        full.overheadMicros = 250
        var plain = RequestRecord(time: day + 1, requestID: "req-2", clientKey: "", dialect: "openai", status: 200)
        plain.model = "glm-4.7"
        let old = RequestRecord(time: day - 86400, requestID: "req-0", clientKey: "bob", dialect: "openai", status: 200)
        // A write a day earlier, then one now (each write is one batch on SQL stores).
        try await store.recordRequests([old])
        try await store.recordRequests([full, plain])
        try await store.recordRequests([])
        // Milliseconds are what a time keeps.
        let range = RequestQuery(from: day - 60, to: day + 60)
        let listed = try await store.requests(range)
        #expect(listed.map(\.requestID) == ["req-2", "req-1"])
        #expect(listed.last == full)
        #expect(try await store.requests(RequestQuery(from: day - 60, to: day + 60, requestID: "req-1")) == [full])
        #expect(try await store.requests(RequestQuery(from: day - 60, to: day + 60, clientKey: "alice")) == [full])
        #expect(try await store.requests(RequestQuery(from: day - 2 * 86400, to: day + 60, limit: 1)).map(\.requestID) == ["req-2"])
        // `to` is not included.
        #expect(try await store.requests(RequestQuery(from: day - 60, to: day + 1)).map(\.requestID) == ["req-1"])
        // A thousand at once: one row holds them all.
        let many = (0..<1000).map { RequestRecord(time: day + 10, requestID: "r\($0)", clientKey: "", dialect: "openai", status: 200) }
        try await store.recordRequests(many)
        #expect(try await store.requests(RequestQuery(from: day + 10, to: day + 11, limit: 1000)).count == 1000)
        #expect(try await store.pruneUsage(before: day - 3600) == 1)
        #expect(try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, requestID: "req-0")).isEmpty)
    }

    @Test(arguments: TestStores.kinds)
    func requestListingsReachPastManyWrites(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        // 40 writes of 10 records, a second apart, written newest last; ids the LIKE pattern must escape.
        for write in 0..<40 {
            try await store.recordRequests(
                (0..<10).map { n in
                    RequestRecord(
                        time: now + Double(write * 10 + n), requestID: "r_%!\(write * 10 + n)", clientKey: write == 3 ? "rare" : "k",
                        dialect: "openai", status: 200)
                })
        }
        let all = RequestQuery(from: .distantPast, to: .distantFuture, limit: 25)
        #expect(try await store.requests(all).map(\.requestID) == (375..<400).reversed().map { "r_%!\($0)" })
        // The oldest write, many pages down: by id, by key, and by a window in the middle.
        #expect(try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, requestID: "r_%!7")).map(\.requestID) == ["r_%!7"])
        #expect(try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, requestID: "rX%!7")).isEmpty)
        #expect(
            try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, clientKey: "rare")).map(\.requestID)
                == (30..<40).reversed().map { "r_%!\($0)" })
        #expect(
            try await store.requests(RequestQuery(from: now + 95, to: now + 105, limit: 100)).map(\.requestID)
                == (95..<105).reversed().map { "r_%!\($0)" })
        #expect(try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, limit: 1000)).count == 400)
        // Twenty writes within one millisecond: pages go on after the last batch read, none twice.
        for write in 0..<20 {
            try await store.recordRequests([RequestRecord(time: now + 1000, requestID: "same-\(write)", clientKey: "", dialect: "openai", status: 200)])
        }
        let same = try await store.requests(RequestQuery(from: now + 1000, to: now + 1001, limit: 100))
        #expect(same.map(\.requestID).sorted() == (0..<20).map { "same-\($0)" }.sorted())
    }

    @Test func theMemoryStoreKeepsOnlyTheNewestRecords() async throws {
        let store = MemoryStateStore()
        let count = MemoryStateStore.requestCapacity + 5
        try await store.recordRequests(
            (0..<count).map { RequestRecord(time: now, requestID: "r\($0)", clientKey: "", dialect: "openai", status: 200) })
        let kept = try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, limit: count))
        #expect(kept.count == MemoryStateStore.requestCapacity)
        #expect(kept.first?.requestID == "r\(count - 1)" && kept.last?.requestID == "r5")
    }

    @Test(arguments: TestStores.kinds)
    func storedResponsesExpireAndAreDeleted(kind: String) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let body = Data(#"{"id":"resp_1","output":[]}"#.utf8)
        try await store.saveResponse(id: "resp_1", body: body, expires: now + 60)
        #expect(try await store.response(id: "resp_1", now: now) == body)
        #expect(try await store.response(id: "resp_1", now: now + 61) == nil)
        #expect(try await store.response(id: "resp_2", now: now) == nil)
        try await store.saveResponse(id: "resp_old", body: body, expires: now - 1)
        #expect(try await store.deleteExpiredResponses(now: now) == 1)
        #expect(try await store.deleteResponse(id: "resp_1"))
        #expect(try await store.deleteResponse(id: "resp_1") == false)
        #expect(try await store.response(id: "resp_1", now: now) == nil)
    }
}
