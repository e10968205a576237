import ChatCore
import Hummingbird
import Logging
import NIOCore
import OpenAIWire
import Providers

/// The one place a request meets a provider (docs/architecture.md, "Dispatch"): it resolves
/// the model, leases an account for each attempt and holds its slot from acquire to release
/// (for a stream: until the upstream is no longer read), and hands a stream to the dialect's
/// encoder only after its first event. Before that first event, a failure that belongs to the
/// account moves the request to the next account, then to the model's fallbacks, at most
/// `maxAttempts` in all (docs/architecture.md, "Account pools").
struct Dispatcher: Sendable {
    /// The providers, aliases, fallbacks and attempt limit of the running configuration.
    let live: LiveProviders
    let streams: StreamResponse
    /// With a shared store: each account's limit held across instances.
    var sharedLeases: SharedLeases? = nil

    /// The provider and upstream model for a chat, once the provider said it can serve it.
    func route(_ chat: ChatRequest) async throws(GatewayError) -> ModelRouter.Route {
        let route: ModelRouter.Route
        do {
            route = try await live.current.models.routeRefreshing(chat.model)
        } catch {
            // No provider: the usage record still says what was asked.
            AccessRecord.current?.asked(model: chat.model, stream: chat.stream)
            throw error
        }
        AccessRecord.current?.route(
            model: chat.model, upstreamModel: route.upstreamModel, provider: route.provider, stream: chat.stream)
        try route.provider.check(chat)
        return route
    }

    func complete(_ chat: ChatRequest, on route: ModelRouter.Route, logger: Logger) async throws -> JSONObject {
        try await attempts(chat, first: route, logger: logger) { route, lease in
            let started = ContinuousClock.now
            defer {
                AccessRecord.current?.waitedOnUpstream(since: started)
                lease.release()
            }
            return try await route.provider.complete(chat, upstreamModel: route.upstreamModel, account: lease.index)
        }
    }

    func stream<Encoder: ChatStreamEncoder>(
        _ chat: ChatRequest, on route: ModelRouter.Route, encoder: Encoder, logger: Logger,
        finished: (@Sendable (Encoder) async -> Void)? = nil
    ) async throws -> Response {
        try await attempts(chat, first: route, logger: logger) { route, lease in
            let (started, access) = (ContinuousClock.now, AccessRecord.current)
            let chunks: ChunkStream
            do {
                chunks = try await route.provider.stream(chat, upstreamModel: route.upstreamModel, account: lease.index)
            } catch {
                access?.waitedOnUpstream(since: started)
                throw error
            }
            // Released when the upstream is no longer read; the attempt succeeded once the first event came.
            return try await streams.respond(
                chunks, encoder: encoder, provider: route.provider.name, logger: logger, finished: finished,
                onEnd: {
                    access?.waitedOnUpstream(since: started)
                    lease.release()
                })
        }
    }

    func embeddings(_ body: JSONObject, on route: ModelRouter.Route, logger: Logger) async throws -> ByteBuffer {
        try await attempts(nil, first: route, logger: logger) { route, lease in
            defer { lease.release() }
            return try await route.provider.embeddings(body, account: lease.index)
        }
    }

    /// Runs `attempt` on an account of the first route, then of the next while the failure is
    /// the account's; the request's own failures end it at once.
    private func attempts<T>(
        _ chat: ChatRequest?, first: ModelRouter.Route, logger: Logger,
        _ attempt: (ModelRouter.Route, Lease) async throws -> T
    ) async throws -> T {
        var outcome = AttemptOutcome()
        let generation = live.current
        let maxAttempts = max(1, generation.maxAttempts)
        // No array for the common case: the fallbacks are worked out only when configured.
        let fallbacks = fallbackRoutes(chat, first, in: generation)
        for position in 0...fallbacks.count {
            let route = position == 0 ? first : fallbacks[position - 1]
            let accounts = route.provider.accounts
            var tried: Set<Int> = []
            accountsOfRoute: while outcome.attempts < maxAttempts {
                let lease: Lease
                switch try await accounts.lease(model: route.upstreamModel, session: chat?.session, excluding: tried) {
                case .success(let leased): lease = leased
                case .failure(let refusal):
                    outcome.refused(refusal, provider: route.provider)
                    break accountsOfRoute
                }
                if let sharedLeases {
                    do {
                        try await sharedLeases.hold(lease, provider: route.provider.name, settings: accounts.settings)
                    } catch {
                        lease.release()
                        throw error
                    }
                }
                outcome.attempts += 1
                AccessRecord.current?.account(lease.name)
                if outcome.attempts > 1 || route.provider.name != first.provider.name {
                    AccessRecord.current?.route(
                        model: chat?.model ?? route.upstreamModel, upstreamModel: route.upstreamModel,
                        provider: route.provider, stream: chat?.stream ?? false)
                }
                do {
                    let value = try await attempt(route, lease)
                    lease.succeeded()
                    return value
                } catch let error as GatewayError {
                    lease.release()
                    // A client that left cancelled the attempt: nothing the account did.
                    guard !Task.isCancelled, let fault = AccountPool.Fault(error, model: route.upstreamModel) else {
                        throw error
                    }
                    lease.failed(fault)
                    tried.insert(lease.index)
                    outcome.failed(error, fault: fault, provider: route.provider.name, account: lease.name)
                    // The access line warns about the answer; this says which account failed and why.
                    logger.notice(
                        "\(route.provider.name) account '\(lease.name)' failed (\(error.code ?? "error"), upstream \(error.upstreamStatus.map(String.init) ?? "-")); \(outcome.attempts < maxAttempts ? "trying the next" : "no attempts left")"
                    )
                } catch {
                    lease.release()
                    throw error
                }
            }
        }
        throw outcome.error()
    }

    /// The model's fallbacks (docs/configuration.md, `fallbacks`), by the name the client
    /// asked for; targets that no longer route are skipped.
    private func fallbackRoutes(
        _ chat: ChatRequest?, _ first: ModelRouter.Route, in generation: LiveProviders.Generation
    ) -> [ModelRouter.Route] {
        let fallbacks = generation.fallbacks
        guard !fallbacks.isEmpty, let chat,
            let targets = fallbacks[chat.model] ?? fallbacks["\(first.provider.name)/\(first.upstreamModel)"]
        else { return [] }
        return targets.compactMap { target in
            guard let route = try? generation.models.route(target), (try? route.provider.check(chat)) != nil else { return nil }
            return route
        }
    }
}
