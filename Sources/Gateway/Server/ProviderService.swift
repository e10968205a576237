import Providers
import ServiceLifecycle

/// Runs a provider's background work (`ChatProvider.run`) for as long as the server runs.
struct ProviderService: Service {
    let provider: any ChatProvider

    func run() async throws {
        await cancelWhenGracefulShutdown { await provider.run() }
        // A provider without background work returns at once; the service still lasts until shutdown.
        try? await gracefulShutdown()
    }
}
