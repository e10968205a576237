import ChatCore
import Hummingbird
import Logging
import NIOCore
import OpenAIWire
import Providers
import Synchronization

/// The one place a request meets a provider (docs/architecture.md, "Dispatch"): it resolves
/// the model, picks the account, holds the account's slot from acquire to release (for a
/// stream: until the upstream is no longer read), and hands a stream to the dialect's
/// encoder only after its first event. Account pools and fallbacks build on this.
struct Dispatcher: Sendable {
    let models: ModelRouter
    let streams: StreamResponse
    private let rotations: [String: Rotation]

    init(models: ModelRouter, streams: StreamResponse) {
        self.models = models
        self.streams = streams
        var rotations: [String: Rotation] = [:]
        for provider in models.providers { rotations[provider.name] = Rotation() }
        self.rotations = rotations
    }

    /// The provider and upstream model for a chat, once the provider said it can serve it.
    func route(_ chat: ChatRequest) async throws(GatewayError) -> ModelRouter.Route {
        let route = try await models.routeRefreshing(chat.model)
        AccessRecord.current?.route(model: chat.model, provider: route.provider.name)
        try route.provider.check(chat)
        return route
    }

    func complete(_ chat: ChatRequest, on route: ModelRouter.Route) async throws -> JSONObject {
        let (account, permit) = try await acquire(route.provider)
        defer { permit.release() }
        return try await route.provider.complete(chat, upstreamModel: route.upstreamModel, account: account)
    }

    func stream<Encoder: ChatStreamEncoder>(
        _ chat: ChatRequest, on route: ModelRouter.Route, encoder: Encoder, logger: Logger
    ) async throws -> Response {
        let (account, permit) = try await acquire(route.provider)
        let chunks: ChunkStream
        do {
            chunks = try await route.provider.stream(chat, upstreamModel: route.upstreamModel, account: account)
        } catch {
            permit.release()
            throw error
        }
        return try await streams.respond(
            chunks, encoder: encoder, provider: route.provider.name, logger: logger, onEnd: { permit.release() })
    }

    func embeddings(_ body: JSONObject, on route: ModelRouter.Route) async throws -> ByteBuffer {
        let (account, permit) = try await acquire(route.provider)
        defer { permit.release() }
        return try await route.provider.embeddings(body, account: account)
    }

    /// Accounts take turns; the slot waits in the account's line (or is refused when the line is full).
    private func acquire(_ provider: any ChatProvider) async throws -> (Int, AccountQueue.Permit) {
        let queues = provider.accountQueues
        guard !queues.isEmpty else {
            throw GatewayError.unavailable(
                "The \(provider.name) provider has no account: \(provider.status().detail)",
                code: "provider_not_configured")
        }
        let turn = rotations[provider.name]?.next() ?? 0
        let account = queues.count == 1 ? 0 : turn % queues.count
        return (account, try await queues[account].acquire())
    }
}

/// Whose turn it is among a provider's accounts.
private final class Rotation: Sendable {
    private let counter = Atomic<Int>(0)

    func next() -> Int { counter.add(1, ordering: .relaxed).oldValue }
}
