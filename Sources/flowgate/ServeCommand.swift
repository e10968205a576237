import ArgumentParser
import Gateway
import Hummingbird

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the server (the default).")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let config = try options.resolve()
        let logger = try options.makeLogger()
        try config.checkExposure()
        if !config.isLoopback && config.clientKeys.isEmpty {
            logger.warning(
                "listening on \(config.host) WITHOUT client keys (--allow-unauthenticated): anyone who reaches this port can use your accounts"
            )
        }
        let client = UpstreamHTTPClient.make(config: config)
        do {
            let providers = try makeProviders(config: config, client: client, logger: logger)
            for provider in providers.map(\.provider) {
                let status = provider.status()
                logger.info("provider \(provider.name) (\(provider.kind)): \(status.state.rawValue), \(status.detail)")
            }
            let openStreams = OpenStreams()
            let app = buildApplication(config: config, providers: providers, logger: logger, openStreams: openStreams)
            try await GracefulShutdown(grace: config.shutdownGrace, openStreams: openStreams, logger: logger).run(app)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
