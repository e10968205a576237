import Hummingbird
import Logging
import OpenAIWire
import Synchronization

/// One `info` line per request (docs/configuration.md, logging): method, path, status,
/// milliseconds, and for chat the model, provider and tokens; the request id comes
/// with the logger's metadata. Never a key or a message text.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let record = AccessRecord(
            logger: context.logger, method: request.method.rawValue, path: request.uri.path, started: .now)
        let response = try await AccessRecord.$current.withValue(record) { try await next(request, context) }
        // A stream is logged by its writer when it ends, with its tokens.
        if !record.isDeferred { record.finish(status: Int(response.status.code)) }
        return response
    }
}

/// What the access line says about one request; the chat route adds what it knows.
final class AccessRecord: Sendable {
    @TaskLocal static var current: AccessRecord?

    private struct Details {
        var model: String?
        var provider: String?
        var usage: JSONObject?
        var deferred = false
    }

    private let logger: Logger
    private let method: String
    private let path: String
    private let started: ContinuousClock.Instant
    private let details = Mutex(Details())

    init(logger: Logger, method: String, path: String, started: ContinuousClock.Instant) {
        self.logger = logger
        self.method = method
        self.path = path
        self.started = started
    }

    func route(model: String, provider: String) {
        details.withLock {
            $0.model = model
            $0.provider = provider
        }
    }

    func usage(_ usage: JSONObject?) {
        details.withLock { $0.usage = usage }
    }

    /// The answer is a stream: its writer calls `finish` at the end.
    func deferUntilStreamEnds() {
        details.withLock { $0.deferred = true }
    }

    var isDeferred: Bool { details.withLock { $0.deferred } }

    func finish(status: Int) {
        guard logger.logLevel <= .info else { return }
        let details = details.withLock { $0 }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        var metadata: Logger.Metadata = ["status": "\(status)", "ms": "\((ms * 10).rounded() / 10)"]
        if let model = details.model { metadata["model"] = .string(model) }
        if let provider = details.provider { metadata["provider"] = .string(provider) }
        if let usage = details.usage {
            for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                if let value = usage[key]?.intValue { metadata[key] = "\(value)" }
            }
        }
        logger.info("\(method) \(path)", metadata: metadata)
    }
}
