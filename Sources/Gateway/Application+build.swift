import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OpenAIWire
import Providers
import ServiceLifecycle
import Stores

/// Builds the server. The command line and the tests both call this. `openStreams`
/// lets a shutdown end the streams still open when its grace period is over.
/// `reload`: how to read the configuration again on SIGHUP or a change of its file (none: never).
/// `store`: where state shared across restarts and instances lives (docs/architecture.md, "State store").
package func buildApplication(
    config: GatewayConfig, providers: [ModelRouter.Entry], logger: Logger, store: any StateStore = MemoryStateStore(),
    openStreams: OpenStreams = OpenStreams(),
    reload: ConfigReload? = nil, onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let connections = ConnectionWatch()
    let live = LiveProviders(GenerationBuilder.generation(config, entries: providers))
    let usage =
        config.usageEnabled
        ? UsageRecorder(store: store, logger: logger, retentionDays: config.usageRetentionDays) : nil
    // One instance alone holds its limits in memory: no store round trip per request.
    let sharedLeases = store.isShared ? SharedLeases(store: store, logger: logger) : nil
    let router = buildRouter(
        config: config, live: live, connections: connections, store: store, usage: usage, openStreams: openStreams,
        sharedLeases: sharedLeases, metrics: config.metricsEnabled ? GatewayMetrics() : nil)
    var services: [any Service] = [ProviderService(live: live), CooldownSync(live: live, store: store), FreeMemory()]
    if let usage { services.append(usage) }
    if let sharedLeases { services.append(sharedLeases) }
    if let reload {
        services.append(
            ConfigReloader(
                live: live, reload: reload, builder: GenerationBuilder(client: reload.client, logger: logger, store: store),
                file: config.configFile, logger: logger))
    }
    let responder = router.buildResponder()
    return Application(
        router: router,
        server: HTTPServerBuilder { _ in
            GatewayHTTPChannel(
                responder: responder, watch: connections, bodyLimit: config.bodyLimit,
                idleTimeout: .init(config.connectionIdleTimeout), requestReadTimeout: .init(config.requestReadTimeout))
        },
        configuration: .init(
            address: .hostname(config.host, port: config.port), serverName: nil,
            availableConnectionsDelegate: ConnectionLimit(
                descriptorLimit: ConnectionLimit.currentDescriptorLimit(), logger: logger)),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger)
}

/// The routes; `connections` learns from each connection's pipeline when a client leaves.
func buildRouter(
    config: GatewayConfig, live: LiveProviders, connections: ConnectionWatch, store: any StateStore = MemoryStateStore(),
    usage: UsageRecorder? = nil, openStreams: OpenStreams = OpenStreams(), sharedLeases: SharedLeases? = nil,
    metrics: GatewayMetrics? = GatewayMetrics()
) -> Router<GatewayRequestContext> {
    let scrubber = SecretScrubber(live: live)
    let streams = StreamResponse(keepAlive: config.keepAliveInterval, openStreams: openStreams, scrubber: scrubber)
    let bodies = JSONBodyReader(limit: config.bodyLimit)
    let dispatcher = Dispatcher(live: live, streams: streams, sharedLeases: sharedLeases)
    let chat = ChatCompletionsRoute(dispatcher: dispatcher, config: config, connections: connections, bodies: bodies)
    let messages = MessagesRoute(dispatcher: dispatcher, config: config, connections: connections, bodies: bodies)
    let responses = ResponsesRoute(
        dispatcher: dispatcher, config: config, connections: connections, bodies: bodies, store: store)
    let embeddings = EmbeddingsRoute(dispatcher: dispatcher, bodyLimit: config.bodyLimit)
    let listing = ModelsRoute(live: live, created: Int64(Date().timeIntervalSince1970))
    let health = HealthRoute(live: live, store: store)

    let localOnly = LocalOnlyGuard(adminKey: config.adminKey, trustedProxies: config.trustedProxies)
    let csrf = CSRFToken()
    let signIn = SignInRoutes(
        live: live, states: SignInStates(store: store), localOnly: localOnly, csrf: csrf, publicURL: config.publicURL)
    let accountActions = AccountActions(live: live, localOnly: localOnly, csrf: csrf)
    let usageReport = UsageRoute(store: store, recorder: usage, localOnly: localOnly)
    let requestRecords = RequestsRoute(store: store, recorder: usage, localOnly: localOnly)
    let metricsRoute = metrics.map { MetricsRoute(metrics: $0, live: live, localOnly: localOnly) }
    let console = ConsolePage(
        live: live, localOnly: localOnly, clientKeysRequired: !config.clientKeys.isEmpty, csrf: csrf,
        usage: UsageSection(store: store, recorder: usage))

    var known: [String: [HTTPRequest.Method]] = [
        "/health": [.get], "/": [.get], "/oauth2callback": [.get], "/admin/login": [.post],
        AccountActions.path: [.post],
    ]
    for path in ChatCompletionsRoute.paths { known[path] = [.post] }
    for path in ModelsRoute.paths { known[path] = [.get] }
    known[UsageRoute.path] = [.get]
    known[RequestsRoute.path] = [.get]
    known[MetricsRoute.path] = [.get]
    for path in EmbeddingsRoute.paths { known[path] = [.post] }
    for path in MessagesRoute.paths + MessagesRoute.countPaths { known[path] = [.post] }
    for path in ResponsesRoute.paths { known[path] = [.post] }
    // Pages for a browser: no Bearer key (LocalOnlyGuard instead), forms, never CORS. Sign-ins
    // start at /login/<provider>, for whichever providers a reload brings.
    let browserPaths = PathSet(
        exact: ["/", "/oauth2callback", "/admin/login", AccountActions.path], prefixes: [SignInRoutes.startPrefix])

    let router = Router(context: GatewayRequestContext.self)
    // Outermost first: every answer has a request id and an access line; the web-page rules
    // come before the error middleware so that errors get CORS headers too.
    router.middlewares.add(RequestLogMiddleware(usage: usage, metrics: metrics))
    router.middlewares.add(
        WebPageGuard(hosts: HostNames(config: config), cors: CORSOrigins(config.corsOrigins), browserPaths: browserPaths))
    router.middlewares.add(ErrorMiddleware(
            routes: known,
            prefixRoutes: [SignInRoutes.startPrefix: [.post]].merging(
                ResponsesRoute.itemPrefixes.map { ($0, [.get, .delete]) }, uniquingKeysWith: { first, _ in first }),
            bodyLimit: config.bodyLimit,
            scrubber: scrubber))
    router.middlewares.add(
        ClientKeyMiddleware(
            keys: config.clientKeys, names: config.clientKeys.map(config.clientKeyName),
            // The operator's routes have their own guard (loopback or the admin key).
            openPaths: PathSet(
                exact: browserPaths.exact.union(["/health", UsageRoute.path, RequestsRoute.path, MetricsRoute.path]),
                prefixes: browserPaths.prefixes)))
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
    for path in ResponsesRoute.paths {
        router.post(RouterPath(path)) { request, context in try await responses.create(request, context: context) }
        router.get(RouterPath(path + "/:id")) { _, context in
            try await responses.retrieve(id: try context.parameters.require("id"), context: context)
        }
        router.delete(RouterPath(path + "/:id")) { _, context in
            try await responses.delete(id: try context.parameters.require("id"), context: context)
        }
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
    router.get(RouterPath(UsageRoute.path)) { request, context in try await usageReport.respond(request, context: context) }
    router.get(RouterPath(RequestsRoute.path)) { request, context in
        try await requestRecords.respond(request, context: context)
    }
    if let metricsRoute {
        router.get(RouterPath(MetricsRoute.path)) { request, context in try metricsRoute.respond(request, context: context) }
    }
    router.get("/") { request, context in try await console.respond(request, context: context) }
    router.post("/admin/login") { request, _ in try await console.login(request) }
    router.post(RouterPath(AccountActions.path)) { request, context in
        try await accountActions.respond(request, context: context)
    }
    router.post(RouterPath(SignInRoutes.startPrefix + ":provider")) { request, context in
        try await signIn.start(request, provider: context.parameters.get("provider") ?? "", context: context)
    }
    router.get("/oauth2callback") { request, context in try await signIn.callback(request, context: context) }
    return router
}
