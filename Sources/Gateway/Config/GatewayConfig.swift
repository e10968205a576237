import Foundation
import OpenAIWire
import Providers

/// Everything the server needs to start, resolved once with the precedence of
/// docs/configuration.md: command-line flags > environment > config file > defaults.
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
    /// Opens the console and sign-in routes to non-loopback clients that present it (docs/security.md).
    public var adminKey: String?
    /// A connection with no request in progress (including a client that sends its
    /// request head too slowly) is closed after this long.
    public var connectionIdleTimeout: Duration = .seconds(75)
    /// Host names (besides localhost, 127.0.0.1 and [::1]) a loopback listener answers to;
    /// any other `Host` is refused with 421, so a DNS-rebinding page cannot reach it.
    public var allowedHosts: [String] = []
    /// The address browsers reach this server at (behind a proxy); the OAuth callback is
    /// built from it, else from the loopback form, never from request headers.
    public var publicURL: String?
    /// Reverse proxies whose `X-Forwarded-For` is believed (their addresses); none by default.
    public var trustedProxies: [String] = []
    /// Web origins allowed to call the API from a browser (CORS); `*` only with client keys.
    public var corsOrigins: [String] = []
    /// Longest time a client may take to send one whole request (head and body).
    public var requestReadTimeout: Duration = .seconds(60)
    /// On SIGTERM, open requests get this long to finish; then streams end with an error event.
    public var shutdownGrace: Duration = .seconds(30)
    /// Upstreams in routing order (docs/protocols/openai-chat.md: a bare model id goes to the first that lists it).
    public var providers: [ProviderConfig] = [.iflow(IFlow())]
    /// Client-facing model ids mapped to a (bare or qualified) id.
    public var aliases: [String: String] = [:]
    /// The config file that was read, if any (for the startup line).
    public var configFile: String?

    public init() {}

    /// The first iFlow provider; reading gives defaults when there is none, writing adds one.
    public var iflow: IFlow {
        get {
            for case .iflow(let settings) in providers { return settings }
            return IFlow()
        }
        set {
            if let index = providers.firstIndex(where: { $0.kind == "iflow" }) {
                providers[index] = .iflow(newValue)
            } else {
                providers.append(.iflow(newValue))
            }
        }
    }
}

/// One upstream's settings; each provider instance has a routing name.
public enum ProviderConfig: Sendable, Equatable {
    case iflow(GatewayConfig.IFlow)
    case flowith(GatewayConfig.Flowith)
    case openai(GatewayConfig.OpenAICompatible)

    public var name: String {
        switch self {
        case .iflow(let p): return p.name
        case .flowith(let p): return p.name
        case .openai(let p): return p.name
        }
    }

    public var kind: String {
        switch self {
        case .iflow: return "iflow"
        case .flowith: return "flowith"
        case .openai: return "openai"
        }
    }
}

extension GatewayConfig {
    public struct IFlow: Sendable, Equatable {
        public var name = "iflow"
        public var baseURL = "https://apis.iflow.cn/v1"
        /// The OAuth server (sign-in, token refresh, getUserInfo).
        public var oauthURL = "https://iflow.cn"
        public var apiKey: String?
        public var settingsPath = "~/.iflow/settings.json"
        /// A user file replacing the shipped model list.
        public var modelsPath: String?
        /// Requests in flight per account (docs/protocols/iflow.md default 1; 0 = unlimited), and the line behind them.
        public var concurrency = AccountQueue.Settings(limit: 1)
        public var aliases: [String: String] = [:]

        public init() {}
    }

    public struct Flowith: Sendable, Equatable {
        /// A token and its optional refresh token (the provider's own type).
        public typealias Account = FlowithProvider.Account

        public var name = "flowith"
        public var baseURL = "https://edge.flo.ing"
        public var accounts: [Account] = []
        /// docs/protocols/flowith.md: Supabase's token endpoint.
        public var refreshURL = "https://aibdxsebwhalbnugsqel.supabase.co/auth/v1/token?grant_type=refresh_token"
        /// A `models.json` mapping extending (or, with `replaceModels`, replacing) the shipped one.
        public var modelsPath: String?
        public var replaceModels = false
        public var concurrency = AccountQueue.Settings(limit: 0)
        public var aliases: [String: String] = [:]

        public init() {}
    }

    public struct OpenAICompatible: Sendable, Equatable {
        public var name: String
        public var baseURL: String
        public var apiKey: String?
        /// The model list; nil = fetched from `{baseURL}/models`.
        public var models: [String]?
        public var headers: [String: String] = [:]
        public var concurrency = AccountQueue.Settings(limit: 0)
        public var aliases: [String: String] = [:]

        public init(name: String, baseURL: String) {
            self.name = name
            self.baseURL = baseURL
        }
    }
}

/// Values given on the command line; nil means "not given", so lower layers apply.
public struct CommandLineOverrides: Sendable {
    public var host: String?
    public var port: Int?
    public var keepAliveSeconds: Int?
    public var reasoning: String?
    public var allowUnauthenticated: Bool
    public var configPath: String?

    public init(
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

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension GatewayConfig {
    /// Applies environment then flags over the defaults. `home` expands `~`.
    public static func resolve(
        flags: CommandLineOverrides, environment: [String: String], home: String,
        readFile: (String) -> String? = {
            FileManager.default.contents(atPath: $0).map { String(decoding: $0, as: UTF8.self) }
        }
    ) throws(ConfigError) -> GatewayConfig {
        var config = GatewayConfig()
        let env = environment.filter { !$0.value.isEmpty }

        // The file: --config, FLOWGATE_CONFIG, else <data dir>/config.yaml when it exists.
        let dataDir = expandHome(env["FLOWGATE_DATA_DIR"] ?? "~/.flowgate", home: home)
        if let explicit = flags.configPath ?? env["FLOWGATE_CONFIG"] {
            let path = expandHome(explicit, home: home)
            guard let text = readFile(path) else {
                let why =
                    !FileManager.default.fileExists(atPath: path)
                    ? "there is no such file" : "it is not readable by this user (check its permissions)"
                throw ConfigError("Cannot read the config file \(path): \(why).")
            }
            try ConfigFile.apply(yaml: text, origin: path, home: home, to: &config)
            config.configFile = path
        } else if let text = readFile(dataDir + "/config.yaml") {
            try ConfigFile.apply(yaml: text, origin: dataDir + "/config.yaml", home: home, to: &config)
            config.configFile = dataDir + "/config.yaml"
        }

        try applyEnvironment(env, to: &config)

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

    private static func applyEnvironment(_ env: [String: String], to config: inout GatewayConfig) throws(ConfigError) {
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
        if let keys = env["API_KEY"] { config.clientKeys = commaSeparated(keys) }
        if let key = env["FLOWGATE_ADMIN_KEY"] { config.adminKey = key }
        if let hosts = env["FLOWGATE_ALLOWED_HOSTS"] { config.allowedHosts = commaSeparated(hosts) }
        if let url = env["FLOWGATE_PUBLIC_URL"] { config.publicURL = url }
        if let origins = env["FLOWGATE_CORS_ORIGINS"] { config.corsOrigins = commaSeparated(origins) }
        if let proxies = env["FLOWGATE_TRUSTED_PROXIES"] { config.trustedProxies = commaSeparated(proxies) }

        // iFlow: IFLOW_API_KEY enables it even when the file lists no iFlow provider.
        if let key = env["IFLOW_API_KEY"] { config.iflow.apiKey = key }
        if config.providers.contains(where: { $0.kind == "iflow" }) {
            if let url = env["IFLOW_BASE_URL"] { config.iflow.baseURL = url }
            if let url = env["IFLOW_OAUTH_URL"] { config.iflow.oauthURL = url }
            if let path = env["IFLOW_SETTINGS"] { config.iflow.settingsPath = path }
            if let path = env["IFLOW_MODELS"] { config.iflow.modelsPath = path }
            if let limit = env["IFLOW_MAX_CONCURRENCY"] {
                guard let value = Int(limit), value >= 0 else {
                    throw ConfigError("IFLOW_MAX_CONCURRENCY must be a whole number (0 = unlimited), got '\(limit)'.")
                }
                config.iflow.concurrency.limit = value
            }
        }

        // Flowith: FLOWITH_AUTH_TOKEN (comma-separated accounts) enables it.
        var flowith: Flowith? = nil
        var flowithIndex: Int? = nil
        for (index, provider) in config.providers.enumerated() {
            if case .flowith(let settings) = provider {
                flowith = settings
                flowithIndex = index
                break
            }
        }
        if let tokens = env["FLOWITH_AUTH_TOKEN"] {
            let refresh = commaSeparated(env["FLOWITH_REFRESH_TOKEN"] ?? "")
            var settings = flowith ?? Flowith()
            settings.accounts = commaSeparated(tokens).enumerated().map { position, token in
                Flowith.Account(token: token, refreshToken: position < refresh.count ? refresh[position] : nil)
            }
            flowith = settings
        }
        if var settings = flowith {
            if let url = env["FLOWITH_BASE_URL"] { settings.baseURL = url }
            if let path = env["FLOWITH_MODELS"] { settings.modelsPath = path }
            if env["FLOWITH_AUTH_TOKEN"] == nil, let refresh = env["FLOWITH_REFRESH_TOKEN"],
                !settings.accounts.isEmpty
            {
                settings.accounts[0].refreshToken = refresh
            }
            if let index = flowithIndex {
                config.providers[index] = .flowith(settings)
            } else {
                config.providers.append(.flowith(settings))
            }
        }
    }

    /// Paths expanded, and what no layer may leave wrong checked once.
    private mutating func finish(home: String) throws(ConfigError) {
        if let publicURL {
            try Self.checkURL(publicURL, origin: "server.public_url (FLOWGATE_PUBLIC_URL)")
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
            switch providers[index] {
            case .iflow(var p):
                p.settingsPath = Self.expandHome(p.settingsPath, home: home)
                p.modelsPath = p.modelsPath.map { Self.expandHome($0, home: home) }
                try Self.checkURL(p.baseURL, origin: "The base URL of provider '\(name)' (IFLOW_BASE_URL)")
                try Self.checkURL(p.oauthURL, origin: "The OAuth URL of provider '\(name)' (IFLOW_OAUTH_URL)")
                providers[index] = .iflow(p)
            case .flowith(var p):
                p.modelsPath = p.modelsPath.map { Self.expandHome($0, home: home) }
                try Self.checkURL(p.baseURL, origin: "The base URL of provider '\(name)' (FLOWITH_BASE_URL)")
                try Self.checkURL(p.refreshURL, origin: "The refresh URL of provider '\(name)'")
                providers[index] = .flowith(p)
            case .openai(let p):
                try Self.checkURL(p.baseURL, origin: "The base URL of provider '\(name)'")
            }
        }
    }

    static func checkURL(_ text: String, origin: String) throws(ConfigError) {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ConfigError("\(origin) must be an http(s) URL, got '\(text)'.")
        }
    }

    static func commaSeparated(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// docs/security.md: refuses to serve other machines with nobody's key required.
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
