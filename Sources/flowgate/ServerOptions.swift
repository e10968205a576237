import ArgumentParser
import Foundation
import Gateway
import Logging
import Providers

/// Flags only `serve` takes. No defaults here: an absent flag lets the environment and
/// the defaults apply (docs/configuration.md, precedence).
struct ServeOptions: ParsableArguments {
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
}

/// Flags every command that reads the configuration takes.
struct ServerOptions: ParsableArguments {
    @Option(help: "Config file (YAML; default FLOWGATE_CONFIG, else ~/.flowgate/config.yaml when present).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info, env FLOWGATE_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "Log format: text or json (default text, env FLOWGATE_LOG_FORMAT).")
    var logFormat: String?

    /// Whether a `.env` file in the working directory is read.
    var readsDotEnv: Bool { FileManager.default.fileExists(atPath: ".env") }

    /// The configuration; `serve` adds its own flags.
    func resolve(_ serve: ServeOptions? = nil) throws -> GatewayConfig {
        let flags = CommandLineOverrides(
            host: serve?.host, port: serve?.port, keepAliveSeconds: serve?.keepAlive, reasoning: serve?.reasoning,
            allowUnauthenticated: serve?.allowUnauthenticated ?? false, configPath: config)
        // A .env file in the working directory, below real variables.
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
            let entries = try makeProviders(config: config, client: client, logger: try makeLogger())
            let router = ModelRouter(entries: entries, aliases: config.aliases)
            for provider in router.providers { await provider.refreshModels() }
            result = Result { try body(config, router) }
        } catch {
            result = .failure(error)
        }
        client.shutdown()
        return try result.get()
    }

    /// The logger the flags and environment ask for (flag > FLOWGATE_LOG_* > LOG_LEVEL > info, text).
    func makeLogger() throws -> Logger {
        let environment = ProcessInfo.processInfo.environment
        let levelText = logLevel ?? environment["FLOWGATE_LOG_LEVEL"] ?? environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError(
                "Unknown log level '\(levelText)': use trace, debug, info, notice, warning, error or critical.")
        }
        let formatText = logFormat ?? environment["FLOWGATE_LOG_FORMAT"] ?? "text"
        guard let format = LogFormat(rawValue: formatText.lowercased()) else {
            throw ValidationError("Unknown log format '\(formatText)': use text or json.")
        }
        var logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, format: format) }
        logger.logLevel = level
        return logger
    }
}
