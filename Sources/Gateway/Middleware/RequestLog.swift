import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAIWire
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

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        // Ours, in the logs too: Hummingbird's own id costs 3k instructions to print.
        let id = Self.accepted(request.headers.first(where: { $0.name == FieldNames.requestID })?.value) ?? ids.next()
        context.logger[metadataKey: "hb.request.id"] = .string(id)
        var response: Response
        if usage != nil || metrics != nil || context.logger.logLevel <= .info {
            let path = request.uri.path
            let record = AccessRecord(
                logger: context.logger, method: request.method.rawValue, path: path, requestID: id, started: .now,
                usageRecorder: usage, metrics: metrics, dialect: Dialect.ofChatPath[path])
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
        guard let value, PlainName.isPlain(value, length: 1...128, also: "-_.:") else { return nil }
        return value
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
