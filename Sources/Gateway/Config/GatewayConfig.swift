import Foundation
import OpenAIWire
import Providers

/// Everything the server needs to start, resolved once with the precedence of
/// docs/configuration.md: command-line flags > environment > config file > defaults.
package struct GatewayConfig: Sendable {
    package var host = "127.0.0.1"
    package var port = 8000
    /// SSE comment interval while the upstream is silent; nil turns it off.
    package var keepAliveInterval: Duration? = .seconds(15)
    package var reasoning: ReasoningOutput = .passthrough
    package var bodyLimit = 32 << 20
    /// Time allowed for an upstream's response head (a non-streaming answer arrives whole).
    package var upstreamHeadTimeout: Duration = .seconds(600)
    /// Time allowed to open a connection to an upstream.
    package var upstreamConnectTimeout: Duration = .seconds(10)
    /// Longest silence between two pieces of an upstream body.
    package var upstreamReadTimeout: Duration = .seconds(300)
    package var httpsProxy: String?
    /// Client API keys (`API_KEY`, comma-separated, or `api_keys`); empty means no key is needed.
    package var clientKeys: [String] = []
    /// Names given to keys in `api_keys`, by key; usage and logs name a key, never show it.
    package var clientKeyNames: [String: String] = [:]
    /// `GET /metrics` and the counting behind it (`server.metrics`, `FLOWGATE_METRICS`).
    package var metricsEnabled = true
    /// Usage recorded in the state store (`server.usage`, `FLOWGATE_USAGE`).
    package var usageEnabled = true
    /// Days usage is kept (`server.usage_retention_days`, `FLOWGATE_USAGE_RETENTION_DAYS`).
    package var usageRetentionDays = 90
    /// Days a stored Responses answer is kept (`server.response_retention_days`, `FLOWGATE_RESPONSE_RETENTION_DAYS`).
    package var responseRetentionDays = 30
    /// Lets a non-loopback address run without client keys (`--allow-unauthenticated`).
    package var allowUnauthenticated = false
    /// Opens the console and sign-in routes to non-loopback clients that present it (docs/security.md).
    package var adminKey: String?
    /// A connection with no request in progress (including a client that sends its
    /// request head too slowly) is closed after this long.
    package var connectionIdleTimeout: Duration = .seconds(75)
    /// Host names (besides localhost, 127.0.0.1 and [::1]) a loopback listener answers to;
    /// any other `Host` is refused with 421, so a DNS-rebinding page cannot reach it.
    package var allowedHosts: [String] = []
    /// The address browsers reach this server at (behind a proxy); the OAuth callback is
    /// built from it, else from the loopback form, never from request headers.
    package var publicURL: String?
    /// Reverse proxies whose `X-Forwarded-For` is believed (their addresses); none by default.
    package var trustedProxies: [String] = []
    /// Web origins allowed to call the API from a browser (CORS); `*` only with client keys.
    package var corsOrigins: [String] = []
    /// Longest time a client may take to send one whole request (head and body).
    package var requestReadTimeout: Duration = .seconds(60)
    /// On SIGTERM, open requests get this long to finish; then streams end with an error event.
    package var shutdownGrace: Duration = .seconds(30)
    /// Upstreams in routing order (docs/protocols/openai-chat.md: a bare model id goes to the first that lists it).
    package var providers: [any ProviderConfig] = ProviderKinds.builtIn.compactMap { $0.defaultConfig() }
    /// Client-facing model ids mapped to a (bare or qualified) id.
    package var aliases: [String: String] = [:]
    /// Client-facing model id → what to try, in order, when its provider has no account left to try.
    package var fallbacks: [String: [String]] = [:]
    /// Attempts per request across accounts and fallbacks (docs/configuration.md, `max_attempts`).
    package var maxAttempts = 3
    /// flowgate's own directory (`FLOWGATE_DATA_DIR`, default `~/.flowgate`): config.yaml, the SQLite store and its key.
    package var dataDirectory = "~/.flowgate"
    /// Where state lives (docs/architecture.md, "State store"): nil = SQLite `{data dir}/flowgate.db`,
    /// `memory`, `sqlite:PATH` or a `postgres://` URL (`store`, `FLOWGATE_STORE`).
    package var store: String?
    /// `FLOWGATE_SECRET_KEY`: seals credentials in the store (environment only, never the file).
    package var secretKey: String?
    /// The config file that was read, if any (for the startup line).
    package var configFile: String?

    package init() {}

    /// The first configured provider of a type (for commands and tests that need one kind's settings).
    package func first<Config: ProviderConfig>(_ type: Config.Type) -> Config? {
        providers.lazy.compactMap { $0 as? Config }.first
    }
}

/// Values given on the command line; nil means "not given", so lower layers apply.
package struct CommandLineOverrides: Sendable {
    package var host: String?
    package var port: Int?
    package var keepAliveSeconds: Int?
    package var reasoning: String?
    package var allowUnauthenticated: Bool
    package var configPath: String?

    package init(
        host: String? = nil, port: Int? = nil, keepAliveSeconds: Int? = nil, reasoning: String? = nil,
        allowUnauthenticated: Bool = false, configPath: String? = nil
    ) {
        self.configPath = configPath
        self.host = host
        self.port = port
        self.keepAliveSeconds = keepAliveSeconds
        self.reasoning = reasoning
        self.allowUnauthenticated = allowUnauthenticated
    }
}

extension GatewayConfig {
    /// Applies environment then flags over the defaults. `home` expands `~`.
    /// `kinds`: the provider kinds the file and the environment may use.
    package static func resolve(
        flags: CommandLineOverrides, environment: [String: String], home: String,
        readFile: (String) -> String? = {
            FileManager.default.contents(atPath: $0).map { String(decoding: $0, as: UTF8.self) }
        },
        kinds: [any ProviderKind] = ProviderKinds.builtIn
    ) throws(ConfigError) -> GatewayConfig {
        var config = GatewayConfig()
        config.providers = kinds.compactMap { $0.defaultConfig() }
        let env = environment.filter { !$0.value.isEmpty }

        // The file: --config, FLOWGATE_CONFIG, else <data dir>/config.yaml when it exists.
        let dataDir = ConfigChecks.expandHome(env["FLOWGATE_DATA_DIR"] ?? "~/.flowgate", home: home)
        config.dataDirectory = dataDir
        if let explicit = flags.configPath ?? env["FLOWGATE_CONFIG"] {
            let path = ConfigChecks.expandHome(explicit, home: home)
            guard let text = readFile(path) else {
                let why =
                    !FileManager.default.fileExists(atPath: path)
                    ? "there is no such file" : "it is not readable by this user (check its permissions)"
                throw ConfigError("Cannot read the config file \(path): \(why).")
            }
            try ConfigFile.apply(yaml: text, origin: path, home: home, kinds: kinds, environment: env, to: &config)
            config.configFile = path
        } else if let text = readFile(dataDir + "/config.yaml") {
            try ConfigFile.apply(
                yaml: text, origin: dataDir + "/config.yaml", home: home, kinds: kinds, environment: env, to: &config)
            config.configFile = dataDir + "/config.yaml"
        }

        try applyEnvironment(env, kinds: kinds, to: &config)

        if let host = flags.host { config.host = host }
        if let port = flags.port { config.port = try parsePort(String(port), origin: "--port") }
        if let seconds = flags.keepAliveSeconds {
            config.keepAliveInterval = try parseInterval(String(seconds), origin: "--keep-alive")
        }
        if let mode = flags.reasoning { config.reasoning = try parseReasoning(mode, origin: "--reasoning") }
        if flags.allowUnauthenticated { config.allowUnauthenticated = true }

        try config.finish(home: home)
        return config
    }

    /// `on`/`off` and their usual spellings.
    static func parseSwitch(_ text: String, origin: String) throws(ConfigError) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError("\(origin) must be on or off (1/0, true/false), got '\(text)'.")
        }
    }

    /// A retention: whole days from 1 to 3650.
    static func parseDays(_ text: String, origin: String) throws(ConfigError) -> Int {
        guard let value = Int(text), (1...3650).contains(value) else {
            throw ConfigError("\(origin) must be a whole number of days from 1 to 3650, got '\(text)'.")
        }
        return value
    }

    private static func applyEnvironment(
        _ env: [String: String], kinds: [any ProviderKind], to config: inout GatewayConfig
    ) throws(ConfigError) {
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
        if let proxy = env["HTTPS_PROXY"] ?? env["https_proxy"] { config.httpsProxy = proxy }
        if let keys = env["API_KEY"] { config.clientKeys = ConfigChecks.commaSeparated(keys) }
        if let key = env["FLOWGATE_ADMIN_KEY"] { config.adminKey = key }
        if let hosts = env["FLOWGATE_ALLOWED_HOSTS"] { config.allowedHosts = ConfigChecks.commaSeparated(hosts) }
        if let url = env["FLOWGATE_PUBLIC_URL"] { config.publicURL = url }
        if let store = env["FLOWGATE_STORE"] { config.store = store }
        if let on = env["FLOWGATE_METRICS"] { config.metricsEnabled = try parseSwitch(on, origin: "FLOWGATE_METRICS") }
        if let on = env["FLOWGATE_USAGE"] { config.usageEnabled = try parseSwitch(on, origin: "FLOWGATE_USAGE") }
        if let days = env["FLOWGATE_USAGE_RETENTION_DAYS"] {
            config.usageRetentionDays = try parseDays(days, origin: "FLOWGATE_USAGE_RETENTION_DAYS")
        }
        if let days = env["FLOWGATE_RESPONSE_RETENTION_DAYS"] {
            config.responseRetentionDays = try parseDays(days, origin: "FLOWGATE_RESPONSE_RETENTION_DAYS")
        }
        if let key = env["FLOWGATE_SECRET_KEY"] { config.secretKey = key }
        if let origins = env["FLOWGATE_CORS_ORIGINS"] { config.corsOrigins = ConfigChecks.commaSeparated(origins) }
        if let proxies = env["FLOWGATE_TRUSTED_PROXIES"] { config.trustedProxies = ConfigChecks.commaSeparated(proxies) }

        // Each kind reads its own variables (IFLOW_*, FLOWITH_*), for the first provider of its kind.
        for kind in kinds {
            let index = config.providers.firstIndex { $0.kind == kind.kind }
            guard let changed = try kind.applyEnvironment(env, to: index.map { config.providers[$0] }) else { continue }
            if let index {
                config.providers[index] = changed
            } else {
                config.providers.append(changed)
            }
        }
    }

    /// Paths expanded, and what no layer may leave wrong checked once.
    private mutating func finish(home: String) throws(ConfigError) {
        if let publicURL {
            try ConfigChecks.url(publicURL, origin: "server.public_url (FLOWGATE_PUBLIC_URL)")
            while self.publicURL?.hasSuffix("/") == true { self.publicURL?.removeLast() }
        }
        if corsOrigins.contains("*") && clientKeys.isEmpty {
            throw ConfigError(
                "server.cors_origins '*' lets every web page use this server: it needs client keys (API_KEY).")
        }
        var names: Set<String> = []
        for index in providers.indices {
            let name = providers[index].name
            guard !name.isEmpty, !name.contains("/") else {
                throw ConfigError("Provider name '\(name)' must be non-empty and contain no '/'.")
            }
            guard names.insert(name).inserted else { throw ConfigError("Two providers are named '\(name)'.") }
            try providers[index].finish(home: home)
        }
    }


    /// docs/security.md: refuses to serve other machines with nobody's key required.
    /// What usage and logs call `key` (docs/configuration.md, `api_keys`).
    package func clientKeyName(_ key: String) -> String {
        clientKeyNames[key] ?? ClientKeyNames.derived(from: key)
    }

    package func checkExposure() throws(ConfigError) {
        guard !isLoopback, clientKeys.isEmpty, !allowUnauthenticated else { return }
        throw ConfigError(
            "Refusing to listen on \(host) without a client key: anyone who can reach it could use your accounts. "
                + "Set API_KEY=<secret> (comma-separated for several), or pass --allow-unauthenticated.")
    }

    package var isLoopback: Bool {
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

}
