import Foundation
import Logging
import SQLKit
@testable import Stores
import Testing

/// Opening stores: migrations, what survives a reopen, and the sealing key's rules.
@Suite("State store setup")
struct StoreSetupTests {
    let logger = Logger(label: "test")

    @Test(arguments: ["sqlite", "postgres"])
    func aReopenedStoreKeepsItsStateAndAppliesNoStepTwice(kind: String) async throws {
        let directory = TestStores.temporaryDirectory()
        let location = try await TestStores.location(kind, directory: directory)
        let first = try await location.open(secretKey: TestStores.secret, dataDirectory: directory, logger: logger)
        let until = Date().addingTimeInterval(600)
        try await first.setCooldown(StoredCooldown(provider: "p", account: "a", until: until))
        try await first.saveAccount(StoredAccount(provider: "p", name: "a", credentials: Data("c".utf8), updated: Date()))
        await first.close()
        let second = try await location.open(secretKey: TestStores.secret, dataDirectory: directory, logger: logger)
        defer { Task { await second.close() } }
        #expect(try await second.cooldowns(now: Date()).map(\.account) == ["a"])
        #expect(try await second.accounts(provider: "p").map(\.credentials) == [Data("c".utf8)])
        // The other key cannot open what was sealed.
        let wrong = try await location.open(
            secretKey: "another-secret-key-of-at-least-32-characters", dataDirectory: directory, logger: logger)
        defer { Task { await wrong.close() } }
        await #expect(throws: SecretSealer.SealError.wrongKey) { try await wrong.accounts(provider: "p") }
    }

    /// Schema step 5: request records kept a row each (step 4) move into batches, none lost.
    @Test(arguments: ["sqlite", "postgres"])
    func requestRowsOfTheEarlierSchemaMoveIntoBatches(kind: String) async throws {
        let directory = TestStores.temporaryDirectory()
        let location = try await TestStores.location(kind, directory: directory)
        func connect() async throws -> any SQLConnector {
            switch location {
            case .sqlite(let path): try await SQLiteConnector(path: path, logger: logger)
            case .postgres(let url): try PostgresConnector(url: url, logger: logger)
            case .memory: fatalError("not a SQL store")
            }
        }
        let before = try await connect()
        try await before.withDatabase { db in
            #expect(try await StoreMigrations.apply(on: db, through: 4) == [1, 2, 3, 4])
            for n in 0..<600 {
                try await db.raw(
                    """
                    INSERT INTO usage_requests VALUES (\(bind: 1_800_000_000_000 + n), \(bind: "req-\(n)"), 'alice',
                      'openai', 'iflow', 'work', \(bind: "m \"q\" é \(n)"), 'glm-4.6', 1, 502, 'upstream_error', 10, 20, 3, 4, 1, 150, 2000, 250)
                    """
                ).run()
            }
        }
        await before.close()
        let store = try await location.open(secretKey: TestStores.secret, dataDirectory: directory, logger: logger)
        let records = try await store.requests(RequestQuery(from: .distantPast, to: .distantFuture, limit: 1000))
        await store.close()
        #expect(records.count == 600)
        var newest = RequestRecord(
            time: Date(timeIntervalSince1970: 1_800_000_000.599), requestID: "req-599", clientKey: "alice", dialect: "openai",
            status: 502)
        (newest.provider, newest.account, newest.model, newest.upstreamModel) = ("iflow", "work", "m \"q\" é 599", "glm-4.6")
        (newest.stream, newest.errorCode, newest.estimated) = (true, "upstream_error", true)
        (newest.promptTokens, newest.completionTokens, newest.reasoningTokens, newest.cachedTokens) = (10, 20, 3, 4)
        (newest.firstByteMicros, newest.totalMicros, newest.overheadMicros) = (150, 2000, 250)
        #expect(records.first == newest)
        #expect(records.last?.requestID == "req-0")
        let after = try await connect()
        let counts = try await after.withDatabase { db in
            try await db.raw("SELECT count FROM usage_request_batches ORDER BY last_ms").all().map {
                try $0.decode(column: "count", as: Int.self)
            }
        }
        await after.close()
        #expect(counts == [250, 250, 100])
    }

    @Test func sqliteKeepsNoCredentialInClearAndGeneratesItsKey() async throws {
        let directory = TestStores.temporaryDirectory()
        let store = try await StoreLocation.sqlite(path: "\(directory)/flowgate.db").open(
            secretKey: nil, dataDirectory: directory, logger: logger)
        let secret = "sk-very-secret-api-key-0123456789"
        try await store.saveAccount(
            StoredAccount(provider: "iflow", name: "a", credentials: Data(#"{"apiKey":"\#(secret)"}"#.utf8), updated: Date()))
        await store.close()
        let keyFile = "\(directory)/secret.key"
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("flowgate.db") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)"))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the credential in clear")
        }
        // The generated key is used again on the next start.
        let again = try await StoreLocation.sqlite(path: "\(directory)/flowgate.db").open(
            secretKey: nil, dataDirectory: directory, logger: logger)
        defer { Task { await again.close() } }
        #expect(String(decoding: try await again.accounts(provider: "iflow")[0].credentials, as: UTF8.self).contains(secret))
    }

    @Test func postgresWithoutAKeyRefusesToStartNamingTheVariable() async throws {
        let url = try await TestPostgres.freshDatabase()
        await #expect {
            _ = try await StoreLocation.postgres(url: url).open(secretKey: nil, dataDirectory: "/nonexistent", logger: logger)
        } throws: { error in
            "\(error)".contains("FLOWGATE_SECRET_KEY")
        }
    }

    @Test func anUnreachableStoreIsAClearError() async throws {
        await #expect {
            _ = try await StoreLocation.postgres(url: "postgres://postgres@127.0.0.1:1/none").open(
                secretKey: TestStores.secret, dataDirectory: "/nonexistent", logger: logger)
        } throws: { error in
            "\(error)".contains("cannot be opened")
        }
    }

    @Test func storeLocationsParse() throws {
        #expect(try StoreLocation(nil, dataDirectory: "/d") == .sqlite(path: "/d/flowgate.db"))
        #expect(try StoreLocation("memory", dataDirectory: "/d") == .memory)
        #expect(try StoreLocation("sqlite:/x/y.db", dataDirectory: "/d") == .sqlite(path: "/x/y.db"))
        let url = "postgres://u:hunter2@db:5433/gate"
        #expect(try StoreLocation(url, dataDirectory: "/d") == .postgres(url: url))
        #expect(try StoreLocation(url, dataDirectory: "/d").description == "PostgreSQL db:5433/gate")
        #expect(throws: StoreSetupError.self) { try StoreLocation("mysql://x", dataDirectory: "/d") }
    }

    @Test func secretKeysParse() throws {
        #expect(throws: StoreSetupError.self) { try SecretKey.parse("short") }
        _ = try SecretKey.parse(Data(repeating: 7, count: 32).base64EncodedString())
        _ = try SecretKey.parse(String(repeating: "ab", count: 32))
        _ = try SecretKey.parse("a passphrase that is long enough to use")
    }
}
