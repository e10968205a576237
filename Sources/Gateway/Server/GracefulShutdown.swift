import Dispatch
import Foundation
import Logging
import OpenAIWire
import ServiceLifecycle
import Synchronization

/// How the server stops (docs/security.md): the first SIGTERM or SIGINT stops new
/// connections and gives open requests `grace` to finish; streams still open then get
/// an error event and `[DONE]`, so no client sees a silent cut; a second signal exits
/// at once. (ServiceLifecycle ignores a second graceful signal, hence the own watch.)
package struct GracefulShutdown: Sendable {
    let grace: Duration
    let openStreams: OpenStreams
    let logger: Logger

    package init(grace: Duration, openStreams: OpenStreams, logger: Logger) {
        self.grace = grace
        self.openStreams = openStreams
        self.logger = logger
    }

    package static let error = GatewayError(
        status: 503, message: "flowgate is shutting down; this stream was ended before the upstream finished.",
        type: "server_error", code: "server_shutting_down")

    /// Runs `service` until it stops by itself or by signal.
    package func run(_ service: some Service) async throws {
        var configuration = ServiceGroupConfiguration(services: [service], logger: logger)
        // A backstop past the grace period: requests still waiting on a silent upstream are cancelled.
        configuration.maximumGracefulShutdownDuration = grace + .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { received(number, group: group) }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        try await group.run()
        logger.info("flowgate stopped")
    }

    private let signalCount = SignalCount()

    private func received(_ number: Int32, group: ServiceGroup) {
        guard signalCount.next() == 1 else {
            logger.warning("second signal: exiting now")
            exit(1)
        }
        let seconds = grace.components.seconds
        logger.info("shutting down (signal \(number)): open requests have \(seconds) s to finish; a second signal exits now")
        Task {
            await group.triggerGracefulShutdown()
            try? await Task.sleep(for: grace)
            let ended = openStreams.abortAll(with: Self.error)
            if ended > 0 { logger.warning("grace period over: ended \(ended) open stream(s) with an error event") }
        }
    }
}

private final class SignalCount: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}
