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

    @Option(help: "Config file (YAML; default FLOWGATE_CONFIG, else ~/.flowgate/config.yaml when present).")
    var config: String?

    func resolve() throws -> GatewayConfig {
        let flags = CommandLineOverrides(
            host: host, port: port, keepAliveSeconds: keepAlive, reasoning: reasoning,
            allowUnauthenticated: allowUnauthenticated, configPath: config)
        // A .env file in the working directory, as the original converter read it, below real variables.
        let dotEnv = FileManager.default.contents(atPath: ".env").map {
            DotEnv.parse(String(decoding: $0, as: UTF8.self))
        }
        let environment = (dotEnv ?? [:]).merging(ProcessInfo.processInfo.environment) { _, real in real }
        return try GatewayConfig.resolve(
            flags: flags, environment: environment, home: environment["HOME"] ?? NSHomeDirectory())
    }

    /// Runs `body` with the configured providers (model lists fetched), then closes their HTTP client.
    func withModels<T>(_ body: (GatewayConfig, ModelRouter) throws -> T) async throws -> T {
        let config = try resolve()
        let client = UpstreamHTTPClient.make(config: config)
        let result: Result<T, any Error>
        do {
            let entries = try makeProviders(config: config, client: client, logger: Self.makeLogger())
            let router = ModelRouter(entries: entries, aliases: config.aliases)
            for provider in router.providers { await provider.refreshModels() }
            result = Result { try body(config, router) }
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        return try result.get()
    }

    static func makeLogger() -> Logger {
        var logger = Logger(label: "flowgate", factory: GatewayLogHandler.init)
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) }
        logger.logLevel = level ?? .info
        return logger
    }
}
