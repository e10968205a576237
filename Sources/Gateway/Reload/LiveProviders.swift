import Providers
import Synchronization

/// The providers, aliases and fallbacks requests are served with now (docs/architecture.md,
/// "Reload"). A request reads the current generation once and keeps it: a reload replaces the
/// generation for the requests that come after, while those in flight finish on the
/// providers they started with.
final class LiveProviders: Sendable {
    /// A class: a request takes it with one reference count, not one per field.
    final class Generation: Sendable {
        let models: ModelRouter
        /// Client-facing model → what to try when its provider has no account left to try.
        let fallbacks: [String: [String]]
        let maxAttempts: Int
        /// What each provider was built from (same order), so a reload keeps the unchanged ones
        /// with their accounts' state, lines and sign-in refreshers.
        let configs: [any ProviderConfig]

        init(models: ModelRouter, fallbacks: [String: [String]], maxAttempts: Int, configs: [any ProviderConfig]) {
            self.models = models
            self.fallbacks = fallbacks
            self.maxAttempts = maxAttempts
            self.configs = configs
        }

        var providers: [any ChatProvider] { models.providers }
    }

    private let generation: Mutex<Generation>
    /// Each new generation's providers, for the service that runs their background work.
    let updates: AsyncStream<[any ChatProvider]>
    private let continuation: AsyncStream<[any ChatProvider]>.Continuation

    init(_ first: Generation) {
        generation = Mutex(first)
        (updates, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield(first.providers)
    }

    var current: Generation { generation.withLock { $0 } }

    func replace(with next: Generation) {
        generation.withLock { $0 = next }
        continuation.yield(next.providers)
    }
}
