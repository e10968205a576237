import Logging
import NIOCore
import Providers
import Stores
import UpstreamHTTP

/// Builds the providers a configuration describes, in order, sharing one HTTP client; on a
/// reload it keeps each provider whose configuration did not change (aliases aside), so its
/// accounts keep their state, lines and sign-in refreshers (docs/architecture.md, "Reload").
struct GenerationBuilder: Sendable {
    let client: UpstreamClient
    let logger: Logger
    /// Where providers keep accounts signed in through flowgate.
    var store: (any AccountStore & RefreshLockStore)? = nil

    func entries(_ config: GatewayConfig, previous: LiveProviders.Generation? = nil) throws -> [ModelRouter.Entry] {
        let context = ProviderContext(
            client: client, logger: logger, headTimeout: TimeAmount(config.upstreamHeadTimeout),
            dataDirectory: config.dataDirectory, store: store)
        return try config.providers.map { providerConfig in
            let kept = previous.flatMap { previous in
                zip(previous.configs, previous.providers).first { old, _ in
                    Self.withoutAliases(old).isSame(as: Self.withoutAliases(providerConfig))
                }?.1
            }
            return ModelRouter.Entry(provider: try kept ?? providerConfig.build(context), aliases: providerConfig.aliases)
        }
    }

    static func generation(_ config: GatewayConfig, entries: [ModelRouter.Entry]) -> LiveProviders.Generation {
        LiveProviders.Generation(
            models: ModelRouter(entries: entries, aliases: config.aliases), fallbacks: config.fallbacks,
            maxAttempts: config.maxAttempts, configs: config.providers)
    }

    private static func withoutAliases(_ config: any ProviderConfig) -> any ProviderConfig {
        var config = config
        config.aliases = [:]
        return config
    }
}

/// The providers a configuration describes, in order, sharing one HTTP client.
/// `store`: where accounts signed in through flowgate are kept (nil: none are).
package func makeProviders(
    config: GatewayConfig, client: UpstreamClient, logger: Logger, store: (any AccountStore & RefreshLockStore)? = nil
) throws -> [ModelRouter.Entry] {
    try GenerationBuilder(client: client, logger: logger, store: store).entries(config)
}
