import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `flowgate health`: asks a running server's `/health`, for container health checks
/// (the image has no curl). Exits 0 when it answers 200, else 1.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Ask a running flowgate's /health; exit 0 when it answers.")

    @Option(help: "Port of the running server (default PORT, else 8000).")
    var port: Int?

    func run() async throws {
        let port = port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8000
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let status: UInt?
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(5))
            status = response.status.code
        } catch {
            status = nil
        }
        try await client.shutdown()
        guard status == 200 else {
            print("flowgate on port \(port) \(status.map { "answered \($0)" } ?? "did not answer")")
            throw ExitCode(1)
        }
        print("ok")
    }
}
