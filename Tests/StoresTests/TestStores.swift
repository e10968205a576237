import Foundation
import Logging
import Stores
import Synchronization

/// The three kinds of store every store test runs against. PostgreSQL is a real server:
/// `FLOWGATE_TEST_POSTGRES` (a URL; `.ci/run` starts one), else a throwaway cluster started here
/// with `scripts/throwaway-postgres` and stopped when the tests end.
enum TestStores {
    static let kinds = ["memory", "sqlite", "postgres"]
    static let secret = "test-secret-key-of-at-least-32-characters!"

    /// A fresh, empty store of `kind` (its own SQLite file or PostgreSQL database).
    static func make(_ kind: String, directory: String = temporaryDirectory()) async throws -> any StateStore {
        try await location(kind, directory: directory).open(
            secretKey: kind == "memory" ? nil : secret, dataDirectory: directory, logger: Logger(label: "test"))
    }

    static func location(_ kind: String, directory: String) async throws -> StoreLocation {
        switch kind {
        case "memory": return .memory
        case "sqlite": return .sqlite(path: "\(directory)/flowgate.db")
        default: return .postgres(url: try await TestPostgres.freshDatabase())
        }
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "flowgate-store-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

enum TestPostgres {
    private static let server = Mutex<Task<String, any Error>?>(nil)

    /// The server's URL (to its `postgres` database).
    static func url() async throws -> String {
        let task = server.withLock { task in
            if let task { return task }
            let started = Task { try start() }
            task = started
            return started
        }
        return try await task.value
    }

    /// A new database on the server, for one test.
    static func freshDatabase() async throws -> String {
        let base = try await url()
        let name = "t_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        guard spawn("/usr/bin/psql", [base, "-q", "-c", "CREATE DATABASE \(name)"]) == 0 else {
            throw TestSetupError("psql could not create a database on \(base)")
        }
        var url = URLComponents(string: base)!
        url.path = "/\(name)"
        return url.string!
    }

    private static func start() throws -> String {
        if let given = ProcessInfo.processInfo.environment["FLOWGATE_TEST_POSTGRES"], !given.isEmpty { return given }
        let directory = NSTemporaryDirectory() + "flowgate-pg-\(getpid())"
        // Below Linux's ephemeral ports (32768 and up), where the tests' own servers listen.
        let port = 20000 + Int(getpid() % 12000)
        guard spawn(script, ["start", directory, "\(port)"]) == 0 else {
            throw TestSetupError("scripts/throwaway-postgres start \(directory) failed (is Debian's postgresql installed?)")
        }
        stopDirectory = directory
        atexit {
            if let directory = TestPostgres.stopDirectory {
                _ = TestPostgres.spawn(TestPostgres.script, ["stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return "postgres://postgres@127.0.0.1:\(port)/postgres"
    }

    nonisolated(unsafe) static var stopDirectory: String?

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/throwaway-postgres").path
    }

    /// Runs a program to its end, output discarded, and returns its wait status. Not Foundation's
    /// `Process`: on Linux its `waitUntilExit` was seen never to return inside the test runner, and a
    /// server started by the script would inherit any pipe and hold it open.
    static func spawn(_ path: String, _ arguments: [String]) -> Int32 {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
