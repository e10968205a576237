import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import NIOCore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the server (the default).")

    @OptionGroup var serve: ServeOptions
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let config = try options.resolve(serve)
        let logger = try options.makeLogger()
        try config.checkExposure()
        if !config.isLoopback && config.clientKeys.isEmpty {
            logger.warning(
                "listening on \(config.host) WITHOUT client keys (--allow-unauthenticated): anyone who reaches this port can use your accounts"
            )
        }
        let client = UpstreamHTTPClient.make(config: config)
        do {
            logger.info("configuration: \(config.configFile.map { "config file \($0)" } ?? "no config file")\(options.readsDotEnv ? ", .env in the working directory" : ""), environment")
            let providers = try makeProviders(config: config, client: client, logger: logger)
            for provider in providers.map(\.provider) {
                await provider.refreshModels()  // so the line below tells the state after the fetch
                let status = provider.status()
                logger.info(
                    "provider \(provider.name) (\(provider.kind)): \(status.state.rawValue), \(provider.modelIDs.count) models; \(status.detail)")
            }
            let openStreams = OpenStreams()
            let host = config.host.contains(":") ? "[\(config.host)]" : config.host
            let app = buildApplication(
                config: config, providers: providers, logger: logger, openStreams: openStreams,
                reload: ConfigReload(client: client) { [options, serve] in try options.resolve(serve) },
                onServerRunning: { port in
                    let consoleHost = config.isLoopback ? host : "<this machine's address>"
                    logger.info(
                        "flowgate \(FlowgateVersion.current) listening on http://\(host):\(port) (API base http://\(host):\(port)/v1); console http://\(consoleHost):\(port)/"
                    )
                })
            try await GracefulShutdown(grace: config.shutdownGrace, openStreams: openStreams, logger: logger).run(app)
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES {
            try? await client.shutdown()
            // What a person can act on, instead of NIO's bind(descriptor:ptr:bytes:) text.
            let problem = error.errnoCode == EADDRINUSE ? "is already in use" : "may not be used by this user"
            FileHandle.standardError.write(
                Data(
                    "flowgate: port \(config.port) on \(config.host) \(problem). Stop the other server, or pick another port with --port (or PORT).\n"
                        .utf8))
            throw ExitCode(1)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
