import ArgumentParser
import Foundation
import NIOCore
import UpstreamHTTP

/// `flowgate health`: asks a running server's `/health`, for container health checks
/// (the image has no curl). Exits 0 when it answers 200, else 1.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Ask a running flowgate's /health; exit 0 when it answers.")

    @Option(help: "Port of the running server (default PORT, else 8000).")
    var port: Int?

    func run() async throws {
        let port = port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8000
        let client = UpstreamClient(configuration: .init())
        let status: Int?
        do {
            let request = UpstreamRequest(
                method: .GET, url: try UpstreamURL("http://127.0.0.1:\(port)/health"), deadline: .now() + .seconds(5))
            status = try await client.collect(request, maxBytes: 1 << 20).status
        } catch {
            status = nil
        }
        client.shutdown()
        guard status == 200 else {
            print("flowgate on port \(port) \(status.map { "answered \($0)" } ?? "did not answer")")
            throw ExitCode(1)
        }
        print("ok")
    }
}
