import Foundation
import Logging
import OpenAIWire
import Stores
import Synchronization

/// What the access line says about one request; the chat route adds what it knows.
final class AccessRecord: Sendable {
    @TaskLocal static var current: AccessRecord?

    private struct Details {
        var model: String?
        var provider: String?
        var account: String?
        /// The client key's name (never the key).
        var clientKey: String?
        var usage: JSONObject?
        var deferred = false
        /// When the first byte of a stream went out.
        var firstByte: ContinuousClock.Instant?
        /// Time spent waiting on upstreams (every attempt's).
        var upstream: Duration = .zero
    }

    private let logger: Logger
    private let method: String
    private let path: String
    private let started: ContinuousClock.Instant
    private let usageRecorder: UsageRecorder?
    private let metrics: GatewayMetrics?
    private let recent: RecentRequests?
    /// A chat route's dialect; nil: no chat (not counted in usage, metrics or the last requests).
    private let dialect: Dialect?
    private let details = Mutex(Details())

    init(
        logger: Logger, method: String, path: String, started: ContinuousClock.Instant,
        usageRecorder: UsageRecorder? = nil, metrics: GatewayMetrics? = nil, recent: RecentRequests? = nil,
        dialect: Dialect? = nil
    ) {
        self.logger = logger
        self.method = method
        self.path = path
        self.started = started
        self.usageRecorder = usageRecorder
        self.metrics = metrics
        self.recent = recent
        self.dialect = dialect
    }

    /// A stream's first byte is on its way to the client.
    func firstByte() {
        let now = ContinuousClock.now
        details.withLock { if $0.firstByte == nil { $0.firstByte = now } }
    }

    /// Time an upstream took (an attempt's call, a stream's whole read) and flowgate only waited.
    func waitedOnUpstream(since start: ContinuousClock.Instant) {
        let waited = ContinuousClock.now - start
        details.withLock { $0.upstream += waited }
    }

    func route(model: String, provider: String) {
        details.withLock {
            $0.model = model
            $0.provider = provider
        }
    }

    /// The account of the attempt that answered (the last one leased).
    func account(_ name: String) {
        details.withLock { $0.account = name }
    }

    func clientKey(_ name: String) {
        details.withLock { $0.clientKey = name }
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
        let details = details.withLock { $0 }
        let now = ContinuousClock.now
        let elapsed = now - started
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        let wall = Date()
        let promptTokens = details.usage?["prompt_tokens"]?.intValue.map(Int.init)
        let completionTokens = details.usage?["completion_tokens"]?.intValue.map(Int.init)
        // Every chat request counts, answered by a provider or not (an unknown model: no provider).
        if let usageRecorder, details.provider != nil || dialect != nil {
            usageRecorder.add(
                UsageRecord(
                    time: wall, provider: details.provider ?? "", account: details.account ?? "",
                    model: details.model ?? "", status: status, clientKey: details.clientKey ?? "",
                    inputTokens: promptTokens ?? 0, outputTokens: completionTokens ?? 0, durationMs: Int(ms)))
        }
        if let recent, dialect != nil {
            recent.add(
                RecentRequests.Entry(
                    time: wall, clientKey: details.clientKey ?? "", model: details.model ?? "",
                    provider: details.provider ?? "", account: details.account ?? "", status: status,
                    promptTokens: promptTokens ?? 0, completionTokens: completionTokens ?? 0, milliseconds: ms))
        }
        if let metrics, let dialect {
            metrics.finished(
                GatewayMetrics.Finished(
                    dialect: dialect.label, provider: details.provider ?? "", model: details.model ?? "", status: status,
                    promptTokens: promptTokens, completionTokens: completionTokens, total: elapsed,
                    firstByte: (details.firstByte ?? now) - started, overhead: max(.zero, elapsed - details.upstream)))
        }
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = ["status": "\(status)", "ms": "\((ms * 10).rounded() / 10)"]
        if let model = details.model { metadata["model"] = .string(model) }
        if let provider = details.provider { metadata["provider"] = .string(provider) }
        if let account = details.account { metadata["account"] = .string(account) }
        if let key = details.clientKey { metadata["key"] = .string(key) }
        if let usage = details.usage {
            for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                if let value = usage[key]?.intValue { metadata[key] = "\(value)" }
            }
        }
        logger.info("\(method) \(path)", metadata: metadata)
    }
}
