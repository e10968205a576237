/// iFlow in the configuration (docs/configuration.md, `providers`; docs/protocols/iflow.md).
/// Present by default, so that a fresh machine can sign in; `IFLOW_API_KEY` enables it
/// even when the file lists no iFlow provider.
package struct IFlowKind: ProviderKind {
    package init() {}

    package let kind = "iflow"
    package let sectionKeys: Set<String> = ["base_url", "api_key", "settings", "models_file", "oauth_url"]

    package func config(from section: any ConfigSection) throws(ConfigError) -> any ProviderConfig {
        var config = IFlowConfig()
        if let v = try section.string("name") { config.name = v }
        if let v = try section.string("base_url") { config.baseURL = v }
        if let v = try section.string("api_key") { config.apiKey = v }
        if let v = try section.string("settings") { config.settingsPath = v }
        if let v = try section.string("models_file") { config.modelsPath = v }
        if let v = try section.string("oauth_url") { config.oauthURL = v }
        return config
    }

    package func applyEnvironment(_ env: [String: String], to existing: (any ProviderConfig)?) throws(ConfigError)
        -> (any ProviderConfig)?
    {
        guard var config = (existing as? IFlowConfig) ?? (env["IFLOW_API_KEY"] != nil ? IFlowConfig() : nil) else {
            return nil
        }
        if let key = env["IFLOW_API_KEY"] { config.apiKey = key }
        if let url = env["IFLOW_BASE_URL"] { config.baseURL = url }
        if let url = env["IFLOW_OAUTH_URL"] { config.oauthURL = url }
        if let path = env["IFLOW_SETTINGS"] { config.settingsPath = path }
        if let path = env["IFLOW_MODELS"] { config.modelsPath = path }
        if let limit = env["IFLOW_MAX_CONCURRENCY"] {
            guard let value = Int(limit), value >= 0 else {
                throw ConfigError("IFLOW_MAX_CONCURRENCY must be a whole number (0 = unlimited), got '\(limit)'.")
            }
            config.concurrency.limit = value
        }
        return config
    }

    package func defaultConfig() -> (any ProviderConfig)? { IFlowConfig() }
}

package struct IFlowConfig: ProviderConfig, Equatable {
    package var kind: String { "iflow" }
    package var name = "iflow"
    package var baseURL = "https://apis.iflow.cn/v1"
    /// The OAuth server (sign-in, token refresh, getUserInfo).
    package var oauthURL = "https://iflow.cn"
    package var apiKey: String?
    package var settingsPath = "~/.iflow/settings.json"
    /// A user file replacing the shipped model list.
    package var modelsPath: String?
    /// docs/protocols/iflow.md: one request in flight per account by default (0 = unlimited).
    package var concurrency = AccountQueue.Settings(limit: 1)
    package var strategy = AccountPool.Strategy.roundRobin
    package var aliases: [String: String] = [:]

    package init() {}

    /// `api_key` / `IFLOW_API_KEY`, comma-separated: one account per key.
    package var apiKeys: [String] { apiKey.map(ConfigChecks.commaSeparated) ?? [] }

    package mutating func finish(home: String) throws(ConfigError) {
        settingsPath = ConfigChecks.expandHome(settingsPath, home: home)
        modelsPath = modelsPath.map { ConfigChecks.expandHome($0, home: home) }
        try ConfigChecks.url(baseURL, origin: "The base URL of provider '\(name)' (IFLOW_BASE_URL)")
        try ConfigChecks.url(oauthURL, origin: "The OAuth URL of provider '\(name)' (IFLOW_OAUTH_URL)")
    }

    package func build(_ context: ProviderContext) throws -> any ChatProvider {
        let models = try IFlowModelList.load(overridePath: modelsPath)
        return IFlowProvider(
            settings: .init(
                name: name, baseURL: baseURL, models: models, headTimeout: context.headTimeout, concurrency: concurrency,
                strategy: strategy, apiKeys: apiKeys, settingsPath: settingsPath, store: context.store,
                accountsDirectory: context.dataDirectory.map { IFlowConfig.accountsDirectory(dataDirectory: $0, provider: name) }),
            oauth: IFlowOAuth(baseURL: oauthURL, client: context.client), client: context.client, logger: context.logger)
    }

    /// Where an earlier version kept named accounts of provider `provider` (moved into the store at start).
    package static func accountsDirectory(dataDirectory: String, provider: String) -> String {
        "\(dataDirectory)/accounts/\(provider)"
    }
}
