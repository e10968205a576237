import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAIWire
import Stores
import Synchronization

/// Every answer carries `x-request-id`: the client's own when it sent a plain, short one,
/// else a new one; every log line about the request carries it (`hb.request.id`). At `info`, one access line per request (docs/configuration.md,
/// logging): method, path, status, milliseconds, and for chat the model, provider and
/// tokens. Never a key or a message text.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let ids = RequestIDs()
    /// Where each chat's usage goes (nil: nowhere; then the record is kept only for the access line).
    var usage: UsageRecorder? = nil
    /// Where each chat request is counted and timed (nil: nowhere).
    var metrics: GatewayMetrics? = nil
    /// The last chat requests, for the console.
    var recent: RecentRequests? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        // Ours, in the logs too: Hummingbird's own id costs 3k instructions to print.
        let id = Self.accepted(request.headers.first(where: { $0.name == FieldNames.requestID })?.value) ?? ids.next()
        context.logger[metadataKey: "hb.request.id"] = .string(id)
        var response: Response
        if usage != nil || metrics != nil || recent != nil || context.logger.logLevel <= .info {
            let path = request.uri.path
            let record = AccessRecord(
                logger: context.logger, method: request.method.rawValue, path: path, started: .now,
                usageRecorder: usage, metrics: metrics, recent: recent, dialect: AccessRecord.chatDialects[path])
            response = try await AccessRecord.$current.withValue(record) { try await next(request, context) }
            // A stream is logged by its writer when it ends, with its tokens.
            if !record.isDeferred { record.finish(status: Int(response.status.code)) }
        } else {
            response = try await next(request, context)
        }
        response.headers[FieldNames.requestID] = id
        if Dialect.of(path: request.uri.path) == .anthropicMessages { response.headers[ErrorHeaders.anthropicRequestID] = id }
        return response
    }

    /// A client's id is kept when it is short and plain (it goes into logs as it is).
    static func accepted(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count) else { return nil }
        let plain = value.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: ":")
        }
        return plain ? value : nil
    }
}

private enum FieldNames {
    static let requestID = HTTPField.Name("x-request-id")!
}

/// New ids: 8 random hex digits per process, then a counter in 16 (unique, and cheap).
final class RequestIDs: Sendable {
    private let prefix: [UInt8]
    private let counter = Atomic<UInt64>(0)
    private static let digits = Array("0123456789abcdef".utf8)

    init() {
        prefix = Array(String(UInt32.random(in: 0x1000_0000 ... .max), radix: 16).utf8)
    }

    func next() -> String {
        var value = counter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: prefix.count + 16) { buffer in
            for (offset, byte) in prefix.enumerated() { buffer[offset] = byte }
            for position in (prefix.count..<prefix.count + 16).reversed() {
                buffer[position] = Self.digits[Int(value & 0xF)]
                value >>= 4
            }
            return prefix.count + 16
        }
    }
}

/// What the access line says about one request; the chat route adds what it knows.
final class AccessRecord: Sendable {
    @TaskLocal static var current: AccessRecord?

    /// The chat routes' paths and their dialect's name (the metrics' `dialect` label).
    static let chatDialects: [String: String] = {
        var dialects: [String: String] = [:]
        for path in ChatCompletionsRoute.paths { dialects[path] = "openai" }
        for path in MessagesRoute.paths { dialects[path] = "anthropic" }
        return dialects
    }()

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
    /// A chat route's dialect (`openai`, `anthropic`); nil: not counted in the metrics.
    private let dialect: String?
    private let details = Mutex(Details())

    init(
        logger: Logger, method: String, path: String, started: ContinuousClock.Instant,
        usageRecorder: UsageRecorder? = nil, metrics: GatewayMetrics? = nil, recent: RecentRequests? = nil,
        dialect: String? = nil
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
        let promptTokens = details.usage?["prompt_tokens"]?.intValue.map(Int.init)
        let completionTokens = details.usage?["completion_tokens"]?.intValue.map(Int.init)
        // Every chat request counts, answered by a provider or not (an unknown model: no provider).
        if let usageRecorder, details.provider != nil || dialect != nil {
            usageRecorder.add(
                UsageRecord(
                    time: Date(), provider: details.provider ?? "", account: details.account ?? "",
                    model: details.model ?? "", status: status, clientKey: details.clientKey ?? "",
                    inputTokens: promptTokens ?? 0, outputTokens: completionTokens ?? 0, durationMs: Int(ms)))
        }
        if let recent, dialect != nil {
            recent.add(
                RecentRequests.Entry(
                    time: Date(), clientKey: details.clientKey ?? "", model: details.model ?? "",
                    provider: details.provider ?? "", account: details.account ?? "", status: status,
                    promptTokens: promptTokens ?? 0, completionTokens: completionTokens ?? 0, milliseconds: ms))
        }
        if let metrics, let dialect {
            metrics.finished(
                GatewayMetrics.Finished(
                    dialect: dialect, provider: details.provider ?? "", model: details.model ?? "", status: status,
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
