import Foundation
import OpenAIWire

/// Everything the server needs to start, resolved once with the precedence of
/// SPEC 1: command-line flags > environment > defaults (the config file comes later).
public struct GatewayConfig: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// SSE comment interval while the upstream is silent; nil turns it off.
    public var keepAliveInterval: Duration? = .seconds(15)
    public var reasoning: ReasoningOutput = .passthrough
    public var bodyLimit = 32 << 20
    /// Time allowed for an upstream's response head (a non-streaming answer arrives whole).
    public var upstreamHeadTimeout: Duration = .seconds(600)
    /// Time allowed to open a connection to an upstream.
    public var upstreamConnectTimeout: Duration = .seconds(10)
    /// Longest silence between two pieces of an upstream body.
    public var upstreamReadTimeout: Duration = .seconds(300)
    public var httpsProxy: String?
    /// Client API keys (`API_KEY`, comma-separated); empty means no key is needed.
    public var clientKeys: [String] = []
    /// Lets a non-loopback address run without client keys (`--allow-unauthenticated`).
    public var allowUnauthenticated = false
    /// A connection with no request in progress (including a client that sends its
    /// request head too slowly) is closed after this long.
    public var connectionIdleTimeout: Duration = .seconds(75)
    public var iflow = IFlow()

    public struct IFlow: Sendable, Equatable {
        public var baseURL = "https://apis.iflow.cn/v1"
        public var apiKey: String?
        public var settingsPath = "~/.iflow/settings.json"
        /// A user file replacing the shipped model list.
        public var modelsPath: String?
        /// Requests in flight per account (SPEC 4.1 default 1; 0 = unlimited), and the line behind them.
        public var maxConcurrency = 1
        public var queueLimit = 100
        public var queueTimeout: Duration = .seconds(120)
    }

    public init() {}
}

/// Values given on the command line; nil means "not given", so lower layers apply.
public struct CommandLineOverrides: Sendable {
    public var host: String?
    public var port: Int?
    public var keepAliveSeconds: Int?
    public var reasoning: String?
    public var allowUnauthenticated: Bool

    public init(
        host: String? = nil, port: Int? = nil, keepAliveSeconds: Int? = nil, reasoning: String? = nil,
        allowUnauthenticated: Bool = false
    ) {
        self.host = host
        self.port = port
        self.keepAliveSeconds = keepAliveSeconds
        self.reasoning = reasoning
        self.allowUnauthenticated = allowUnauthenticated
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension GatewayConfig {
    /// Applies environment then flags over the defaults. `home` expands `~`.
    public static func resolve(
        flags: CommandLineOverrides, environment: [String: String], home: String
    ) throws(ConfigError) -> GatewayConfig {
        var config = GatewayConfig()
        let env = environment.filter { !$0.value.isEmpty }
        if let host = env["HOST"] { config.host = host }
        if let port = env["PORT"] { config.port = try parsePort(port, origin: "PORT") }
        if let seconds = env["FLOWGATE_KEEPALIVE"] {
            config.keepAliveInterval = try parseInterval(seconds, origin: "FLOWGATE_KEEPALIVE")
        }
        if let mode = env["FLOWGATE_REASONING"] {
            config.reasoning = try parseReasoning(mode, origin: "FLOWGATE_REASONING")
        }
        if let seconds = env["FLOWGATE_UPSTREAM_TIMEOUT"] {
            guard let limit = try parseInterval(seconds, origin: "FLOWGATE_UPSTREAM_TIMEOUT") else {
                throw ConfigError("FLOWGATE_UPSTREAM_TIMEOUT must be at least 1 second.")
            }
            config.upstreamHeadTimeout = limit
        }
        config.httpsProxy = env["HTTPS_PROXY"] ?? env["https_proxy"]
        config.clientKeys = (env["API_KEY"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        if let url = env["IFLOW_BASE_URL"] { config.iflow.baseURL = url }
        config.iflow.apiKey = env["IFLOW_API_KEY"]
        if let path = env["IFLOW_SETTINGS"] { config.iflow.settingsPath = path }
        config.iflow.modelsPath = env["IFLOW_MODELS"]
        if let limit = env["IFLOW_MAX_CONCURRENCY"] {
            guard let value = Int(limit), value >= 0 else {
                throw ConfigError("IFLOW_MAX_CONCURRENCY must be a whole number (0 = unlimited), got '\(limit)'.")
            }
            config.iflow.maxConcurrency = value
        }

        if let host = flags.host { config.host = host }
        if let port = flags.port { config.port = try parsePort(String(port), origin: "--port") }
        if let seconds = flags.keepAliveSeconds {
            config.keepAliveInterval = try parseInterval(String(seconds), origin: "--keep-alive")
        }
        if let mode = flags.reasoning { config.reasoning = try parseReasoning(mode, origin: "--reasoning") }
        config.allowUnauthenticated = flags.allowUnauthenticated

        config.iflow.settingsPath = expandHome(config.iflow.settingsPath, home: home)
        config.iflow.modelsPath = config.iflow.modelsPath.map { expandHome($0, home: home) }
        guard URL(string: config.iflow.baseURL)?.scheme?.hasPrefix("http") == true else {
            throw ConfigError("IFLOW_BASE_URL must be an http(s) URL, got '\(config.iflow.baseURL)'.")
        }
        return config
    }

    /// SPEC 5: refuses to serve other machines with nobody's key required.
    public func checkExposure() throws(ConfigError) {
        guard !isLoopback, clientKeys.isEmpty, !allowUnauthenticated else { return }
        throw ConfigError(
            "Refusing to listen on \(host) without a client key: anyone who can reach it could use your accounts. "
                + "Set API_KEY=<secret> (comma-separated for several), or pass --allow-unauthenticated.")
    }

    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    static func parsePort(_ text: String, origin: String) throws(ConfigError) -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigError("\(origin) must be a port number between 0 and 65535, got '\(text)'.")
        }
        return port
    }

    static func parseInterval(_ text: String, origin: String) throws(ConfigError) -> Duration? {
        guard let seconds = Int(text), seconds >= 0 else {
            throw ConfigError("\(origin) must be a whole number of seconds (0 = off), got '\(text)'.")
        }
        return seconds == 0 ? nil : .seconds(seconds)
    }

    static func parseReasoning(_ text: String, origin: String) throws(ConfigError) -> ReasoningOutput {
        guard let mode = ReasoningOutput(rawValue: text.lowercased()) else {
            let allowed = ReasoningOutput.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError("\(origin) must be one of \(allowed), got '\(text)'.")
        }
        return mode
    }

    static func expandHome(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}
