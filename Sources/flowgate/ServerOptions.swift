import ArgumentParser
import Foundation
import Gateway
import Logging
import Providers

/// Flags shared by the commands that read the configuration. No defaults here:
/// an absent flag lets the environment and the defaults apply (SPEC 1 precedence).
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (default 127.0.0.1, env HOST).")
    var host: String?

    @Option(help: "Port to listen on (default 8000, env PORT).")
    var port: Int?

    @Option(
        name: .customLong("keep-alive"),
        help: "Seconds between SSE keep-alive comments while the upstream is silent; 0 = off (default 15).")
    var keepAlive: Int?

    @Option(help: "What to do with reasoning_content: passthrough, inline (<think> in content) or drop.")
    var reasoning: String?

    @Flag(help: "Allow listening on a non-loopback address without any client key (API_KEY). Dangerous.")
    var allowUnauthenticated = false

    func resolve() throws -> GatewayConfig {
        let flags = CommandLineOverrides(
            host: host, port: port, keepAliveSeconds: keepAlive, reasoning: reasoning,
            allowUnauthenticated: allowUnauthenticated)
        let environment = ProcessInfo.processInfo.environment
        return try GatewayConfig.resolve(
            flags: flags, environment: environment, home: environment["HOME"] ?? NSHomeDirectory())
    }

    /// Runs `body` with the configured providers, then closes their HTTP client.
    func withProviders<T>(_ body: (GatewayConfig, [any ChatProvider]) throws -> T) async throws -> T {
        let config = try resolve()
        let client = UpstreamHTTPClient.make(config: config)
        let result = Result {
            try body(config, try makeProviders(config: config, client: client, logger: Self.makeLogger()))
        }
        try await client.shutdown()
        return try result.get()
    }

    static func makeLogger() -> Logger {
        var logger = Logger(label: "flowgate")
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) }
        logger.logLevel = level ?? .info
        return logger
    }
}
