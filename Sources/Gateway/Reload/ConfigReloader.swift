import Foundation
import Logging
import Providers
import ServiceLifecycle
import UnixSignals
import UpstreamHTTP

/// Reads the configuration again on `SIGHUP` or when the config file changes
/// (docs/configuration.md, "Reload"): providers, accounts, keys, aliases and fallbacks. A
/// configuration with a mistake changes nothing: the running one stays, and the log says why.
package struct ConfigReload: Sendable {
    /// Resolves the configuration again (flags, environment, file).
    let load: @Sendable () throws -> GatewayConfig
    /// The upstream HTTP client new providers share.
    let client: UpstreamClient
    /// Reload on SIGHUP (the server; tests change the file instead).
    let onSignal: Bool

    package init(client: UpstreamClient, onSignal: Bool = true, load: @escaping @Sendable () throws -> GatewayConfig) {
        self.load = load
        self.client = client
        self.onSignal = onSignal
    }
}

struct ConfigReloader: Service {
    let live: LiveProviders
    let reload: ConfigReload
    let builder: GenerationBuilder
    /// The config file the running configuration came from, watched for changes.
    let file: String?
    let logger: Logger

    static let fileCheckInterval = Duration.seconds(2)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if reload.onSignal {
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) { await apply(because: "SIGHUP") }
                    }
                }
                if let file {
                    group.addTask {
                        var seen = Self.modified(file)
                        while !Task.isCancelled {
                            try? await Task.sleep(for: Self.fileCheckInterval)
                            let now = Self.modified(file)
                            if now != seen {
                                seen = now
                                await apply(because: "\(file) changed")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Builds the next generation and makes it current, or keeps the running one.
    func apply(because reason: String) async {
        do {
            let config = try reload.load()
            let previous = live.current
            let entries = try builder.entries(config, previous: previous)
            let kept = entries.filter { entry in previous.providers.contains { $0 as AnyObject === entry.provider as AnyObject } }
            for entry in entries where !kept.contains(where: { $0.provider as AnyObject === entry.provider as AnyObject }) {
                await entry.provider.prepare()
            }
            live.replace(with: GenerationBuilder.generation(config, entries: entries))
            logger.info(
                "configuration reloaded (\(reason)): \(entries.count) providers, \(entries.count - kept.count) rebuilt, \(config.aliases.count) aliases"
            )
        } catch {
            logger.error("configuration not reloaded (\(reason)); still serving the previous one: \(error)")
        }
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
