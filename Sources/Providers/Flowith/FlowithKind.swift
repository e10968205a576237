/// Flowith in the configuration (docs/configuration.md, `providers`; docs/protocols/flowith.md).
/// `FLOWITH_AUTH_TOKEN` (comma-separated accounts) enables it.
package struct FlowithKind: ProviderKind {
    package init() {}

    package let kind = "flowith"
    package let sectionKeys: Set<String> = [
        "base_url", "tokens", "accounts", "refresh_token", "refresh_url", "models_file", "replace_models",
    ]
    static let accountKeys: Set<String> = ["name", "token", "refresh_token"]
    package var nestedKeys: Set<String> { Self.accountKeys }

    package func config(from section: any ConfigSection) throws(ConfigError) -> any ProviderConfig {
        var config = FlowithConfig()
        if let v = try section.string("name") { config.name = v }
        if let v = try section.string("base_url") { config.baseURL = v }
        if let v = try section.strings("tokens") { config.accounts = v.map { .init(token: $0) } }
        for account in try section.sections("accounts", keys: Self.accountKeys) ?? [] {
            guard let token = try account.string("token") else { throw account.error(nil, "needs a 'token'") }
            config.accounts.append(
                .init(token: token, refreshToken: try account.string("refresh_token"), name: try account.string("name")))
        }
        if let v = try section.string("refresh_token") {
            guard !config.accounts.isEmpty else {
                throw section.error("refresh_token", "needs a token to refresh (tokens or accounts)")
            }
            config.accounts[0].refreshToken = v
        }
        if let v = try section.string("refresh_url") { config.refreshURL = v }
        if let v = try section.string("models_file") { config.modelsPath = v }
        if let v = try section.bool("replace_models") { config.replaceModels = v }
        return config
    }

    package func applyEnvironment(_ env: [String: String], to existing: (any ProviderConfig)?) throws(ConfigError)
        -> (any ProviderConfig)?
    {
        var config = existing as? FlowithConfig
        if let tokens = env["FLOWITH_AUTH_TOKEN"] {
            let refresh = ConfigChecks.commaSeparated(env["FLOWITH_REFRESH_TOKEN"] ?? "")
            var settings = config ?? FlowithConfig()
            settings.accounts = ConfigChecks.commaSeparated(tokens).enumerated().map { position, token in
                FlowithConfig.Account(token: token, refreshToken: position < refresh.count ? refresh[position] : nil)
            }
            config = settings
        }
        guard var config else { return nil }
        if let url = env["FLOWITH_BASE_URL"] { config.baseURL = url }
        if let path = env["FLOWITH_MODELS"] { config.modelsPath = path }
        if env["FLOWITH_AUTH_TOKEN"] == nil, let refresh = env["FLOWITH_REFRESH_TOKEN"], !config.accounts.isEmpty {
            config.accounts[0].refreshToken = refresh
        }
        return config
    }
}

package struct FlowithConfig: ProviderConfig, Equatable {
    /// A token and its optional refresh token.
    package typealias Account = FlowithProvider.Account

    package var kind: String { "flowith" }
    package var name = "flowith"
    package var baseURL = "https://edge.flo.ing"
    package var accounts: [Account] = []
    /// docs/protocols/flowith.md: Supabase's token endpoint.
    package var refreshURL = "https://aibdxsebwhalbnugsqel.supabase.co/auth/v1/token?grant_type=refresh_token"
    /// A `models.json` mapping extending (or, with `replaceModels`, replacing) the shipped one.
    package var modelsPath: String?
    package var replaceModels = false
    package var concurrency = AccountQueue.Settings(limit: 0)
    package var strategy = AccountPool.Strategy.roundRobin
    package var aliases: [String: String] = [:]

    package init() {}

    package mutating func finish(home: String) throws(ConfigError) {
        modelsPath = modelsPath.map { ConfigChecks.expandHome($0, home: home) }
        try ConfigChecks.url(baseURL, origin: "The base URL of provider '\(name)' (FLOWITH_BASE_URL)")
        try ConfigChecks.url(refreshURL, origin: "The refresh URL of provider '\(name)'")
    }

    package func build(_ context: ProviderContext) throws -> any ChatProvider {
        for (position, account) in accounts.enumerated() where FlowithToken.expiry(of: account.token) == nil {
            throw ConfigError(
                "Flowith token \(position + 1) of \(accounts.count) is not a JWT (three dot-separated parts with an "
                    + "expiry): " + FlowithToken.howToGetOne + ".")
        }
        var models = replaceModels ? [] : FlowithShippedModels.mapping
        if let modelsPath {
            let user = try ModelMapping.load(modelsPath)
            let replaced = Set(user.map(\.0))
            models = models.filter { !replaced.contains($0.0) } + user
        }
        return FlowithProvider(
            settings: .init(
                name: name, baseURL: baseURL, refreshURL: refreshURL, models: models, headTimeout: context.headTimeout,
                concurrency: concurrency, strategy: strategy),
            accounts: accounts, client: context.client, logger: context.logger)
    }
}
