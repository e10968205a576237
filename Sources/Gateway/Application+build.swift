import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OpenAIWire
import Providers

/// Builds the server. The command line and the tests both call this. `openStreams`
/// lets a shutdown end the streams still open when its grace period is over.
package func buildApplication(
    config: GatewayConfig, providers: [ModelRouter.Entry], logger: Logger, openStreams: OpenStreams = OpenStreams(),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let connections = ConnectionWatch()
    let router = buildRouter(config: config, providers: providers, connections: connections, openStreams: openStreams)
    return Application(
        router: router,
        server: HTTPServerBuilder { responder in
            EventLoopBoundChannel(
                inner: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [ClientCloseHandler(watch: connections)],
                        idleTimeout: .init(config.connectionIdleTimeout))),
                requestReadTimeout: .init(config.requestReadTimeout))
        },
        configuration: .init(
            address: .hostname(config.host, port: config.port), serverName: nil,
            availableConnectionsDelegate: ConnectionLimit(
                descriptorLimit: ConnectionLimit.currentDescriptorLimit(), logger: logger)),
        services: providers.map { ProviderService(provider: $0.provider) },
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger)
}

/// The routes; `connections` learns from each connection's pipeline when a client leaves.
func buildRouter(
    config: GatewayConfig, providers: [ModelRouter.Entry], connections: ConnectionWatch,
    openStreams: OpenStreams = OpenStreams()
) -> Router<GatewayRequestContext> {
    let models = ModelRouter(entries: providers, aliases: config.aliases)
    let scrubber = SecretScrubber(providers: models.providers)
    let streams = StreamResponse(keepAlive: config.keepAliveInterval, openStreams: openStreams, scrubber: scrubber)
    let bodies = JSONBodyReader(limit: config.bodyLimit)
    let dispatcher = Dispatcher(
        models: models, streams: streams, fallbacks: config.fallbacks, maxAttempts: config.maxAttempts)
    let chat = ChatCompletionsRoute(dispatcher: dispatcher, config: config, connections: connections, bodies: bodies)
    let messages = MessagesRoute(dispatcher: dispatcher, config: config, connections: connections, bodies: bodies)
    let embeddings = EmbeddingsRoute(dispatcher: dispatcher, bodyLimit: config.bodyLimit)
    let listing = ModelsRoute(models: models, created: Int64(Date().timeIntervalSince1970))
    let health = HealthRoute(providers: models.providers)

    let localOnly = LocalOnlyGuard(adminKey: config.adminKey, trustedProxies: config.trustedProxies)
    let csrf = CSRFToken()
    let signIn = SignInRoutes(
        providers: models.providers, states: OAuthStateStore(), localOnly: localOnly, csrf: csrf,
        publicURL: config.publicURL)
    let accountActions = AccountActions(providers: models.providers, localOnly: localOnly, csrf: csrf)
    let console = ConsolePage(
        models: models, localOnly: localOnly, clientKeysRequired: !config.clientKeys.isEmpty, csrf: csrf)

    var known: [String: [HTTPRequest.Method]] = [
        "/health": [.get], "/": [.get], "/oauth2callback": [.get], "/admin/login": [.post],
        AccountActions.path: [.post],
    ]
    for path in signIn.startPaths { known[path] = [.post] }
    for path in ChatCompletionsRoute.paths { known[path] = [.post] }
    for path in ModelsRoute.paths { known[path] = [.get] }
    for path in EmbeddingsRoute.paths { known[path] = [.post] }
    for path in MessagesRoute.paths + MessagesRoute.countPaths { known[path] = [.post] }
    // Pages for a browser: no Bearer key (LocalOnlyGuard instead), forms, never CORS.
    let browserPaths = Set(["/", "/oauth2callback", "/admin/login", AccountActions.path] + signIn.startPaths)

    let router = Router(context: GatewayRequestContext.self)
    // Outermost first: every answer has a request id and an access line; the web-page rules
    // come before the error middleware so that errors get CORS headers too.
    router.middlewares.add(RequestLogMiddleware())
    router.middlewares.add(
        WebPageGuard(hosts: HostNames(config: config), cors: CORSOrigins(config.corsOrigins), browserPaths: browserPaths))
    router.middlewares.add(ErrorMiddleware(routes: known, bodyLimit: config.bodyLimit, scrubber: scrubber))
    router.middlewares.add(ClientKeyMiddleware(keys: config.clientKeys, openPaths: browserPaths.union(["/health"])))
    for path in ChatCompletionsRoute.paths {
        router.post(RouterPath(path)) { request, context in try await chat.respond(to: request, context: context) }
    }
    for path in EmbeddingsRoute.paths {
        router.post(RouterPath(path)) { request, context in
            try await embeddings.respond(to: request, logger: context.logger)
        }
    }
    for path in MessagesRoute.paths {
        router.post(RouterPath(path)) { request, context in try await messages.respond(to: request, context: context) }
    }
    for path in MessagesRoute.countPaths {
        router.post(RouterPath(path)) { request, _ in try await messages.countTokens(request) }
    }
    for path in ModelsRoute.paths {
        router.get(RouterPath(path)) { _, _ in listing.respond() }
        // `**`: qualified ids hold a slash (`iflow/glm-4.7`), which SDKs send encoded as %2F.
        router.get(RouterPath(path + "/**")) { _, context in
            let id = context.parameters.getCatchAll().joined(separator: "/")
            return try listing.retrieve(id.removingPercentEncoding ?? id)
        }
    }
    router.get("/health") { _, _ in health.respond() }
    router.get("/") { request, context in try console.respond(request, context: context) }
    router.post("/admin/login") { request, _ in try await console.login(request) }
    router.post(RouterPath(AccountActions.path)) { request, context in
        try await accountActions.respond(request, context: context)
    }
    for path in signIn.startPaths {
        let name = String(path.dropFirst("/login/".count))
        router.post(RouterPath(path)) { request, context in
            try await signIn.start(request, provider: name, context: context)
        }
    }
    router.get("/oauth2callback") { request, context in try await signIn.callback(request, context: context) }
    return router
}

/// The providers a configuration describes, in order, sharing one HTTP client.
package func makeProviders(config: GatewayConfig, client: HTTPClient, logger: Logger) throws -> [ModelRouter.Entry] {
    let context = ProviderContext(
        client: client, logger: logger, headTimeout: TimeAmount(config.upstreamHeadTimeout),
        dataDirectory: config.dataDirectory)
    return try config.providers.map { try ModelRouter.Entry(provider: $0.build(context), aliases: $0.aliases) }
}
