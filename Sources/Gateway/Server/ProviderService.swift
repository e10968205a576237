import Providers
import ServiceLifecycle

/// Runs each provider's background work (`ChatProvider.run`: keeping a sign-in fresh,
/// noticing credential files change) for as long as the server runs. After a reload the
/// providers that left stop, the new ones start, and the ones kept run on undisturbed.
struct ProviderService: Service {
    let live: LiveProviders

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var running: [ObjectIdentifier: Task<Void, Never>] = [:]
            for await providers in live.updates {
                var next: [ObjectIdentifier: Task<Void, Never>] = [:]
                for provider in providers {
                    let id = ObjectIdentifier(provider as AnyObject)
                    next[id] = running.removeValue(forKey: id) ?? Task { await provider.run() }
                }
                for task in running.values { task.cancel() }
                running = next
            }
            for task in running.values { task.cancel() }
        }
    }
}
