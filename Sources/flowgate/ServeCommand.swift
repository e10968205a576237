import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import Stores

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
        let store = try await Self.openStore(config: config, logger: logger)
        let client = UpstreamHTTPClient.make(config: config)
        do {
            logger.info("configuration: \(config.configFile.map { "config file \($0)" } ?? "no config file")\(options.readsDotEnv ? ", .env in the working directory" : ""), environment")
            let providers = try makeProviders(config: config, client: client, logger: logger, store: store)
            for provider in providers.map(\.provider) {
                await provider.prepare()  // so the line below tells the state after the fetch
                let status = provider.status()
                logger.info(
                    "provider \(provider.name) (\(provider.kind)): \(status.state.rawValue), \(provider.modelIDs.count) models; \(status.detail)")
            }
            let openStreams = OpenStreams()
            let host = config.host.contains(":") ? "[\(config.host)]" : config.host
            let app = buildApplication(
                config: config, providers: providers, logger: logger, store: store, openStreams: openStreams,
                reload: ConfigReload(client: client) { [options, serve] in try options.resolve(serve) },
                onServerRunning: { port in
                    let consoleHost = config.isLoopback ? host : "<this machine's address>"
                    logger.info(
                        "flowgate \(FlowgateVersion.current) listening on http://\(host):\(port) (API base http://\(host):\(port)/v1); console http://\(consoleHost):\(port)/"
                    )
                })
            try await GracefulShutdown(grace: config.shutdownGrace, openStreams: openStreams, logger: logger).run(app)
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES {
            client.shutdown()
            await store.close()
            // What a person can act on, instead of NIO's bind(descriptor:ptr:bytes:) text.
            let problem = error.errnoCode == EADDRINUSE ? "is already in use" : "may not be used by this user"
            FileHandle.standardError.write(
                Data(
                    "flowgate: port \(config.port) on \(config.host) \(problem). Stop the other server, or pick another port with --port (or PORT).\n"
                        .utf8))
            throw ExitCode(1)
        } catch {
            client.shutdown()
            await store.close()
            throw error
        }
        client.shutdown()
        await store.close()
    }

    /// The state store named by `store` / `FLOWGATE_STORE` (docs/architecture.md, "State store"); one that
    /// cannot be opened at start is an error that says why, not a silent fallback to memory.
    static func openStore(config: GatewayConfig, logger: Logger) async throws -> any StateStore {
        do {
            let location = try StoreLocation(config.store, dataDirectory: config.dataDirectory)
            let store = try await location.open(
                secretKey: config.secretKey, dataDirectory: config.dataDirectory, logger: logger)
            logger.info("state store: \(location.description)")
            return store
        } catch {
            FileHandle.standardError.write(Data("flowgate: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
