import Foundation
import Logging
import OpenAIWire
import Providers
import Stores
import Synchronization

/// What one request's access line, usage record and metrics say; the routes add what they know.
final class AccessRecord: Sendable {
    @TaskLocal static var current: AccessRecord?

    private struct Details {
        var model: String?
        var upstreamModel: String?
        var provider: String?
        var account: String?
        /// The client key's name (never the key).
        var clientKey: String?
        var stream = false
        var usage: JSONObject?
        /// The usage is flowgate's estimate: the upstream counted nothing.
        var estimated = false
        var errorCode: String?
        var deferred = false
        /// When the first byte of a stream went out.
        var firstByte: ContinuousClock.Instant?
        /// Time spent waiting on upstreams (every attempt's).
        var upstream: Duration = .zero
    }

    private let logger: Logger
    private let method: String
    private let path: String
    private let requestID: String
    private let started: ContinuousClock.Instant
    private let usageRecorder: UsageRecorder?
    private let metrics: GatewayMetrics?
    /// A chat route's dialect; nil: no chat (not counted in usage or metrics).
    private let dialect: Dialect?
    private let details = Mutex(Details())

    init(
        logger: Logger, method: String, path: String, requestID: String, started: ContinuousClock.Instant,
        usageRecorder: UsageRecorder? = nil, metrics: GatewayMetrics? = nil, dialect: Dialect? = nil
    ) {
        self.logger = logger
        self.method = method
        self.path = path
        self.requestID = requestID
        self.started = started
        self.usageRecorder = usageRecorder
        self.metrics = metrics
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

    /// The provider that takes the request (again for each fallback).
    func route(model: String, upstreamModel: String, provider: any ChatProvider, stream: Bool) {
        let (name, estimated) = (provider.name, !provider.countsTokens)
        details.withLock {
            $0.model = model
            $0.upstreamModel = upstreamModel
            $0.provider = name
            $0.stream = stream
            $0.estimated = estimated
        }
    }

    /// A chat no provider takes (an unknown model).
    func asked(model: String, stream: Bool) {
        details.withLock {
            $0.model = model
            $0.stream = stream
        }
    }

    /// The account of the attempt that answered (the last one leased).
    func account(_ name: String) {
        details.withLock { $0.account = name }
    }

    func clientKey(_ name: String) {
        details.withLock { $0.clientKey = name }
    }

    /// The usage the client was told; `estimated`: the upstream counted nothing.
    func usage(_ usage: JSONObject?, estimated: Bool) {
        details.withLock {
            $0.usage = usage
            $0.estimated = $0.estimated || estimated
        }
    }

    /// The error the client was given (also in a stream that failed after it started).
    func error(code: String) {
        details.withLock { $0.errorCode = code }
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
        let tokens = Tokens(details.usage)
        if let dialect, usageRecorder != nil || metrics != nil {
            var record = RequestRecord(
                time: Date(), requestID: requestID, clientKey: details.clientKey ?? "", dialect: dialect.label,
                status: status)
            record.provider = details.provider ?? ""
            record.account = details.account ?? ""
            record.model = details.model ?? ""
            record.upstreamModel = details.upstreamModel ?? ""
            record.stream = details.stream
            record.errorCode = details.errorCode ?? ""
            record.promptTokens = tokens.prompt
            record.completionTokens = tokens.completion
            record.reasoningTokens = tokens.reasoning
            record.cachedTokens = tokens.cached
            record.estimated = details.usage != nil && details.estimated
            record.totalMicros = elapsed.microseconds
            record.firstByteMicros = ((details.firstByte ?? now) - started).microseconds
            record.overheadMicros = max(.zero, elapsed - details.upstream).microseconds
            usageRecorder?.add(record)
            metrics?.finished(record)
        }
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = ["status": "\(status)", "ms": "\((ms * 10).rounded() / 10)"]
        if let model = details.model { metadata["model"] = .string(model) }
        if let provider = details.provider { metadata["provider"] = .string(provider) }
        if let account = details.account { metadata["account"] = .string(account) }
        if let key = details.clientKey { metadata["key"] = .string(key) }
        if details.usage != nil {
            metadata["prompt_tokens"] = "\(tokens.prompt)"
            metadata["completion_tokens"] = "\(tokens.completion)"
            metadata["total_tokens"] = "\(tokens.prompt + tokens.completion)"
        }
        logger.info("\(method) \(path)", metadata: metadata)
    }

    /// The counts of an OpenAI-shaped usage object (docs/protocols/openai-chat.md, "Usage").
    private struct Tokens {
        var prompt = 0, completion = 0, reasoning = 0, cached = 0

        init(_ usage: JSONObject?) {
            guard let usage else { return }
            prompt = Int(usage["prompt_tokens"]?.intValue ?? 0)
            completion = Int(usage["completion_tokens"]?.intValue ?? 0)
            reasoning = Int(usage["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
            cached = Int(usage["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
        }
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
