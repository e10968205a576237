/// Any OpenAI-compatible upstream in the configuration (docs/configuration.md, `providers`;
/// docs/protocols/openai-compatible.md). Only the file declares these: each needs a name and a base URL.
package struct OpenAICompatibleKind: ProviderKind {
    package init() {}

    package let kind = "openai"
    package let sectionKeys: Set<String> = ["base_url", "api_key", "api_key_env", "accounts", "models", "headers"]
    static let accountKeys: Set<String> = ["name", "api_key", "api_key_env"]
    package var nestedKeys: Set<String> { Self.accountKeys }

    package func config(from section: any ConfigSection) throws(ConfigError) -> any ProviderConfig {
        guard let name = try section.string("name") else {
            throw section.error(nil, "needs a 'name' (used as the model prefix)")
        }
        guard let base = try section.string("base_url") else { throw section.error(nil, "needs a 'base_url'") }
        var config = OpenAICompatibleConfig(name: name, baseURL: base)
        config.apiKey = try Self.key(in: section)
        for (position, account) in (try section.sections("accounts", keys: Self.accountKeys) ?? []).enumerated() {
            guard let key = try Self.key(in: account) else { throw account.error(nil, "needs an 'api_key' or 'api_key_env'") }
            let name = try account.string("name") ?? "key\(position + 1)"
            guard !config.accounts.contains(where: { $0.name == name }) else {
                throw account.error("name", "'\(name)' is used by another account of this provider")
            }
            config.accounts.append(.init(name: name, apiKey: key))
        }
        if config.apiKey != nil && !config.accounts.isEmpty {
            throw section.error("accounts", "and 'api_key' cannot both be given: list the key as one of the accounts")
        }
        config.models = try section.strings("models")
        config.headers = try section.stringMap("headers") ?? [:]
        return config
    }

    /// `api_key`, or the variable `api_key_env` names.
    private static func key(in section: any ConfigSection) throws(ConfigError) -> String? {
        guard let variable = try section.string("api_key_env") else { return try section.string("api_key") }
        guard let key = section.environment[variable], !key.isEmpty else {
            throw section.error("api_key_env", "names the environment variable \(variable), which is not set")
        }
        return key
    }

    package func applyEnvironment(_ environment: [String: String], to existing: (any ProviderConfig)?)
        throws(ConfigError) -> (any ProviderConfig)?
    {
        existing
    }
}

package struct OpenAICompatibleConfig: ProviderConfig, Equatable {
    package var kind: String { "openai" }
    package var name: String
    package var baseURL: String
    package var apiKey: String?
    /// `accounts`: several keys, one account each (else `apiKey` is the one account, `default`).
    package var accounts: [OpenAICompatibleProvider.Account] = []
    /// The model list; nil = fetched from `{baseURL}/models`.
    package var models: [String]?
    package var headers: [String: String] = [:]
    package var concurrency = AccountQueue.Settings(limit: 0)
    package var strategy = AccountPool.Strategy.roundRobin
    package var aliases: [String: String] = [:]

    package init(name: String, baseURL: String) {
        self.name = name
        self.baseURL = baseURL
    }

    package mutating func finish(home: String) throws(ConfigError) {
        try ConfigChecks.url(baseURL, origin: "The base URL of provider '\(name)'")
    }

    package func build(_ context: ProviderContext) throws -> any ChatProvider {
        let provider = OpenAICompatibleProvider(
            settings: .init(
                name: name, baseURL: baseURL,
                accounts: accounts.isEmpty ? [.init(name: "default", apiKey: apiKey)] : accounts, models: models,
                headers: headers.sorted { $0.key < $1.key }, headTimeout: context.headTimeout, concurrency: concurrency,
                strategy: strategy),
            client: context.client, logger: context.logger)
        if models == nil { Task { await provider.refreshModels() } }
        return provider
    }
}
