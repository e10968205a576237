import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import OpenAIWire
import Providers

/// Builds the server. The command line and the tests both call this.
public func buildApplication(
    config: GatewayConfig, providers: [any ChatProvider], logger: Logger
) -> some ApplicationProtocol {
    let connections = ConnectionWatch()
    let router = buildRouter(config: config, providers: providers, connections: connections)
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ClientCloseHandler(watch: connections)],
                idleTimeout: .init(config.connectionIdleTimeout))),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil),
        logger: logger)
}

/// The routes; `connections` learns from each connection's pipeline when a client leaves.
func buildRouter(
    config: GatewayConfig, providers: [any ChatProvider], connections: ConnectionWatch
) -> Router<GatewayRequestContext> {
    let models = ModelRouter(providers: providers)
    let chat = ChatCompletionsRoute(models: models, config: config, connections: connections)
    let listing = ModelsRoute(models: models, created: Int64(Date().timeIntervalSince1970))
    let health = HealthRoute(providers: providers)

    var known: [String: [HTTPRequest.Method]] = ["/health": [.get]]
    for path in ChatCompletionsRoute.paths { known[path] = [.post] }
    for path in ModelsRoute.paths { known[path] = [.get] }

    let router = Router(context: GatewayRequestContext.self)
    router.middlewares.add(OpenAIErrorMiddleware(routes: known, bodyLimit: config.bodyLimit))
    router.middlewares.add(ClientKeyMiddleware(keys: config.clientKeys))
    for path in ChatCompletionsRoute.paths {
        router.post(RouterPath(path)) { request, context in try await chat.respond(to: request, context: context) }
    }
    for path in ModelsRoute.paths {
        router.get(RouterPath(path)) { _, _ in listing.respond() }
    }
    router.get("/health") { _, _ in health.respond() }
    return router
}

/// The providers a configuration describes, sharing one HTTP client.
public func makeProviders(config: GatewayConfig, client: HTTPClient, logger: Logger) throws -> [any ChatProvider] {
    let models = try IFlowModelList.load(overridePath: config.iflow.modelsPath)
    let iflow = IFlowProvider(
        settings: .init(
            baseURL: config.iflow.baseURL, models: models, headTimeout: .init(config.upstreamHeadTimeout),
            concurrency: .init(
                limit: config.iflow.maxConcurrency, maxWaiting: config.iflow.queueLimit,
                waitTimeout: config.iflow.queueTimeout)),
        credentials: IFlowCredentials(environmentKey: config.iflow.apiKey, settingsPath: config.iflow.settingsPath),
        client: client, logger: logger)
    return [iflow]
}
