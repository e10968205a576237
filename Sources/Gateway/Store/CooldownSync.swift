import Foundation
import Logging
import Providers
import ServiceLifecycle
import Stores

/// Shares cooldowns through the state store (docs/architecture.md, "State store"): every
/// `interval` it writes the cooldowns this instance set or cleared, then applies every cooldown
/// in the store to the running providers' accounts. So a 429 seen by one instance cools the
/// account in all of them within a second, and a restart keeps running cooldowns. While the
/// store fails, each instance goes on with its own.
struct CooldownSync: Service {
    let live: LiveProviders
    let store: any CooldownStore
    var interval: Duration = .milliseconds(500)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sync()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sync() async {
        let providers = live.current.providers
        for provider in providers {
            for change in provider.accounts.takeCooldownChanges() {
                switch change {
                case .cooled(let account, let model, let until):
                    try? await store.setCooldown(
                        StoredCooldown(provider: provider.name, account: account, model: model ?? "", until: until))
                case .cleared(let account):
                    try? await store.clearCooldowns(provider: provider.name, account: account)
                }
            }
        }
        guard let cooldowns = try? await store.cooldowns(now: Date()) else { return }
        for cooldown in cooldowns {
            guard let provider = providers.first(where: { $0.name == cooldown.provider }) else { continue }
            provider.accounts.applyCooldown(
                account: cooldown.account, model: cooldown.model.isEmpty ? nil : cooldown.model, until: cooldown.until)
        }
    }
}
